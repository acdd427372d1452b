// Package delete is `tmcp mcp-clients delete`.
package delete

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// Options are `mcp-clients delete`'s inputs.
type Options struct {
	serve.StoreOptions
	ClientID string
}

// NewCmd is `tmcp mcp-clients delete`; runF replaces the run function in
// tests.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{}
	return serve.StoreCmd(f, &cobra.Command{
		Use:               "delete CLIENT_ID",
		Short:             "Delete an MCP client and revoke everything it holds",
		Example:           `  tmcp mcp-clients delete tmcp_ci_k7mLkFNXl_LnbI2LGj_XpA`,
		Args:              cmdutil.ExactArgs(1),
		ValidArgsFunction: completeClientIDs,
	}, opts, &opts.StoreOptions, func(_ *cobra.Command, _ *viper.Viper, args []string) error {
		opts.ClientID = args[0]
		return nil
	}, runF, run)
}

func run(ctx context.Context, o *Options) error {
	return o.Store.Use(ctx, func(st store.Store, _ string) error {
		err := st.DeleteClient(ctx, o.ClientID, time.Now())
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no MCP client %s is registered", o.ClientID)
		}
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.IO.Out, "✓ deleted client %s and revoked its tokens\n", o.ClientID)
		return err
	})
}

// completeClientIDs offers the registered clients' ids, with their names.
func completeClientIDs(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	v, err := cmdutil.Settings(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 5*time.Second)
	defer cancel()
	st, _, err := serve.OpenStore(ctx, v)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	defer st.Close()
	clients, err := st.ListClients(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	out := make([]string, 0, len(clients))
	for _, c := range clients {
		out = append(out, c.ID+"\t"+c.Name)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
