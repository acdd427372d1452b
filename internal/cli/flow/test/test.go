// Package test is `tmcp flow test`.
package test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/flow"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Options are `flow test`'s inputs.
type Options struct {
	IO        *ui.IO
	Flow      flow.Options
	Output    string
	clientKey string // the --client-key file
}

// NewCmd is `tmcp flow test`; runF replaces the run function in tests of
// flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := cmdutil.New(&cobra.Command{
		Use:   "test",
		Short: "Run the complete OAuth flow in a browser and call the MCP server",
		Long: `Check a deployment end to end, from the MCP server's URL alone: the 401 and its
resource metadata, the authorization server's metadata, registration, the
browser sign-in (PKCE S256, state and iss checked), the token, the MCP tools,
then refresh and revocation. It is a complete MCP client: it signs in when
the server first answers 401 (at initialize or later), and on a 403
insufficient_scope signs in again for more scopes (step-up), at most twice
for one request.

Each step prints ✓, ⚠ (an optional property the servers lack; a failure
with --strict) or ✗ with its duration; a failure names the likely cause and
its fix. The exit status is 0 when the flow worked. The browser is opened
with $BROWSER when set.`,
		Example: `  tmcp flow test
  tmcp flow test --server https://mcp.example.com/mcp --no-browser
  tmcp flow test --dpop
  MCP_SERVER_PORT=8001 MCP_TRANSPORT_TYPE=sse tmcp flow test --output json`,
	}, opts, func(cmd *cobra.Command, v *viper.Viper, _ []string) error {
		o := &opts.Flow
		if level, err := config.LogLevel(v); err != nil {
			return err
		} else if level <= slog.LevelDebug {
			if o.Log, err = f.Logger(v); err != nil {
				return err
			}
		}
		if o.Server = v.GetString(config.KeyFlowServer); o.Server == "" {
			o.Server = fmt.Sprintf("http://localhost:%d/mcp", v.GetInt(config.KeyFlowServerPort))
			// With no server named, the one tmcp dev runs.
			if rec, err := config.ReadDevRecord(config.StateDir(v)); err == nil && cmdutil.Source(cmd, v, config.KeyFlowServerPort) == "default" {
				o.Server, o.Dev = rec.Resource, true
			}
		}
		switch t := v.GetString(config.KeyFlowTransport); t {
		case "sse":
			o.SSE = true
		case "streamable_http", "streamable-http", "http":
		default:
			return cmdutil.UsageErrorf("unknown transport %q: use streamable_http or sse", t)
		}
		o.CallbackPort = v.GetInt(config.KeyFlowCallbackPort)
		o.DPoP = v.GetBool(config.KeyFlowDPoP)
		switch o.Grant {
		case flow.GrantAuthorizationCode, flow.GrantClientCredentials, flow.GrantIDJAG:
		default:
			return cmdutil.UsageErrorf("--grant must be authorization_code, client_credentials or id-jag, not %q", o.Grant)
		}
		if opts.clientKey != "" {
			key, err := flow.LoadClientKey(opts.clientKey)
			if err != nil {
				return fmt.Errorf("--client-key: %w", err)
			}
			o.ClientKey = key
		}
		if o.Timeout <= 0 {
			return cmdutil.UsageErrorf("--timeout must be positive")
		}
		return nil
	}, runF, run)
	fs := cmd.Flags()
	cmdutil.Flags(fs, config.KeyFlowServer, config.KeyFlowServerPort, config.KeyFlowTransport, config.KeyFlowCallbackPort, config.KeyFlowDPoP)
	fs.StringVar(&opts.Flow.ClientID, "client-id", "", "use this registered client instead of registering one")
	fs.StringVar(&opts.Flow.ClientSecret, "client-secret", "", "the client's secret, if it is confidential")
	fs.StringVar(&opts.clientKey, "client-key", "", "PEM private key file the client authenticates with (private_key_jwt, RFC 7523)")
	fs.StringVar(&opts.Flow.Grant, "grant", flow.GrantAuthorizationCode, "how to sign in: authorization_code (a user, in the browser), client_credentials (the client itself) or id-jag (enterprise-managed: the identity provider vouches)")
	fs.StringVar(&opts.Flow.IdP.TokenEndpoint, "idp-token-endpoint", "", "the identity provider's token endpoint (--grant id-jag)")
	fs.StringVar(&opts.Flow.IdP.ClientID, "idp-client-id", "", "this client's id at the identity provider (--grant id-jag)")
	fs.StringVar(&opts.Flow.IdP.IDToken, "idp-id-token", "", "the user's ID token from the identity provider (--grant id-jag)")
	fs.StringVar(&opts.Flow.Scope, "scope", "", "scopes to ask for first (default: what the server's 401 names); a 403 steps up")
	fs.StringVar(&opts.Flow.ClientIDMetadataURL, "client-id-metadata-url", "", "this client's metadata document URL, used as its client id where the server takes them (CIMD)")
	fs.StringSliceVar(&opts.Flow.Calls, "call", nil, "a tool to call with no arguments as well (repeatable)")
	fs.BoolVar(&opts.Flow.Strict, "strict", false, "fail on warnings too (optional things the servers lack, like CORS)")
	fs.BoolVar(&opts.Flow.AllowUnprotected, "allow-unprotected", false, "pass an MCP server that asks for no token (by default that fails: it is open to anyone)")
	fs.BoolVar(&opts.Flow.NoBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	fs.BoolVar(&opts.Flow.SkipProbes, "skip-probes", false, "stop after the tool calls (no refresh, revocation or CORS probes)")
	fs.BoolVar(&opts.Flow.KeepClient, "keep-client", false, "keep the client flow test registers (by default it deletes it at the end, RFC 7592)")
	fs.DurationVar(&opts.Flow.Timeout, "timeout", 5*time.Minute, "how long to wait for the browser sign-in")
	ui.OutputFlag(fs, &opts.Output)
	_ = cmd.RegisterFlagCompletionFunc("grant", cobra.FixedCompletions([]string{flow.GrantAuthorizationCode, flow.GrantClientCredentials, flow.GrantIDJAG}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func run(ctx context.Context, o *Options) error {
	st := o.IO.Styles()
	o.Flow.Prompt = o.IO.ErrOut
	if o.Output == ui.FormatText {
		fmt.Fprintf(o.IO.Out, "%s %s\n\n", st.Title.Render("tmcp flow test"), o.Flow.Server)
		o.Flow.Notify = func(s *flow.Step) { flow.PrintStep(o.IO.Out, st, s) }
	}
	report := flow.Run(ctx, o.Flow)
	if o.Output == ui.FormatJSON {
		if err := o.IO.PrintJSON(report); err != nil {
			return err
		}
	} else {
		total := time.Duration(report.Millis) * time.Millisecond
		fmt.Fprintln(o.IO.Out)
		if failed := report.Failed(); failed != nil {
			fmt.Fprintf(o.IO.Out, "%s failed at %q after %s\n", st.Fail.Render("✗"), failed.Name, total)
		} else if n := report.Warnings(); n > 0 {
			fmt.Fprintf(o.IO.Out, "%s the whole flow works, with %d warning(s) (%s)\n", st.Warn.Render("⚠"), n, total)
		} else {
			fmt.Fprintf(o.IO.Out, "%s the whole flow works (%s)\n", st.OK.Render("✓"), total)
		}
	}
	if !report.OK {
		return cmdutil.ErrSilent
	}
	return nil
}
