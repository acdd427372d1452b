// Package sandbox is `tmcp serve sandbox`.
package sandbox

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/config"
	tm "github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Options are `serve sandbox`'s inputs.
type Options struct {
	IO     *ui.IO
	Config tm.Config
	// Port is the listening port, for errors that name it.
	Port int
}

// NewCmd is `tmcp serve sandbox`; runF replaces the run function in tests
// of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := cmdutil.New(&cobra.Command{
		Use:   "sandbox",
		Short: "Run a TaskManager-compatible OAuth provider for development and tests",
		Long: `Run a small but real TaskManager: session-cookie login, its OAuth endpoints
(/api/oauth/authorize, token, clients, jwks, introspect, userinfo) and a task
API (/api/tasks). A demo user is created at start.`,
		Example: `  tmcp serve sandbox
  tmcp serve sandbox --client-id tmcp --client-secret dev-secret --redirect-uri http://localhost:9000/oauth/callback`,
	}, opts, func(_ *cobra.Command, v *viper.Viper, _ []string) (err error) {
		if opts.Config, err = serve.SandboxConfig(v); err != nil {
			return err
		}
		opts.Port = v.GetInt(config.KeySandboxPort)
		opts.Config.Logger, err = f.Logger(v)
		return err
	}, runF, run)
	fs := cmd.Flags()
	cmdutil.Flags(fs,
		config.KeySandboxHost, config.KeySandboxPort, config.KeySandboxPublicURL, config.KeyTMCookie,
		config.KeySandboxEmail, config.KeySandboxPassword, config.KeySandboxClientID, config.KeySandboxClientSecret,
		config.KeySandboxRedirectURIs, config.KeySandboxTLSCert, config.KeySandboxTLSKey, config.KeySandboxJWT,
		config.KeySandboxLoginLimit, config.KeySandboxDiscovery,
	)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	srv, err := tm.New(ctx, o.Config)
	if err != nil {
		return serve.PortInUse(serve.SandboxProblems(err), "--port", config.KeySandboxPort, o.Port, "", "")
	}
	// The demo login, as tmcp dev shows it; a password of the operator's
	// own choosing is not repeated.
	password := "the password in TMCP_SANDBOX_DEMO_PASSWORD"
	if o.Config.DemoPassword == config.Lookup(config.KeySandboxPassword).Default {
		password = o.Config.DemoPassword
	}
	fmt.Fprintf(o.IO.ErrOut, "Sandbox TaskManager at %s: log in as %s with %s\n", srv.URL(), o.Config.DemoEmail, password)
	return srv.Run(ctx)
}
