// Package sandbox is `tmcp serve sandbox`.
package sandbox

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/config"
	tm "github.com/tmcp-dev/tmcp/pkg/sandbox"
)

// Options are `serve sandbox`'s inputs.
type Options struct {
	Config tm.Config
}

// NewCmd is `tmcp serve sandbox`; runF replaces the run function in tests
// of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a TaskManager-compatible OAuth provider for development and tests",
		Long: `Run a small but real TaskManager: session-cookie login, its OAuth endpoints
(/api/oauth/authorize, token, clients, jwks, introspect, userinfo) and a task
API (/api/tasks). A demo user is created at start.`,
		Example: `  tmcp serve sandbox
  tmcp serve sandbox --client-id tmcp --client-secret dev-secret --redirect-uri http://localhost:9000/oauth/callback`,
		Args: cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, func(_ *cobra.Command, v *viper.Viper, _ []string) (err error) {
			if opts.Config, err = serve.SandboxConfig(v); err != nil {
				return err
			}
			opts.Config.Logger, err = f.Logger(v)
			return err
		}, runF, run),
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "host", config.KeySandboxHost)
	cmdutil.Flag(fs, "port", config.KeySandboxPort)
	cmdutil.Flag(fs, "public-url", config.KeySandboxPublicURL)
	cmdutil.Flag(fs, "cookie-name", config.KeyTMCookie)
	cmdutil.Flag(fs, "demo-email", config.KeySandboxEmail)
	cmdutil.Flag(fs, "demo-password", config.KeySandboxPassword)
	cmdutil.Flag(fs, "client-id", config.KeySandboxClientID)
	cmdutil.Flag(fs, "client-secret", config.KeySandboxClientSecret)
	cmdutil.Flag(fs, "redirect-uri", config.KeySandboxRedirectURIs)
	cmdutil.Flag(fs, "tls-cert", config.KeySandboxTLSCert)
	cmdutil.Flag(fs, "tls-key", config.KeySandboxTLSKey)
	cmdutil.Flag(fs, "jwt-access-tokens", config.KeySandboxJWT)
	cmdutil.Flag(fs, "failed-login-limit", config.KeySandboxLoginLimit)
	cmdutil.Flag(fs, "discovery", config.KeySandboxDiscovery)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	srv, err := tm.New(ctx, o.Config)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}
