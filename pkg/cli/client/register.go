package client

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/ui"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

// RegisterOptions are `client register`'s inputs.
type RegisterOptions struct {
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

var sessionFlags = map[string]string{
	"taskmanager-url": config.KeyTMBaseURL,
	"cookie-name":     config.KeyTMCookie,
}

// NewCmdRegister is `tmcp client register`; runF replaces the run
// function in tests of flag parsing.
func NewCmdRegister(f *cmdutil.Factory, runF func(context.Context, *RegisterOptions) error) *cobra.Command {
	opts := &RegisterOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "register",
		Short: "Register tmcp's OAuth client at TaskManager",
		Long: `Register tmcp's upstream OAuth client at TaskManager. The client id and secret
are printed once; --save writes them into the config file that serve auth reads.`,
		Example: `  tmcp client register --session-cookie "$COOKIE" --client-name "MCP Server" --save`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, sessionFlags)
			if err != nil {
				return err
			}
			if err := opts.fill(cmd, v); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRegister(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "taskmanager-url", config.KeyTMBaseURL)
	fs.String("session-cookie", "", "your TaskManager session cookie (value, or name=value)")
	cmdutil.Flag(fs, "cookie-name", config.KeyTMCookie)
	fs.StringVar(&opts.Name, "client-name", "MCP Server", "name of the client at TaskManager")
	fs.StringSliceVar(&opts.RedirectURIs, "redirect-uri", nil, "redirect URI (repeatable; default the auth server's /oauth/callback)")
	fs.StringSliceVar(&opts.Scopes, "scope", []string{"read", "write"}, "scopes the client may request")
	fs.BoolVar(&opts.Save, "save", false, "write the client id and secret into the config file")
	fs.StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	_ = cmd.MarkFlagRequired("session-cookie")
	return cmd
}

func (o *RegisterOptions) fill(cmd *cobra.Command, v *viper.Viper) error {
	if err := ui.CheckFormat(o.Output); err != nil {
		return err
	}
	o.Upstream = config.LoadUpstream(v)
	cookie, _ := cmd.Flags().GetString("session-cookie")
	o.Session = upstream.ParseSession(v.GetString(config.KeyTMCookie), cookie)
	if len(o.RedirectURIs) == 0 {
		o.RedirectURIs = []string{config.AuthIssuer(v) + "/oauth/callback"}
	}
	o.ConfigFile, _ = cmd.Flags().GetString("config")
	if o.ConfigFile == "" {
		o.ConfigFile = config.DefaultConfigFile()
	}
	return nil
}

func runRegister(ctx context.Context, o *RegisterOptions) error {
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
		fmt.Fprintf(o.IO.Out, "Saved to %s. Start the auth server with: tmcp serve auth\n", o.ConfigFile)
	} else {
		fmt.Fprintln(o.IO.Out, st.Muted.Render("The secret is shown only this once. Start the auth server with:"))
		fmt.Fprintf(o.IO.Out, "  TASKMANAGER_CLIENT_ID=%s TASKMANAGER_CLIENT_SECRET=<the secret above> tmcp serve auth\n", c.ClientID)
	}
	return nil
}
