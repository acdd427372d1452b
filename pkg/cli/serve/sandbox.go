package serve

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/sandbox"
)

var sandboxFlags = map[string]string{
	"host":               config.KeySandboxHost,
	"port":               config.KeySandboxPort,
	"public-url":         config.KeySandboxPublicURL,
	"cookie-name":        config.KeyTMCookie,
	"demo-email":         config.KeySandboxEmail,
	"demo-password":      config.KeySandboxPassword,
	"client-id":          config.KeySandboxClientID,
	"client-secret":      config.KeySandboxClientSecret,
	"redirect-uri":       config.KeySandboxRedirectURIs,
	"tls-cert":           config.KeySandboxTLSCert,
	"tls-key":            config.KeySandboxTLSKey,
	"jwt-access-tokens":  config.KeySandboxJWT,
	"failed-login-limit": config.KeySandboxLoginLimit,
	"discovery":          config.KeySandboxDiscovery,
}

func newSandboxCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run a TaskManager-compatible OAuth provider for development and tests",
		Long: `Run a small but real TaskManager: session-cookie login, its OAuth endpoints
(/api/oauth/authorize, token, clients, jwks, introspect, userinfo) and a task
API (/api/tasks). A demo user is created at start.`,
		Example: `  tmcp serve sandbox
  tmcp serve sandbox --client-id tmcp --client-secret dev-secret --redirect-uri http://localhost:9000/oauth/callback`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, sandboxFlags)
			if err != nil {
				return err
			}
			log, err := f.Logger(v)
			if err != nil {
				return err
			}
			cfg, err := config.LoadSandbox(v)
			if err != nil {
				return err
			}
			cfg.Logger = log
			srv, err := sandbox.New(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "host", config.KeySandboxHost)
	cmdutil.IntFlag(fs, "port", config.KeySandboxPort)
	cmdutil.Flag(fs, "public-url", config.KeySandboxPublicURL)
	cmdutil.Flag(fs, "cookie-name", config.KeyTMCookie)
	cmdutil.Flag(fs, "demo-email", config.KeySandboxEmail)
	cmdutil.Flag(fs, "demo-password", config.KeySandboxPassword)
	cmdutil.Flag(fs, "client-id", config.KeySandboxClientID)
	cmdutil.Flag(fs, "client-secret", config.KeySandboxClientSecret)
	fs.StringSlice("redirect-uri", nil, config.Help(config.KeySandboxRedirectURIs)+" (repeatable; default the auth server's callback)")
	cmdutil.Flag(fs, "tls-cert", config.KeySandboxTLSCert)
	cmdutil.Flag(fs, "tls-key", config.KeySandboxTLSKey)
	fs.Bool("jwt-access-tokens", false, config.Help(config.KeySandboxJWT))
	cmdutil.IntFlag(fs, "failed-login-limit", config.KeySandboxLoginLimit)
	fs.Bool("discovery", false, config.Help(config.KeySandboxDiscovery))
	return cmd
}
