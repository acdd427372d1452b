// Package list is `tmcp client list`.
package list

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/client"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Options are `client list`'s inputs.
type Options struct {
	IO       *ui.IO
	Upstream upstream.Config
	Session  upstream.Session
	Output   string
}

// NewCmd is `tmcp client list`; runF replaces the run function in tests
// of flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := cmdutil.New(&cobra.Command{
		Use:     "list",
		Short:   "List the OAuth clients registered at TaskManager",
		Example: `  tmcp client list --session-cookie "$COOKIE" --output json`,
	}, opts, func(cmd *cobra.Command, v *viper.Viper, _ []string) (err error) {
		opts.Upstream, opts.Session, err = client.Session(f.IO, v)
		return err
	}, runF, run)
	client.SessionFlags(cmd.Flags())
	ui.OutputFlag(cmd.Flags(), &opts.Output)
	return cmd
}

func run(ctx context.Context, o *Options) error {
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
