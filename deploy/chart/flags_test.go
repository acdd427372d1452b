package chart

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The tmcp binary the chart's settings are checked against: $TMCP_BINARY
// (CI passes the one it built), else built here from the repository.
var (
	tmcpOnce sync.Once
	tmcpPath string
	tmcpErr  error
)

func tmcpBinary(t *testing.T) string {
	t.Helper()
	tmcpOnce.Do(func() {
		if tmcpPath = os.Getenv("TMCP_BINARY"); tmcpPath != "" {
			return
		}
		dir, err := os.MkdirTemp("", "tmcp-chart-")
		if err != nil {
			tmcpErr = err
			return
		}
		tmcpPath = filepath.Join(dir, "tmcp")
		cmd := exec.Command("go", "build", "-o", tmcpPath, "./cmd/tmcp")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			tmcpErr = err
			t.Logf("%s", out)
		}
	})
	if tmcpErr != nil {
		t.Fatalf("build tmcp: %v", tmcpErr)
	}
	return tmcpPath
}

var (
	flagLine = regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)\b`)
	envMark  = regexp.MustCompile(`\[env: ([A-Z0-9_]+)\]`)
	// A row of docs/configuration.md's settings tables whose setting has
	// no flag: | — | `key` | `ENV` | …
	envOnlyRow = regexp.MustCompile("(?m)^\\| — \\| `[a-z_.]+` \\| `([A-Z0-9_]+)` \\|")
)

// help is what `tmcp ARGS --help` says a command takes.
func help(t *testing.T, args ...string) (flags map[string]bool, env map[string]bool) {
	t.Helper()
	out, err := exec.Command(tmcpBinary(t), append(args, "--help")...).CombinedOutput()
	if err != nil {
		t.Fatalf("tmcp %s --help: %v\n%s", strings.Join(args, " "), err, out)
	}
	flags, env = map[string]bool{}, map[string]bool{}
	for _, m := range flagLine.FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	for _, m := range envMark.FindAllStringSubmatch(string(out), -1) {
		env[m[1]] = true
	}
	if !flags["help"] || len(env) == 0 {
		t.Fatalf("tmcp %s --help: read no flags or no [env: …] marks from\n%s", strings.Join(args, " "), out)
	}
	return flags, env
}

// knownEnv is every environment name tmcp reads: each flag's [env: …]
// (every command binds every setting's names, so they are gathered from
// all servers), and the settings that have no flag, which only the
// configuration page's tables list.
func knownEnv(t *testing.T) map[string]bool {
	env := map[string]bool{}
	for _, cmd := range [][]string{{"serve", "auth"}, {"serve", "resource"}, {"serve", "sandbox"}, {"dev"}} {
		_, e := help(t, cmd...)
		for k := range e {
			env[k] = true
		}
	}
	doc, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := envOnlyRow.FindAllStringSubmatch(string(doc), -1)
	if len(rows) == 0 {
		t.Fatal("docs/configuration.md: found no setting without a flag; has the table changed shape?")
	}
	for _, m := range rows {
		env[m[1]] = true
	}
	return env
}

// TestChart_EverySettingIsOneTmcpKnows: each flag the chart passes to
// `tmcp serve auth` / `serve resource` is one that command lists in its
// --help, and each environment variable it sets is a name tmcp reads, for
// every value set: a renamed or misspelt flag fails here instead of in
// the cluster's crash loop.
func TestChart_EverySettingIsOneTmcpKnows(t *testing.T) {
	env := knownEnv(t)
	env["HOME"] = true // not tmcp's, but the process's
	for _, vs := range valueSets {
		t.Run(vs, func(t *testing.T) {
			m := mustRender(t, vs)
			for _, d := range m.Deployments {
				for _, c := range d.Spec.Template.Spec.Containers {
					if c.Name != "auth" && c.Name != "resource" {
						continue // the sidecar is the user's program
					}
					if len(c.Args) < 2 || c.Args[0] != "serve" || c.Args[1] != c.Name {
						t.Fatalf("%s: args %q do not start with serve %s", d.Name, c.Args, c.Name)
					}
					flags, _ := help(t, "serve", c.Name)
					for _, a := range c.Args[2:] {
						name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
						if !strings.HasPrefix(a, "--") || !flags[name] {
							t.Errorf("%s: tmcp serve %s has no flag %q", d.Name, c.Name, a)
						}
					}
					for _, e := range c.Env {
						if !env[e.Name] {
							t.Errorf("%s/%s: tmcp reads no environment variable %s", d.Name, c.Name, e.Name)
						}
					}
				}
			}
		})
	}
}
