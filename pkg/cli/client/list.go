package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/ui"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

// ListOptions are `client list`'s inputs.
type ListOptions struct {
	IO       *ui.IO
	Upstream upstream.Config
	Session  upstream.Session
	Output   string
}

// NewCmdList is `tmcp client list`.
func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the OAuth clients registered at TaskManager",
		Example: `  tmcp client list --session-cookie "$COOKIE" --output json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, sessionFlags)
			if err != nil {
				return err
			}
			if err := ui.CheckFormat(opts.Output); err != nil {
				return err
			}
			opts.Upstream = config.LoadUpstream(v)
			cookie, _ := cmd.Flags().GetString("session-cookie")
			opts.Session = upstream.ParseSession(v.GetString(config.KeyTMCookie), cookie)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runList(cmd.Context(), opts)
		},
	}
	fs := cmd.Flags()
	cmdutil.Flag(fs, "taskmanager-url", config.KeyTMBaseURL)
	fs.String("session-cookie", "", "your TaskManager session cookie (value, or name=value)")
	cmdutil.Flag(fs, "cookie-name", config.KeyTMCookie)
	fs.StringVarP(&opts.Output, "output", "o", "text", "output format: text or json")
	_ = cmd.MarkFlagRequired("session-cookie")
	return cmd
}

func runList(ctx context.Context, o *ListOptions) error {
	tm, err := upstream.New(o.Upstream)
	if err != nil {
		return err
	}
	clients, err := tm.ListClients(ctx, o.Session)
	if err != nil {
		return fmt.Errorf("list clients at TaskManager: %w", err)
	}
	if o.Output == ui.FormatJSON {
		if clients == nil {
			clients = []upstream.RegisteredClient{}
		}
		return o.IO.PrintJSON(clients)
	}
	if len(clients) == 0 {
		fmt.Fprintln(o.IO.Out, "No clients are registered at TaskManager. Create one with: tmcp client register")
		return nil
	}
	rows := make([][]string, 0, len(clients))
	for _, c := range clients {
		rows = append(rows, []string{c.ClientID, c.Name, strings.Join(c.RedirectURIs, " "), strings.Join(c.Scopes, " "),
			c.CreatedAt.UTC().Format("2006-01-02 15:04")})
	}
	fmt.Fprintln(o.IO.Out, o.IO.Table([]string{"CLIENT ID", "NAME", "REDIRECT URIS", "SCOPES", "CREATED"}, rows))
	return nil
}
