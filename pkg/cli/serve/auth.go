package serve

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/authserver"
	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/httpx"
	"github.com/tmcp-dev/tmcp/pkg/store/backend"
)

var authFlags = map[string]string{
	"host":                      config.KeyAuthHost,
	"port":                      config.KeyAuthPort,
	"issuer":                    config.KeyAuthIssuer,
	"taskmanager-url":           config.KeyTMBaseURL,
	"client-id":                 config.KeyTMClientID,
	"client-secret":             config.KeyTMSecret,
	"scope":                     config.KeyTMScope,
	"upstream-auth":             config.KeyTMAuthMethod,
	"resource":                  config.KeyAuthResource,
	"store":                     config.KeyAuthStore,
	"access-ttl":                config.KeyAuthAccessTTL,
	"refresh-ttl":               config.KeyAuthRefreshTTL,
	"tls-cert":                  config.KeyAuthTLSCert,
	"tls-key":                   config.KeyAuthTLSKey,
	"cors-origin":               config.KeyAuthCORSOrigins,
	"jwt-issuer":                config.KeyJWTIssuer,
	"taskmanager-client-lookup": config.KeyAuthClientLookup,
	"rate-limit":                config.KeyAuthRateLimit,
	"registration-limit":        config.KeyAuthRegLimit,
	"client-rate-limit":         config.KeyAuthClientLimit,
	"failed-auth-limit":         config.KeyAuthFailedLimit,
	"upstream-issuer":           config.KeyTMIssuer,
	"dev":                       config.KeyAuthDev,
	"registration-scheme":       config.KeyAuthRegSchemes,
	"token-format":              config.KeyAuthTokenFormat,
	"audit-log":                 config.KeyAuthAuditLog,
}

func newAuthCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Run the OAuth 2.1 authorization server for MCP clients",
		Long: `Run the OAuth 2.1 authorization server that MCP clients discover, register
with and sign in through. Users log in at TaskManager; MCP clients receive
tmcp's own tokens, bound to the user and to the MCP server.`,
		Example: `  tmcp serve auth --taskmanager-url http://localhost:4321 --client-id ID --client-secret SECRET`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, authFlags)
			if err != nil {
				return err
			}
			log, err := f.Logger(v)
			if err != nil {
				return err
			}
			settings, err := config.LoadAuth(v)
			if err != nil {
				return err
			}
			return RunAuth(cmd.Context(), settings, log)
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "host", config.KeyAuthHost)
	cmdutil.IntFlag(fs, "port", config.KeyAuthPort)
	cmdutil.Flag(fs, "issuer", config.KeyAuthIssuer)
	cmdutil.Flag(fs, "taskmanager-url", config.KeyTMBaseURL)
	cmdutil.Flag(fs, "client-id", config.KeyTMClientID)
	cmdutil.Flag(fs, "client-secret", config.KeyTMSecret)
	cmdutil.Flag(fs, "scope", config.KeyTMScope)
	cmdutil.Flag(fs, "upstream-auth", config.KeyTMAuthMethod)
	cmdutil.Flag(fs, "resource", config.KeyAuthResource)
	cmdutil.Flag(fs, "store", config.KeyAuthStore)
	cmdutil.Flag(fs, "access-ttl", config.KeyAuthAccessTTL)
	cmdutil.Flag(fs, "refresh-ttl", config.KeyAuthRefreshTTL)
	cmdutil.Flag(fs, "tls-cert", config.KeyAuthTLSCert)
	cmdutil.Flag(fs, "tls-key", config.KeyAuthTLSKey)
	fs.StringSlice("cors-origin", []string{"*"}, config.Help(config.KeyAuthCORSOrigins))
	cmdutil.Flag(fs, "jwt-issuer", config.KeyJWTIssuer)
	fs.Bool("taskmanager-client-lookup", false, config.Help(config.KeyAuthClientLookup))
	cmdutil.IntFlag(fs, "rate-limit", config.KeyAuthRateLimit)
	cmdutil.IntFlag(fs, "registration-limit", config.KeyAuthRegLimit)
	cmdutil.IntFlag(fs, "client-rate-limit", config.KeyAuthClientLimit)
	cmdutil.IntFlag(fs, "failed-auth-limit", config.KeyAuthFailedLimit)
	cmdutil.Flag(fs, "upstream-issuer", config.KeyTMIssuer)
	fs.Bool("dev", false, config.Help(config.KeyAuthDev))
	cmdutil.Flag(fs, "token-format", config.KeyAuthTokenFormat)
	cmdutil.Flag(fs, "audit-log", config.KeyAuthAuditLog)
	fs.StringSlice("registration-scheme", []string{"*"}, config.Help(config.KeyAuthRegSchemes))
	return cmd
}

// RunAuth opens the store and runs the auth server until ctx ends.
func RunAuth(ctx context.Context, settings *config.Auth, log *slog.Logger) error {
	srv, closeStore, err := NewAuth(ctx, settings, log)
	if err != nil {
		return err
	}
	defer closeStore()
	return srv.Run(ctx)
}

// NewAuth opens the store and builds the auth server; the caller runs it
// and then closes the store.
func NewAuth(ctx context.Context, settings *config.Auth, log *slog.Logger) (*authserver.Server, func(), error) {
	st, err := backend.Open(ctx, settings.StorePath)
	if err != nil {
		return nil, nil, fmt.Errorf("open the store (%s): %w", backend.Describe(settings.StorePath), err)
	}
	cfg := settings.Server
	cfg.Store, cfg.Logger = st, log
	closeAll := func() { st.Close() }
	if settings.AuditLog != "" {
		f, err := os.OpenFile(settings.AuditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			st.Close()
			return nil, nil, fmt.Errorf("audit log: %w", err)
		}
		cfg.Audit = slog.New(httpx.ContextHandler{Handler: slog.NewJSONHandler(f, nil)})
		closeAll = func() { st.Close(); f.Close() }
	}
	srv, err := authserver.New(cfg)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return srv, closeAll, nil
}
