// Package auth is `tmcp serve auth`.
package auth

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/cli/version"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/upstream"
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
	cmd := cmdutil.New(&cobra.Command{
		Use:   "auth",
		Short: "Run the OAuth 2.1 authorization server for MCP clients",
		Long: `Run the OAuth 2.1 authorization server that MCP clients discover, register
with and sign in through. Users log in at TaskManager; MCP clients receive
tmcp's own tokens, bound to the user and to the MCP server.`,
		Example: `  tmcp serve auth --taskmanager-url http://localhost:4321 --client-id ID --client-secret SECRET`,
	}, opts, func(_ *cobra.Command, v *viper.Viper, _ []string) (err error) {
		if opts.Logger, err = f.Logger(v); err != nil {
			return err
		}
		if opts.Settings, err = serve.AuthConfig(v); err != nil {
			return err
		}
		// "-" keeps the cookie out of the process list and shell history;
		// what comes in is read like the flag: value or name=value.
		if s := &opts.Settings.AdminSession; s.Value == "-" {
			line, err := cmdutil.ReadLine(f.IO.In)
			if *s = upstream.ParseSession(s.CookieName, line); err != nil || s.Value == "" {
				return fmt.Errorf("--admin-session-cookie -: no cookie on standard input")
			}
		}
		return nil
	}, runF, run)
	fs := cmd.Flags()
	cmdutil.Flags(fs,
		config.KeyAuthHost, config.KeyAuthPort, config.KeyAuthOpsAddr, config.KeyAuthIssuer, config.KeyTMBaseURL,
		config.KeyTMClientID, config.KeyTMSecret, config.KeyTMScope, config.KeyTMAuthMethod,
		config.KeyTMIssuer, config.KeyJWTIssuer, config.KeyAuthClientLookup, config.KeyAuthResource,
		config.KeyAuthStore, config.KeyAuthStoreTimeout, config.KeyAuthAccessTTL, config.KeyAuthRefreshTTL, config.KeyAuthClientIdleTTL, config.KeyAuthTokenFormat,
		config.KeyAuthTLSCert, config.KeyAuthTLSKey, config.KeyAuthCORSOrigins, config.KeyAuthRateLimit,
		config.KeyAuthRegLimit, config.KeyAuthRegAllLimit, config.KeyAuthClientLimit, config.KeyAuthFailedLimit, config.KeyAuthTrustedProxy, config.KeyAuthRegSchemes,
		config.KeyAuthDev, config.KeyAuthAuditLog, config.KeyAuthAssertionAud,
		config.KeyTMAdminCookie, config.KeyTMCookie, config.KeyTMPreset, config.KeyTMTenant, config.KeyTMAudience, config.KeyTMScopeMap, config.KeyTMUserClaim, config.KeyTMGroupClaim, config.KeyTMVerifiesEml,
		config.KeyTMAuthorize, config.KeyTMToken, config.KeyTMUserinfo,
		config.KeyAuthAllowUsers, config.KeyAuthAllowDomains, config.KeyAuthAllowGroups,
		config.KeyAuthRequireDPoP, config.KeyAuthDPoPNonce,
	)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	cmdutil.CollectGarbage(o.Logger)
	flush, err := cmdutil.Tracing(ctx, version.Version, o.Logger)
	if err != nil {
		return err
	}
	defer flush()
	srv, closeStore, err := serve.StartAuth(ctx, o.Settings, o.Logger)
	if err != nil {
		return serve.PortInUse(err, "--port", config.KeyAuthPort, o.Settings.Port, "--ops-addr", config.KeyAuthOpsAddr)
	}
	defer closeStore()
	return srv.Run(ctx)
}
