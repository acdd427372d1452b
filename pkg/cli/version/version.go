// Package version is `tmcp version`. The release build sets the variables.
package version

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
)

// Set at link time: -X github.com/tmcp-dev/tmcp/pkg/cli/version.Version=…
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// String is the one-line version.
func String() string {
	return fmt.Sprintf("tmcp %s (commit %s, built %s, %s %s/%s)", Version, Commit, Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// NewCmd is `tmcp version`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version of tmcp",
		Example: `  tmcp version`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintln(f.IO.Out, String())
			return err
		},
	}
}
