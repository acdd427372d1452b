// Package list is `tmcp mcp-clients list`: the MCP clients registered
// with tmcp's auth server (not tmcp's own client at TaskManager).
package list

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Options are `mcp-clients list`'s inputs.
type Options struct {
	serve.StoreOptions
	Output string
}

// NewCmd is `tmcp mcp-clients list`; runF replaces the run function in
// tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	cmd := serve.StoreCmd(f, &cobra.Command{
		Use:   "list",
		Short: "List the MCP clients registered with the auth server",
		Example: `  tmcp mcp-clients list
  tmcp mcp-clients list --store postgres://tmcp@db.internal/tmcp -o json`,
	}, opts, &opts.StoreOptions, nil, runF, run)
	ui.OutputFlag(cmd.Flags(), &opts.Output)
	return cmd
}

// row is one client in JSON output.
type row struct {
	ID           string    `json:"client_id"`
	Name         string    `json:"client_name"`
	RedirectURIs []string  `json:"redirect_uris"`
	AuthMethod   string    `json:"token_endpoint_auth_method"`
	CreatedAt    time.Time `json:"created_at"`
}

func run(ctx context.Context, o *Options) error {
	return o.Store.Use(ctx, func(st store.Store, _ string) error {
		cs, err := st.ListClients(ctx)
		if err != nil {
			return err
		}
		return show(o, cs)
	})
}

func show(o *Options, cs []*store.Client) error {
	if o.Output == ui.FormatJSON {
		out := []row{}
		for _, c := range cs {
			out = append(out, row{c.ID, c.Name, c.RedirectURIs, c.TokenEndpointAuthMethod, c.CreatedAt.UTC()})
		}
		return o.IO.PrintJSON(out)
	}
	if len(cs) == 0 {
		_, err := fmt.Fprintln(o.IO.Out, "No MCP clients are registered.")
		return err
	}
	rows := make([][]string, 0, len(cs))
	for _, c := range cs {
		rows = append(rows, []string{c.ID, c.Name, strings.Join(c.RedirectURIs, " "), c.TokenEndpointAuthMethod,
			c.CreatedAt.UTC().Format("2006-01-02 15:04")})
	}
	_, err := fmt.Fprintln(o.IO.Out, o.IO.Table([]string{"CLIENT ID", "NAME", "REDIRECT URIS", "AUTH", "REGISTERED"}, rows))
	return err
}
