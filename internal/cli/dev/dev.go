// Package dev holds `tmcp dev`: the sandbox TaskManager, the auth server
// and the resource server in one process on embedded defaults.
package dev

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"
	"golang.org/x/sync/errgroup"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/serve"
	"github.com/tmcp-dev/tmcp/internal/cli/version"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// devClientID is the auth server's client at the sandbox in dev mode.
const devClientID = "tmcp-dev"

// Options are `tmcp dev`'s inputs: the three servers' configs, wired to
// each other.
type Options struct {
	IO       *ui.IO
	Logger   *slog.Logger
	Sandbox  sandbox.Config
	Auth     *serve.Auth
	Resource resource.Config
	// StateDir holds the record doctor and flow test find the servers by.
	StateDir string
	// The ports, for errors that name them.
	SandboxPort, ResourcePort int
	// LetIn says which clients --clients let in, and how.
	LetIn []string
}

// NewCmd is `tmcp dev`; runF replaces the run function in tests of flag
// parsing.
func NewCmd(f *cmdutil.Factory, runF func(context.Context, *Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := cmdutil.New(&cobra.Command{
		Use:   "dev [-- COMMAND [ARGS...]]",
		Args:  cmdutil.CommandAfterDash,
		Short: "Run the sandbox, auth and resource servers together on embedded defaults",
		Long: `Run the whole stack locally: the sandbox TaskManager (:4321), the MCP auth
server (:9000) and the protected MCP server (:8001), with SQLite in the state
directory and the auth server's client registered at the sandbox. Ctrl-C
stops all three. Then run: tmcp flow test`,
		Example: `  tmcp dev
  tmcp dev --auth-port 9100 --resource-port 8101 --sandbox-port 4421
  tmcp dev --proxy http://127.0.0.1:3000/mcp --forward-taskmanager-token
  tmcp dev -- npx -y @modelcontextprotocol/server-everything stdio`,
	}, opts, func(cmd *cobra.Command, v *viper.Viper, args []string) (err error) {
		if opts.Logger, err = f.Logger(v); err != nil {
			return err
		}
		if err := opts.letIn(cmd, v); err != nil {
			return err
		}
		if cmdutil.Source(cmd, v, config.KeyAuthRegLimit) == "default" {
			// A developer re-running flow test registers a client each time.
			v.Set(config.KeyAuthRegLimit, 0)
		}
		if err := opts.fill(v); err != nil {
			return err
		}
		opts.Resource.Command = args
		return nil
	}, runF, run)
	declareFlags(cmd)
	return cmd
}

// letIn turns --clients into the settings those clients need: their
// redirect schemes, and every scope up front for clients that cannot
// step up after a 403 (unless the default scope was set).
func (o *Options) letIn(cmd *cobra.Command, v *viper.Viper) error {
	names, err := cmd.Flags().GetStringSlice("clients")
	if err != nil || len(names) == 0 {
		return err
	}
	schemes, fullScope, err := config.ClientNeeds(names)
	if err != nil {
		return cmdutil.UsageErrorf("--clients: %v", err)
	}
	if len(schemes) > 0 {
		have, err := config.List(v, config.KeyAuthRegSchemes)
		if err != nil {
			return err
		}
		v.Set(config.KeyAuthRegSchemes, append(have, schemes...))
	}
	if fullScope && cmdutil.Source(cmd, v, config.KeyTMScope) == "default" {
		all, err := config.List(v, config.KeyAuthScopes)
		if err != nil {
			return err
		}
		v.Set(config.KeyTMScope, strings.Join(all, " "))
	}
	o.LetIn = []string{strings.Join(names, ", ") + ":"}
	for _, s := range schemes {
		o.LetIn = append(o.LetIn, "scheme "+s+" allowed")
	}
	if fullScope {
		o.LetIn = append(o.LetIn, fmt.Sprintf("default scope %q", v.GetString(config.KeyTMScope)))
	}
	return nil
}

// fill points every server at the others on loopback and builds their
// configs from the same settings `serve` reads.
func (o *Options) fill(v *viper.Viper) error {
	for _, k := range []string{config.KeySandboxPort, config.KeyAuthPort, config.KeyResourcePort} {
		if p := v.GetInt(k); p <= 0 || p > 65535 {
			return fmt.Errorf("%s must be a port between 1 and 65535, not %d", k, p)
		}
	}
	o.StateDir = config.StateDir(v)
	o.SandboxPort, o.ResourcePort = v.GetInt(config.KeySandboxPort), v.GetInt(config.KeyResourcePort)
	secret, err := secrets.LoadOrCreateSecret(filepath.Join(o.StateDir, config.FileDevSecret))
	if err != nil {
		return err
	}
	authURL := serve.AuthIssuer(v)
	sandboxScheme := "http"
	if v.GetString(config.KeySandboxTLSCert) != "" {
		sandboxScheme = "https"
	}
	v.Set(config.KeyTMBaseURL, fmt.Sprintf("%s://localhost:%d", sandboxScheme, v.GetInt(config.KeySandboxPort)))
	v.Set(config.KeyTMClientID, devClientID)
	v.Set(config.KeyTMSecret, secret)
	v.Set(config.KeyResourceAuthURL, authURL)
	v.Set(config.KeySandboxClientID, devClientID)
	v.Set(config.KeySandboxClientSecret, secret)
	v.Set(config.KeySandboxRedirectURIs, []string{authURL + "/oauth/callback"})
	v.Set(config.KeyAuthDev, true)
	// One --require-dpop: an MCP server that takes only DPoP-bound tokens
	// beside an auth server that issues them only.
	v.Set(config.KeyAuthRequireDPoP, v.GetBool(config.KeyResourceReqDPoP))

	if o.Sandbox, err = serve.SandboxConfig(v); err != nil {
		return err
	}
	if o.Auth, err = serve.AuthConfig(v); err != nil {
		return err
	}
	// The sandbox registers tmcp's client itself, and serves only once
	// every server is up.
	o.Auth.Server.CheckUpstreamClient = false
	if o.Resource, err = serve.ResourceConfig(v); err != nil {
		return err
	}
	o.Sandbox.Logger = o.Logger.With("server", "sandbox")
	o.Resource.Logger, o.Resource.Version = o.Logger.With("server", "resource"), version.Version
	return nil
}

func run(ctx context.Context, o *Options) error {
	unlock, err := config.LockStateDir(o.StateDir)
	if err != nil {
		return err
	}
	defer unlock()
	cmdutil.CollectGarbage(o.Logger)
	flush, err := cmdutil.Tracing(ctx, version.Version, o.Logger)
	if err != nil {
		return err
	}
	defer flush()
	sb, err := sandbox.New(ctx, o.Sandbox)
	if err != nil {
		return serve.PortInUse(serve.SandboxProblems(err), "--sandbox-port", config.KeySandboxPort, o.SandboxPort, "", "")
	}
	auth, closeStore, err := serve.StartAuth(ctx, o.Auth, o.Logger.With("server", "auth"))
	if err != nil {
		return serve.PortInUse(err, "--auth-port", config.KeyAuthPort, o.Auth.Port, "--auth-ops-addr", config.KeyAuthOpsAddr)
	}
	defer closeStore()
	res, err := resource.New(o.Resource)
	if err != nil {
		return serve.PortInUse(serve.ResourceProblems(err), "--resource-port", config.KeyResourcePort, o.ResourcePort, "--resource-ops-addr", config.KeyResourceOpsAddr)
	}
	backend := o.Resource.Proxy
	if len(o.Resource.Command) > 0 {
		backend = strings.Join(o.Resource.Command, " ") + "  (stdio, a process per session)"
	}
	remove, err := config.WriteDevRecord(o.StateDir, config.DevRecord{Sandbox: sb.URL(), Auth: auth.URL(), Resource: res.URL(), PID: os.Getpid()})
	if err != nil {
		return err
	}
	defer remove()
	printPanel(o.IO, panel{sandbox: sb.URL(), auth: auth.URL(), mcp: res.URL(), backend: backend, authOps: auth.OpsURL(), mcpOps: res.OpsURL(),
		email: o.Sandbox.DemoEmail, password: o.Sandbox.DemoPassword, letIn: o.LetIn})
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sb.Run(ctx) })
	g.Go(func() error { return auth.Run(ctx) })
	g.Go(func() error { return res.Run(ctx) })
	return g.Wait()
}

// panel is what tmcp dev's banner shows.
type panel struct {
	sandbox, auth, mcp, backend string
	// authOps and mcpOps are the ops listeners (metrics, status), "" when
	// off.
	authOps, mcpOps string
	email, password string
	// letIn says what --clients let in.
	letIn []string
}

func printPanel(io *ui.IO, p panel) {
	st := io.Styles()
	row := func(k, v string) string { return st.Key.Render(fmt.Sprintf("%-18s", k)) + v }
	lines := []string{
		st.Title.Render("tmcp dev") + st.Muted.Render("  — everything on localhost, Ctrl-C stops it"),
		"",
		row("MCP server", p.mcp),
	}
	if p.backend != "" {
		lines = append(lines, row("Protects", p.backend))
	}
	lines = append(lines,
		row("Auth server", p.auth),
		row("TaskManager", p.sandbox+"  (sandbox)"),
		row("Demo login", p.email+" / "+p.password),
	)
	for _, ops := range []struct{ name, url string }{{"Auth metrics", p.authOps}, {"MCP metrics", p.mcpOps}} {
		if ops.url != "" {
			lines = append(lines, row(ops.name, ops.url+"/metrics  (status: /status)"))
		}
	}
	if len(p.letIn) > 0 {
		lines = append(lines, row("Clients", p.letIn[0]+" "+strings.Join(p.letIn[1:], ", ")))
	}
	lines = append(lines,
		"",
		row("Next", "tmcp flow test"),
		row("Or connect", "any MCP client to "+p.mcp),
	)
	fmt.Fprintln(io.Out, st.Box.Render(strings.Join(lines, "\n")))
}
