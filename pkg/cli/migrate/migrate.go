// Package migrate is `tmcp migrate`: apply the schema migrations without
// starting a server (serve auth applies them at start too).
package migrate

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// Options are `migrate`'s inputs.
type Options struct {
	IO    *ui.IO
	Store serve.StoreOpener
}

// NewCmd is `tmcp migrate`; runF replaces the run function in tests of
// flag parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the storage schema migrations",
		Example: `  tmcp migrate --store postgres://tmcp@db.internal/tmcp
  TMCP_STORE=/var/lib/tmcp/tmcp.db tmcp migrate`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd)
			if err != nil {
				return err
			}
			opts.Store = serve.Opener(v)
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmdutil.Flag(cmd.Flags(), "store", config.KeyAuthStore)
	return cmd
}

func run(ctx context.Context, o *Options) error {
	st, where, err := o.Store(ctx) // opening the store migrates it
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = fmt.Fprintf(o.IO.Out, "✓ %s is at the current schema\n", where)
	return err
}
