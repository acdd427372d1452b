// Package resource is `tmcp serve resource`.
package resource

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/cli/version"
	"github.com/tmcp-dev/tmcp/internal/config"
	mcpserver "github.com/tmcp-dev/tmcp/internal/resource"
)

// Options are `serve resource`'s inputs.
type Options struct {
	Config mcpserver.Config
	// Port is the listening port, for errors that name it.
	Port int
}

// NewCmd is `tmcp serve resource`; runF replaces the run function in tests
// of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := cmdutil.New(&cobra.Command{
		Use:   "resource [-- COMMAND [ARGS...]]",
		Args:  cmdutil.CommandAfterDash,
		Short: "Run the protected MCP server",
		Long: `Run an MCP server (Streamable HTTP at /mcp, or SSE with --transport sse) whose
tools need an MCP access token from tmcp's auth server. It publishes RFC 9728
metadata, answers 401/403 with the challenges MCP clients step up from, and
acts on TaskManager's tasks as the signed-in user.

With --proxy it is a gateway in front of your own MCP server instead: signed-in
requests pass on to it with the user's identity in X-Forwarded-User,
X-Forwarded-Email, X-Forwarded-Client-Id and X-Forwarded-Scopes; the MCP
client's token never does. After -- it runs your stdio MCP server, one process
per MCP session, with the user's identity in TMCP_USER, TMCP_EMAIL,
TMCP_CLIENT_ID and TMCP_SCOPES.`,
		Example: `  tmcp serve resource --auth-server http://localhost:9000
  tmcp serve resource --proxy http://127.0.0.1:3000/mcp --tool-scope 'delete_*=write'
  tmcp serve resource -- python3 notes_server.py`,
	}, opts, func(_ *cobra.Command, v *viper.Viper, args []string) (err error) {
		if opts.Config, err = serve.ResourceConfig(v); err != nil {
			return err
		}
		opts.Config.Command, opts.Port = args, v.GetInt(config.KeyResourcePort)
		opts.Config.Version = version.Version
		opts.Config.Logger, err = f.Logger(v)
		return err
	}, runF, run)
	fs := cmd.Flags()
	cmdutil.Flags(fs,
		config.KeyResourceHost, config.KeyResourcePort, config.KeyResourceOpsAddr, config.KeyResourcePublicURL, config.KeyResourceAuthURL,
		config.KeyTMBaseURL, config.KeyResourceTransport, config.KeyAuthResClientID, config.KeyAuthResSecret,
		config.KeyResourceCacheTTL, config.KeyResourceOrigins, config.KeyResourceHosts, config.KeyResourceTLSCert,
		config.KeyResourceTLSKey, config.KeyResourceIdleTTL, config.KeyResourceMaxSess, config.KeyResourceMaxUser,
		config.KeyResourceMaxClient, config.KeyResourceStdioEnv,
		config.KeyResourceProxy, config.KeyResourceProxyVia, config.KeyResourceProxyTTL, config.KeyResourceMaxMsg, config.KeyResourceToolScope, config.KeyResourcePromptSc, config.KeyResourceResSc, config.KeyResourceForwardTM, config.KeyResourceAssertion, config.KeyResourceHide,
		config.KeyResourceReqDPoP, config.KeyResourceDPoPNonce,
	)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	cmdutil.CollectGarbage(o.Config.Logger)
	flush, err := cmdutil.Tracing(ctx, version.Version, o.Config.Logger)
	if err != nil {
		return err
	}
	defer flush()
	srv, err := mcpserver.New(o.Config)
	if err != nil {
		return serve.PortInUse(serve.ResourceProblems(err), "--port", config.KeyResourcePort, o.Port, "--ops-addr", config.KeyResourceOpsAddr)
	}
	return srv.Run(ctx)
}
