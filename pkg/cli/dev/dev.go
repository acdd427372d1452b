// Package dev holds `tmcp dev`: the sandbox TaskManager, the auth server
// and the resource server in one process on embedded defaults.
package dev

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/sync/errgroup"

	"github.com/tmcp-dev/tmcp/pkg/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/pkg/cli/serve"
	"github.com/tmcp-dev/tmcp/pkg/cli/version"
	"github.com/tmcp-dev/tmcp/pkg/config"
	"github.com/tmcp-dev/tmcp/pkg/resource"
	"github.com/tmcp-dev/tmcp/pkg/sandbox"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
)

// devClientID is the auth server's client at the sandbox in dev mode.
const devClientID = "tmcp-dev"

var devFlags = map[string]string{
	"sandbox-port":  config.KeySandboxPort,
	"auth-port":     config.KeyAuthPort,
	"resource-port": config.KeyResourcePort,
}

// NewCmd is `tmcp dev`.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the sandbox, auth and resource servers together on embedded defaults",
		Long: `Run the whole stack locally: the sandbox TaskManager (:4321), the MCP auth
server (:9000) and the protected MCP server (:8001), with SQLite in the state
directory and the auth server's client registered at the sandbox. Ctrl-C
stops all three. Then run: tmcp flow test`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := cmdutil.Settings(cmd, devFlags)
			if err != nil {
				return err
			}
			log, err := f.Logger(v)
			if err != nil {
				return err
			}
			return run(cmd.Context(), f, v, log)
		},
	}
	fs := cmd.Flags()
	cmdutil.IntFlag(fs, "sandbox-port", config.KeySandboxPort)
	cmdutil.IntFlag(fs, "auth-port", config.KeyAuthPort)
	cmdutil.IntFlag(fs, "resource-port", config.KeyResourcePort)
	return cmd
}

func run(ctx context.Context, f *cmdutil.Factory, v *viper.Viper, log *slog.Logger) error {
	for _, k := range []string{config.KeySandboxPort, config.KeyAuthPort, config.KeyResourcePort} {
		if p := v.GetInt(k); p <= 0 || p > 65535 {
			return fmt.Errorf("%s must be a port between 1 and 65535, not %d", k, p)
		}
	}
	stateDir := config.StateDir(v)
	secret, err := secrets.LoadOrCreateSecret(filepath.Join(stateDir, "dev-client-secret"))
	if err != nil {
		return err
	}
	sandboxURL := fmt.Sprintf("http://localhost:%d", v.GetInt(config.KeySandboxPort))
	authURL := config.AuthIssuer(v)
	// Everything points at everything else on loopback.
	v.Set(config.KeyTMBaseURL, sandboxURL)
	v.Set(config.KeyTMClientID, devClientID)
	v.Set(config.KeyTMSecret, secret)
	v.Set(config.KeyResourceAuthURL, authURL)
	v.Set(config.KeySandboxClientID, devClientID)
	v.Set(config.KeySandboxClientSecret, secret)
	v.Set(config.KeySandboxRedirectURIs, []string{authURL + "/oauth/callback"})
	v.Set(config.KeyAuthDev, true)
	// A developer re-running flow test registers a client each time.
	v.Set(config.KeyAuthRegLimit, 0)

	sbCfg, err := config.LoadSandbox(v)
	if err != nil {
		return err
	}
	authSettings, err := config.LoadAuth(v)
	if err != nil {
		return err
	}
	resCfg, err := config.LoadResource(v)
	if err != nil {
		return err
	}
	sbCfg.Logger = log.With("server", "sandbox")
	sb, err := sandbox.New(ctx, sbCfg)
	if err != nil {
		return err
	}
	auth, closeStore, err := serve.NewAuth(ctx, authSettings, log.With("server", "auth"))
	if err != nil {
		return err
	}
	defer closeStore()
	resCfg.Logger, resCfg.Version = log.With("server", "resource"), version.Version
	res, err := resource.New(resCfg)
	if err != nil {
		return err
	}

	printPanel(f, sb.URL(), auth.URL(), res.URL(), sbCfg.DemoEmail, sbCfg.DemoPassword)
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sb.Run(ctx) })
	g.Go(func() error { return auth.Run(ctx) })
	g.Go(func() error { return res.Run(ctx) })
	return g.Wait()
}

func printPanel(f *cmdutil.Factory, sandboxURL, authURL, mcpURL, email, password string) {
	st := f.IO.Styles()
	row := func(k, v string) string { return st.Key.Render(fmt.Sprintf("%-18s", k)) + v }
	lines := []string{
		st.Title.Render("tmcp dev") + st.Muted.Render("  — everything on localhost, Ctrl-C stops it"),
		"",
		row("MCP server", mcpURL),
		row("Auth server", authURL),
		row("TaskManager", sandboxURL+"  (sandbox)"),
		row("Demo login", email+" / "+password),
		"",
		row("Next", "tmcp flow test"),
		row("Or connect", "any MCP client to "+mcpURL),
	}
	fmt.Fprintln(f.IO.Out, st.Box.Render(strings.Join(lines, "\n")))
}
