// Package client holds `tmcp client register` and `tmcp client list`.
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
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "register",
		Short: "Register tmcp's OAuth client at TaskManager with a browser session cookie",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmdutil.NotYet("tmcp client register") },
	}, &cobra.Command{
		Use:   "list",
		Short: "List the OAuth clients registered at TaskManager",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmdutil.NotYet("tmcp client list") },
	})
	return cmd
}
