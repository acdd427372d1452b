// Package cli is tmcp's command tree.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/pkg/cli/client"
	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/dev"
	"github.com/tmcp-dev/tmcp/pkg/cli/doctor"
	"github.com/tmcp-dev/tmcp/pkg/cli/flow"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/cli/version"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/ui"
)

// NewRootCmd builds the whole command tree.
func NewRootCmd(f *cmdutil.Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "tmcp",
		Short: "Put an existing OAuth provider (TaskManager) in front of MCP servers",
		Long: `tmcp lets MCP clients reach protected MCP tools with the user's own
TaskManager identity, without changing TaskManager.

  tmcp dev              run everything locally on embedded defaults
  tmcp serve auth       the OAuth 2.1 authorization server for MCP clients
  tmcp serve resource   the protected MCP server
  tmcp serve sandbox    a TaskManager-compatible provider for development
  tmcp flow test        check the whole flow end to end
  tmcp doctor           check a deployment without a browser`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version.Version,
	}
	root.SetVersionTemplate(version.String() + "\n")
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	pf := root.PersistentFlags()
	pf.String("config", "", "config file (default $XDG_CONFIG_HOME/tmcp/config.yaml)")
	cmdutil.Flag(pf, "log-level", config.KeyLogLevel)
	pf.String("state-dir", "", config.Help(config.KeyStateDir))
	root.AddCommand(serve.NewCmd(f), client.NewCmd(f), flow.NewCmd(f), dev.NewCmd(f), doctor.NewCmd(f, nil), newMigrateCmd(f), newKeysCmd(f), newTokensCmd(f), newClientsCmd(f), version.NewCmd(f))
	return root
}

// Execute runs tmcp with the process's arguments and returns the exit code.
func Execute() int {
	f := &cmdutil.Factory{IO: ui.System()}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, f, os.Args[1:])
}

// Run executes args and maps the outcome to an exit code: 0 on success, 2
// for usage errors and commands still to come, 1 for everything else.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *cmdutil.ExitError
	switch {
	case errors.As(err, &exit):
		if exit.Err != nil && !errors.Is(exit.Err, cmdutil.ErrSilent) {
			fmt.Fprintln(f.IO.ErrOut, "tmcp: "+exit.Err.Error())
		}
		return exit.Code
	case errors.Is(err, cmdutil.ErrSilent):
		return 1
	case isUsageError(err):
		fmt.Fprintln(f.IO.ErrOut, "tmcp: "+err.Error()+" (see tmcp --help)")
		return 2
	}
	fmt.Fprintln(f.IO.ErrOut, "tmcp: "+err.Error())
	return 1
}

// isUsageError recognises cobra's and pflag's argument errors.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "invalid argument",
		"flag needs an argument", "accepts ", "requires at least", "bad flag syntax", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
