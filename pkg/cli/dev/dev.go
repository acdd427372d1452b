// Package dev holds `tmcp dev`.
package dev

import (
	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
)

// NewCmd is `tmcp dev`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Run the sandbox, auth and resource servers together on embedded defaults",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return cmdutil.NotYet("tmcp dev") },
	}
}
