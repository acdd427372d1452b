// Package version is `tmcp version`. A release build sets the variables at
// link time; a build from a clone (go install ./cmd/tmcp) takes the commit
// and its time from the build's version control information.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Set at link time: -X github.com/tmcp-dev/tmcp/internal/cli/version.Version=…
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

func init() { fromBuildInfo(debug.ReadBuildInfo()) }

// fromBuildInfo fills what the linker did not set: the module version of
// go install …@v1.2.3, and the commit, its time and whether the tree had
// changes, which go build records when it runs in a git checkout.
func fromBuildInfo(info *debug.BuildInfo, ok bool) {
	if !ok {
		return
	}
	if v := info.Main.Version; Version == "dev" && v != "" && v != "(devel)" {
		Version = v
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; Commit == "none" && rev != "" {
		Commit = rev
		if len(Commit) > 12 {
			Commit = Commit[:12]
		}
		if settings["vcs.modified"] == "true" {
			Commit += "+changes"
		}
	}
	if t := settings["vcs.time"]; Date == "unknown" && t != "" {
		Date = t
	}
}

// Info is the version as `tmcp version -o json` prints it.
type Info struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Date    string `json:"date"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Current is this binary's version.
func Current() Info {
	return Info{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
}

// String is the one-line version.
func String() string {
	i := Current()
	return fmt.Sprintf("tmcp %s (commit %s, built %s, %s %s/%s)", i.Version, i.Commit, i.Date, i.Go, i.OS, i.Arch)
}

// NewCmd is `tmcp version`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of tmcp",
		Example: `  tmcp version
  tmcp version --output json`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output == ui.FormatJSON {
				return f.IO.PrintJSON(Current())
			}
			_, err := fmt.Fprintln(f.IO.Out, String())
			return err
		},
	}
	ui.OutputFlag(cmd.Flags(), &output)
	return cmd
}
