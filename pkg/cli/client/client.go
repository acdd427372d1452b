// Package client holds `tmcp client register` and `tmcp client list`: tmcp's
// OAuth clients at TaskManager, managed with an operator's session cookie.
package client

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
)

// NewCmd is `tmcp client`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "client",
		Short: "Register and list tmcp's OAuth clients at TaskManager",
		Long: `Register and list OAuth clients at TaskManager's /api/oauth/clients, signed in
with your browser's TaskManager session cookie (copy it from the browser's
developer tools after logging in).`,
	}
	cmd.AddCommand(NewCmdRegister(f, nil), NewCmdList(f, nil))
	return cmd
}
