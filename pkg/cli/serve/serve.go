// Package serve holds the `tmcp serve` commands: auth, resource, sandbox.
package serve

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
)

// NewCmd is `tmcp serve`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run one of tmcp's servers",
		Long:  "Run the MCP authorization server (auth), the protected MCP server (resource), or the TaskManager sandbox (sandbox).",
	}
	cmd.AddCommand(newAuthCmd(f), newResourceCmd(f), newSandboxCmd(f))
	return cmd
}
