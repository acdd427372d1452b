// Package register is `tmcp client register`.
package register

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/client"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Options are `client register`'s inputs.
type Options struct {
	IO           *ui.IO
	Upstream     upstream.Config
	Session      upstream.Session
	Name         string
	RedirectURIs []string
	Scopes       []string
	Save         bool
	ConfigFile   string
	Output       string
}

// NewCmd is `tmcp client register`; runF replaces the run function in
// tests of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := cmdutil.New(&cobra.Command{
		Use:   "register",
		Short: "Register tmcp's OAuth client at TaskManager",
		Long: `Register tmcp's upstream OAuth client at TaskManager. The client id and secret
are printed once; --save writes them into the config file that serve auth reads.`,
		Example: `  tmcp client register --session-cookie "$COOKIE" --client-name "MCP Server" --save`,
	}, opts, func(cmd *cobra.Command, v *viper.Viper, _ []string) (err error) {
		if opts.Upstream, opts.Session, err = client.Session(f.IO, v); err != nil {
			return err
		}
		if len(opts.RedirectURIs) == 0 {
			opts.RedirectURIs = []string{serve.AuthIssuer(v) + "/oauth/callback"}
		}
		if opts.ConfigFile, _ = cmd.Flags().GetString("config"); opts.ConfigFile == "" {
			opts.ConfigFile = config.DefaultConfigFile()
		}
		return nil
	}, runF, run)
	fs := cmd.Flags()
	client.SessionFlags(fs)
	fs.StringVar(&opts.Name, "client-name", "MCP Server", "name of the client at TaskManager")
	fs.StringSliceVar(&opts.RedirectURIs, "redirect-uri", nil, "redirect URI (repeatable; default the auth server's /oauth/callback)")
	fs.StringSliceVar(&opts.Scopes, "scope", []string{"read", "write"}, "scopes the client may request")
	fs.BoolVar(&opts.Save, "save", false, "write the client id and secret into the config file")
	ui.OutputFlag(fs, &opts.Output)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	tm, err := upstream.New(o.Upstream)
	if err != nil {
		return err
	}
	c, err := tm.RegisterClient(ctx, o.Session, upstream.NewClient{Name: o.Name, RedirectURIs: o.RedirectURIs, Scopes: o.Scopes})
	if err != nil {
		return fmt.Errorf("register at TaskManager: %w", err)
	}
	if o.Save {
		if err := config.SaveUpstreamClient(o.ConfigFile, o.Upstream.BaseURL, c.ClientID, c.ClientSecret); err != nil {
			return fmt.Errorf("the client was registered (id %s) but saving it failed: %w; copy the secret below", c.ClientID, err)
		}
	}
	if o.Output == ui.FormatJSON {
		return o.IO.PrintJSON(c)
	}
	st := o.IO.Styles()
	fmt.Fprintf(o.IO.Out, "%s %s\n\n", st.OK.Render("✓"), st.Title.Render("Registered "+c.Name+" at TaskManager"))
	fmt.Fprintf(o.IO.Out, "  %s  %s\n", st.Key.Render("client id    "), c.ClientID)
	fmt.Fprintf(o.IO.Out, "  %s  %s\n", st.Key.Render("client secret"), c.ClientSecret)
	for _, u := range c.RedirectURIs {
		fmt.Fprintf(o.IO.Out, "  %s  %s\n", st.Key.Render("redirect URI "), u)
	}
	fmt.Fprintln(o.IO.Out)
	if o.Save {
		fmt.Fprintf(o.IO.Out, "Saved to %s. Start the auth server with: tmcp serve auth (restart it if it is running)\n", o.ConfigFile)
	} else {
		fmt.Fprintln(o.IO.Out, st.Muted.Render("The secret is shown only this once. Start the auth server with:"))
		fmt.Fprintf(o.IO.Out, "  TASKMANAGER_CLIENT_ID=%s TASKMANAGER_CLIENT_SECRET=<the secret above> tmcp serve auth\n", c.ClientID)
	}
	return nil
}
