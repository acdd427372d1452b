// Package doctor holds `tmcp doctor`.
package doctor

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/doctor"
	"github.com/tmcp-dev/tmcp/pkg/ui"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

// Options are `doctor`'s inputs.
type Options struct {
	IO     *ui.IO
	Doctor doctor.Options
	Output string
}

var flags = map[string]string{
	"taskmanager-url": config.KeyTMBaseURL,
	"client-id":       config.KeyTMClientID,
	"client-secret":   config.KeyTMSecret,
	"auth-server":     config.KeyAuthIssuer,
	"mcp-server":      config.KeyResourcePublicURL,
	"cookie-name":     config.KeyTMCookie,
}

// NewCmd is `tmcp doctor`.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a deployment without a browser and explain what is wrong",
		Long: `Check TaskManager's endpoints, tmcp's client id, secret and redirect URI there,
the auth server's and the MCP server's metadata, the MCP server's
introspection credentials, clock skew and CORS. Each check prints what it
saw and, when it fails, the fix. The exit status is 0 only when every check
passes. Settings come from the same flags, environment and config file as
the servers.`,
		Example: `  tmcp doctor
  tmcp doctor --session-cookie "$COOKIE" --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, flags)
			if err != nil {
				return err
			}
			if err := ui.CheckFormat(opts.Output); err != nil {
				return err
			}
			d := &opts.Doctor
			d.Upstream = config.LoadUpstream(v)
			d.AuthServer = config.AuthIssuer(v)
			d.MCPServer = config.DefaultResource(v)
			d.ResourceClientID = v.GetString(config.KeyAuthResClientID)
			if d.ResourceSecret, err = config.ResourceSecret(v, config.StateDir(v)); err != nil {
				return err
			}
			if cookie, _ := cmd.Flags().GetString("session-cookie"); cookie != "" {
				d.Session = upstream.ParseSession(v.GetString(config.KeyTMCookie), cookie)
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "taskmanager-url", config.KeyTMBaseURL)
	cmdutil.Flag(fs, "client-id", config.KeyTMClientID)
	cmdutil.Flag(fs, "client-secret", config.KeyTMSecret)
	fs.String("auth-server", "", "the auth server's public URL (default http://localhost:9000)")
	fs.String("mcp-server", "", "the MCP server's public URL (default http://localhost:8001/mcp)")
	fs.String("session-cookie", "", "your TaskManager session cookie, to read tmcp's client registration exactly")
	cmdutil.Flag(fs, "cookie-name", config.KeyTMCookie)
	fs.StringVar(&opts.Doctor.Origin, "origin", "http://localhost:6274", "origin the CORS preflight comes from (MCP Inspector's by default)")
	fs.StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	return cmd
}

func run(ctx context.Context, o *Options) error {
	r := doctor.Run(ctx, o.Doctor)
	if o.Output == ui.FormatJSON {
		if err := o.IO.PrintJSON(r); err != nil {
			return err
		}
	} else {
		st := o.IO.Styles()
		fmt.Fprintf(o.IO.Out, "%s TaskManager %s · auth %s · MCP %s\n\n", st.Title.Render("tmcp doctor"),
			o.Doctor.Upstream.BaseURL, o.Doctor.AuthServer, o.Doctor.MCPServer)
		doctor.Print(o.IO.Out, st, r)
	}
	if !r.OK {
		return cmdutil.ErrSilent
	}
	return nil
}
