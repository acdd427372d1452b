// Package flow holds `tmcp flow test`.
package flow

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
)

// NewCmd is `tmcp flow`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flow",
		Short: "Check the whole OAuth + MCP flow end to end",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "test",
		Short: "Run the complete OAuth flow in a browser and call the MCP server",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmdutil.NotYet("tmcp flow test") },
	})
	return cmd
}
