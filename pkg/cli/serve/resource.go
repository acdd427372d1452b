package serve

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/version"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/resource"
)

var resourceFlags = map[string]string{
	"host":                        config.KeyResourceHost,
	"port":                        config.KeyResourcePort,
	"public-url":                  config.KeyResourcePublicURL,
	"auth-server":                 config.KeyResourceAuthURL,
	"taskmanager-url":             config.KeyTMBaseURL,
	"transport":                   config.KeyResourceTransport,
	"introspection-client-id":     config.KeyAuthResClientID,
	"introspection-client-secret": config.KeyAuthResSecret,
	"cache-ttl":                   config.KeyResourceCacheTTL,
	"allowed-origin":              config.KeyResourceOrigins,
	"allowed-host":                config.KeyResourceHosts,
	"tls-cert":                    config.KeyResourceTLSCert,
	"tls-key":                     config.KeyResourceTLSKey,
}

func newResourceCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "resource",
		Short: "Run the protected MCP server",
		Long: `Run an MCP server (Streamable HTTP at /mcp, or SSE with --transport sse) whose
tools need an MCP access token from tmcp's auth server. It publishes RFC 9728
metadata, answers 401/403 with the challenges MCP clients step up from, and
acts on TaskManager's tasks as the signed-in user.`,
		Example: `  tmcp serve resource --auth-server http://localhost:9000`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, resourceFlags)
			if err != nil {
				return err
			}
			log, err := f.Logger(v)
			if err != nil {
				return err
			}
			cfg, err := config.LoadResource(v)
			if err != nil {
				return err
			}
			cfg.Logger, cfg.Version = log, version.Version
			srv, err := resource.New(cfg)
			if err != nil {
				return err
			}
			return srv.Run(cmd.Context())
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "host", config.KeyResourceHost)
	cmdutil.IntFlag(fs, "port", config.KeyResourcePort)
	cmdutil.Flag(fs, "public-url", config.KeyResourcePublicURL)
	cmdutil.Flag(fs, "auth-server", config.KeyResourceAuthURL)
	cmdutil.Flag(fs, "taskmanager-url", config.KeyTMBaseURL)
	cmdutil.Flag(fs, "transport", config.KeyResourceTransport)
	cmdutil.Flag(fs, "introspection-client-id", config.KeyAuthResClientID)
	cmdutil.Flag(fs, "introspection-client-secret", config.KeyAuthResSecret)
	cmdutil.Flag(fs, "cache-ttl", config.KeyResourceCacheTTL)
	fs.StringSlice("allowed-origin", []string{"*"}, config.Help(config.KeyResourceOrigins))
	fs.StringSlice("allowed-host", nil, config.Help(config.KeyResourceHosts))
	cmdutil.Flag(fs, "tls-cert", config.KeyResourceTLSCert)
	cmdutil.Flag(fs, "tls-key", config.KeyResourceTLSKey)
	return cmd
}
