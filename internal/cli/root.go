// Package cli is tmcp's command tree. Every command lives in
// internal/cli/<noun>/<verb> (Options, NewCmd(f, runF), run); this file joins
// them and maps errors to exit codes.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/internal/cli/client/list"
	"github.com/tmcp-dev/tmcp/internal/cli/client/register"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/dev"
	"github.com/tmcp-dev/tmcp/internal/cli/doctor"
	flowtest "github.com/tmcp-dev/tmcp/internal/cli/flow/test"
	"github.com/tmcp-dev/tmcp/internal/cli/keys/rotate"
	mcpdelete "github.com/tmcp-dev/tmcp/internal/cli/mcpclients/delete"
	mcplist "github.com/tmcp-dev/tmcp/internal/cli/mcpclients/list"
	"github.com/tmcp-dev/tmcp/internal/cli/migrate"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/auth"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/resource"
	"github.com/tmcp-dev/tmcp/internal/cli/serve/sandbox"
	"github.com/tmcp-dev/tmcp/internal/cli/tokens/revoke"
	"github.com/tmcp-dev/tmcp/internal/cli/version"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/ui"
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
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &cmdutil.FlagError{Err: cmdutil.SuggestFlag(cmd, err)}
	})
	pf := root.PersistentFlags()
	pf.String("config", "", "config file (default $XDG_CONFIG_HOME/tmcp/config.yaml)")
	cmdutil.Flags(pf, config.KeyLogLevel, config.KeyLogFormat, config.KeyStateDir)

	mcpClients := func() []*cobra.Command {
		return []*cobra.Command{mcplist.NewCmd(f, nil), mcpdelete.NewCmd(f, nil)}
	}
	// `clients` was the old name of `mcp-clients`; it goes in the next release.
	oldClients := cmdutil.Group("clients", "List and delete MCP clients registered with the auth server", mcpClients()...)
	oldClients.Hidden = true
	oldClients.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		fmt.Fprintln(cmd.ErrOrStderr(), `tmcp: "tmcp clients" is now "tmcp mcp-clients" (the MCP clients registered with tmcp; "tmcp client" is tmcp's own client at TaskManager); the old name goes in the next release`)
	}
	cmdutil.GroupOf(root,
		cmdutil.Group("serve", "Run one of tmcp's servers",
			auth.NewCmd(f, nil), resource.NewCmd(f, nil), sandbox.NewCmd(f, nil)),
		cmdutil.Group("client", "Register and list tmcp's own OAuth client at TaskManager",
			register.NewCmd(f, nil), list.NewCmd(f, nil)),
		cmdutil.Group("mcp-clients", "List and delete MCP clients registered with the auth server", mcpClients()...),
		oldClients,
		cmdutil.Group("flow", "Check the whole OAuth + MCP flow end to end", flowtest.NewCmd(f, nil)),
		cmdutil.Group("tokens", "Revoke MCP tokens the auth server issued", revoke.NewCmd(f, nil)),
		cmdutil.Group("keys", "Manage the keys JWT access tokens are signed with", rotate.NewCmd(f, nil)),
		dev.NewCmd(f, nil), doctor.NewCmd(f, nil), migrate.NewCmd(f, nil), version.NewCmd(f),
	)
	cmdutil.CompleteChoices(root)
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
// for usage errors, 1 for everything else.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	root := NewRootCmd(f)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var exit *cmdutil.ExitError
	var usage *cmdutil.FlagError
	switch {
	case errors.As(err, &exit):
		if exit.Err != nil && !errors.Is(exit.Err, cmdutil.ErrSilent) {
			fmt.Fprintln(f.IO.ErrOut, "tmcp: "+exit.Err.Error())
		}
		return exit.Code
	case errors.Is(err, cmdutil.ErrSilent):
		return 1
	case errors.As(err, &usage):
		fmt.Fprintln(f.IO.ErrOut, "tmcp: "+err.Error()+" (see tmcp --help)")
		return 2
	}
	fmt.Fprintln(f.IO.ErrOut, "tmcp: "+err.Error())
	return 1
}
