// Package auth is `tmcp serve auth`.
package auth

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/config"
)

// Options are `serve auth`'s inputs.
type Options struct {
	Settings *serve.Auth
	Logger   *slog.Logger
}

// NewCmd is `tmcp serve auth`; runF replaces the run function in tests of
// flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Run the OAuth 2.1 authorization server for MCP clients",
		Long: `Run the OAuth 2.1 authorization server that MCP clients discover, register
with and sign in through. Users log in at TaskManager; MCP clients receive
tmcp's own tokens, bound to the user and to the MCP server.`,
		Example: `  tmcp serve auth --taskmanager-url http://localhost:4321 --client-id ID --client-secret SECRET`,
		Args:    cmdutil.NoArgs,
		RunE: cmdutil.RunE(opts, func(_ *cobra.Command, v *viper.Viper, _ []string) (err error) {
			if opts.Logger, err = f.Logger(v); err != nil {
				return err
			}
			opts.Settings, err = serve.AuthConfig(v)
			return err
		}, runF, run),
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "host", config.KeyAuthHost)
	cmdutil.Flag(fs, "port", config.KeyAuthPort)
	cmdutil.Flag(fs, "issuer", config.KeyAuthIssuer)
	cmdutil.Flag(fs, "taskmanager-url", config.KeyTMBaseURL)
	cmdutil.Flag(fs, "client-id", config.KeyTMClientID)
	cmdutil.Flag(fs, "client-secret", config.KeyTMSecret)
	cmdutil.Flag(fs, "scope", config.KeyTMScope)
	cmdutil.Flag(fs, "upstream-auth", config.KeyTMAuthMethod)
	cmdutil.Flag(fs, "upstream-issuer", config.KeyTMIssuer)
	cmdutil.Flag(fs, "jwt-issuer", config.KeyJWTIssuer)
	cmdutil.Flag(fs, "taskmanager-client-lookup", config.KeyAuthClientLookup)
	cmdutil.Flag(fs, "resource", config.KeyAuthResource)
	cmdutil.Flag(fs, "store", config.KeyAuthStore)
	cmdutil.Flag(fs, "access-ttl", config.KeyAuthAccessTTL)
	cmdutil.Flag(fs, "refresh-ttl", config.KeyAuthRefreshTTL)
	cmdutil.Flag(fs, "token-format", config.KeyAuthTokenFormat)
	cmdutil.Flag(fs, "tls-cert", config.KeyAuthTLSCert)
	cmdutil.Flag(fs, "tls-key", config.KeyAuthTLSKey)
	cmdutil.Flag(fs, "cors-origin", config.KeyAuthCORSOrigins)
	cmdutil.Flag(fs, "rate-limit", config.KeyAuthRateLimit)
	cmdutil.Flag(fs, "registration-limit", config.KeyAuthRegLimit)
	cmdutil.Flag(fs, "client-rate-limit", config.KeyAuthClientLimit)
	cmdutil.Flag(fs, "failed-auth-limit", config.KeyAuthFailedLimit)
	cmdutil.Flag(fs, "registration-scheme", config.KeyAuthRegSchemes)
	cmdutil.Flag(fs, "dev", config.KeyAuthDev)
	cmdutil.Flag(fs, "audit-log", config.KeyAuthAuditLog)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	srv, closeStore, err := serve.StartAuth(ctx, o.Settings, o.Logger)
	if err != nil {
		return err
	}
	defer closeStore()
	return srv.Run(ctx)
}
