package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/store/backend"
)

// newMigrateCmd is `tmcp migrate`: apply the schema migrations without
// starting a server (serve auth applies them at start too).
func newMigrateCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "migrate",
		Short:   "Apply the storage schema migrations",
		Example: `  tmcp migrate --store postgres://tmcp@db.internal/tmcp`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, map[string]string{"store": config.KeyAuthStore})
			if err != nil {
				return err
			}
			loc := config.StorePath(v)
			st, err := backend.Open(cmd.Context(), loc)
			if err != nil {
				return fmt.Errorf("migrate %s: %w", backend.Describe(loc), err)
			}
			defer st.Close()
			_, err = fmt.Fprintf(f.IO.Out, "✓ %s is at the current schema\n", backend.Describe(loc))
			return err
		},
	}
	cmdutil.Flag(cmd.Flags(), "store", config.KeyAuthStore)
	return cmd
}
