// Package doctor holds `tmcp doctor`.
package doctor

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/client"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/doctor"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Options are `doctor`'s inputs.
type Options struct {
	IO     *ui.IO
	Doctor doctor.Options
	Output string
}

// NewCmd is `tmcp doctor`.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := cmdutil.New(&cobra.Command{
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
	}, opts, func(cmd *cobra.Command, v *viper.Viper, _ []string) (err error) {
		d := &opts.Doctor
		d.Upstream = serve.Upstream(v)
		d.AuthServer = serve.AuthIssuer(v)
		d.MCPServer = serve.DefaultResource(v)
		d.Sources = map[string]string{
			doctor.SettingTaskManager: cmdutil.Source(cmd, v, config.KeyTMBaseURL),
			doctor.SettingClientID:    cmdutil.Source(cmd, v, config.KeyTMClientID),
			doctor.SettingAuthServer:  cmdutil.Source(cmd, v, config.KeyAuthIssuer),
			doctor.SettingMCPServer:   cmdutil.Source(cmd, v, config.KeyResourcePublicURL),
			// Secrets given to doctor are tested themselves.
			doctor.SettingClientSecret:        cmdutil.Source(cmd, v, config.KeyTMSecret),
			doctor.SettingIntrospectionSecret: cmdutil.Source(cmd, v, config.KeyAuthResSecret),
		}
		// With no server named, the servers tmcp dev runs.
		if rec, err := config.ReadDevRecord(config.StateDir(v)); err == nil {
			if d.Sources[doctor.SettingAuthServer] == "default" {
				d.AuthServer, d.Sources[doctor.SettingAuthServer] = rec.Auth, "tmcp dev"
			}
			if d.Sources[doctor.SettingMCPServer] == "default" {
				d.MCPServer, d.Sources[doctor.SettingMCPServer] = rec.Resource, "tmcp dev"
			}
		}
		d.ResourceClientID = v.GetString(config.KeyAuthResClientID)
		if d.ResourceSecret, err = serve.ResourceSecret(v); err != nil {
			return err
		}
		if cookie := v.GetString(config.KeySessionCookie); cookie != "" {
			if cookie, err = client.SessionCookie(f.IO, cookie, v.GetString(config.KeyTMCookie)); err != nil {
				return err
			}
			if d.Session, err = upstream.SessionFrom(v.GetString(config.KeyTMCookie), cookie); err != nil {
				return &cmdutil.FlagError{Err: fmt.Errorf("--session-cookie: %w", err)}
			}
		}
		return nil
	}, runF, run)
	fs := cmd.Flags()
	cmdutil.Flags(fs, config.KeyTMBaseURL, config.KeyTMClientID, config.KeyTMSecret)
	cmdutil.Flags(fs, config.KeyTMIssuer)
	cmdutil.FlagAs(fs, "auth-server", config.KeyAuthIssuer)
	cmdutil.FlagAs(fs, "mcp-server", config.KeyResourcePublicURL)
	cmdutil.Flags(fs, config.KeySessionCookie, config.KeyTMCookie, config.KeyAuthResClientID, config.KeyAuthResSecret)
	fs.StringVar(&opts.Doctor.Origin, "origin", "http://localhost:6274", "origin the CORS preflight comes from (MCP Inspector's by default)")
	ui.OutputFlag(fs, &opts.Output)
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
		fmt.Fprintf(o.IO.Out, "%s TaskManager %s · auth %s · MCP %s\n", st.Title.Render("tmcp doctor"),
			r.Setting(doctor.SettingTaskManager), r.Setting(doctor.SettingAuthServer), r.Setting(doctor.SettingMCPServer))
		var from []string
		for _, s := range r.Settings {
			from = append(from, s.Name+" from "+s.Source)
		}
		fmt.Fprintln(o.IO.Out, st.Muted.Render("settings: "+strings.Join(from, " · ")))
		fmt.Fprintln(o.IO.Out)
		doctor.Print(o.IO.Out, st, r)
	}
	if !r.OK {
		return cmdutil.ErrSilent
	}
	return nil
}
