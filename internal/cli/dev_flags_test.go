package cli_test

import (
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/cli/dev"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// Every setting of serve sandbox, serve auth and serve resource is a flag
// of tmcp dev under the same name (SERVER-NAME where two servers share a
// name), unless dev wires it itself; and dev has no setting flag serve
// lacks.
func TestDev_FlagsMatchServe(t *testing.T) {
	io, _, _ := ui.Test()
	root := cliRoot(io)
	find := func(path ...string) *cobra.Command {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	devFlags := map[string]string{} // name → key
	find("dev").LocalFlags().VisitAll(func(fl *pflag.Flag) {
		if k := cmdutil.SettingOf(fl); k != "" {
			devFlags[fl.Name] = k
		}
	})
	serveKeys := map[string]bool{}
	for _, server := range []string{"sandbox", "auth", "resource"} {
		find("serve", server).LocalFlags().VisitAll(func(fl *pflag.Flag) {
			key := cmdutil.SettingOf(fl)
			if key == "" {
				return
			}
			serveKeys[key] = true
			if dev.IsWired(key) {
				if _, ok := devFlags[fl.Name]; ok && devFlags[fl.Name] == key {
					t.Errorf("dev --%s: dev sets %s itself (%s)", fl.Name, key, dev.Wired[key])
				}
				return
			}
			if devFlags[fl.Name] != key && devFlags[server+"-"+fl.Name] != key {
				t.Errorf("serve %s --%s (%s) is no flag of tmcp dev", server, fl.Name, key)
			}
		})
	}
	for name, key := range devFlags {
		if !serveKeys[key] {
			t.Errorf("dev --%s (%s) is no flag of any serve command", name, key)
		}
	}
	// The settings the operators looked for.
	for _, name := range []string{"registration-scheme", "transport", "scope", "auth-port", "resource-public-url", "token-format"} {
		if devFlags[name] == "" {
			t.Errorf("tmcp dev has no --%s", name)
		}
	}
}

// --clients turns on what the named clients need: Cursor's redirect
// scheme, and every scope up front for a client that cannot step up.
func TestOptions_DevClients(t *testing.T) {
	isolate(t)
	o := parse(t, dev.NewCmd, "--clients", "cursor,mcp-remote", "--registration-scheme", "com.example")
	want(t, "schemes", o.Auth.Server.Registration.RedirectSchemes, []string{"com.example", "cursor"})
	want(t, "default scope", o.Auth.Server.DefaultScope, []string{"read", "write"})
	plain := parse(t, dev.NewCmd, "--clients", "vscode")
	want(t, "vscode: default scope", plain.Auth.Server.DefaultScope, []string{"read"})
	// A scope the operator chose is kept.
	chosen := parse(t, dev.NewCmd, "--clients", "mcporter", "--scope", "read")
	want(t, "chosen scope", chosen.Auth.Server.DefaultScope, []string{"read"})
}
