package serve

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
)

func newResourceCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "resource",
		Short: "Run the protected MCP server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmdutil.NotYet("tmcp serve resource")
		},
	}
}
