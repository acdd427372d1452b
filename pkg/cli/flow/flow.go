// Package flow holds `tmcp flow test`.
package flow

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/flow"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// NewCmd is `tmcp flow`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Check the whole OAuth + MCP flow end to end",
	}
	cmd.AddCommand(NewCmdTest(f, nil))
	return cmd
}

// TestOptions are `flow test`'s inputs.
type TestOptions struct {
	IO     *ui.IO
	Flow   flow.Options
	Output string
}

var testFlags = map[string]string{
	"transport":     config.KeyFlowTransport,
	"server":        config.KeyFlowServer,
	"callback-port": config.KeyFlowCallbackPort,
}

// NewCmdTest is `tmcp flow test`.
func NewCmdTest(f *cmdutil.Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the complete OAuth flow in a browser and call the MCP server",
		Long: `Check a deployment end to end, from the MCP server's URL alone: the 401 and its
resource metadata, the authorization server's metadata, registration, the
browser sign-in (PKCE S256, state and iss checked), the token, the MCP tools,
then refresh, step-up (403 insufficient_scope) and revocation.

Each step prints ✓ or ✗ with its duration; a failure names the likely cause
and its fix. The browser is opened with $BROWSER when set.`,
		Example: `  tmcp flow test
  tmcp flow test --server https://mcp.example.com/mcp --no-browser
  MCP_SERVER_PORT=8001 MCP_TRANSPORT_TYPE=sse tmcp flow test --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, testFlags)
			if err != nil {
				return err
			}
			if err := ui.CheckFormat(opts.Output); err != nil {
				return err
			}
			o := &opts.Flow
			o.Server = v.GetString(config.KeyFlowServer)
			if o.Server == "" {
				o.Server = fmt.Sprintf("http://localhost:%d/mcp", v.GetInt(config.KeyFlowServerPort))
			}
			switch t := v.GetString(config.KeyFlowTransport); t {
			case "sse":
				o.SSE = true
			case "streamable_http", "streamable-http", "http":
			default:
				return fmt.Errorf("unknown transport %q: use streamable_http or sse", t)
			}
			o.CallbackPort = v.GetInt(config.KeyFlowCallbackPort)
			if o.Timeout <= 0 {
				return fmt.Errorf("--timeout must be positive")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTest(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "server", config.KeyFlowServer)
	cmdutil.Flag(fs, "transport", config.KeyFlowTransport)
	cmdutil.IntFlag(fs, "callback-port", config.KeyFlowCallbackPort)
	fs.StringVar(&opts.Flow.ClientID, "client-id", "", "use this registered client instead of registering one")
	fs.StringVar(&opts.Flow.ClientSecret, "client-secret", "", "the client's secret, if it is confidential")
	fs.StringVar(&opts.Flow.Scope, "scope", "", "scopes to ask for (default: what the server's 401 names)")
	fs.BoolVar(&opts.Flow.NoBrowser, "no-browser", false, "print the sign-in URL instead of opening a browser")
	fs.BoolVar(&opts.Flow.SkipProbes, "skip-probes", false, "stop after the tool calls (no refresh, step-up, revocation or CORS probes)")
	fs.DurationVar(&opts.Flow.Timeout, "timeout", 5*time.Minute, "how long to wait for the browser sign-in")
	fs.StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	return cmd
}

func runTest(ctx context.Context, o *TestOptions) error {
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
		} else {
			fmt.Fprintf(o.IO.Out, "%s the whole flow works (%s)\n", st.OK.Render("✓"), total)
		}
	}
	if !report.OK {
		return cmdutil.ErrSilent
	}
	return nil
}
