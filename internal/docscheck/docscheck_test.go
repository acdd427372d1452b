package docscheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tmcp-dev/tmcp/internal/cli"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// repoRoot is where the documentation lives, from this package's folder.
const repoRoot = "../.."

// documented are the files the checks cover besides docs/*.md.
var documented = []string{"README.md", "CONTRIBUTING.md", "SECURITY.md"}

func readDocs(t *testing.T) []*Doc {
	t.Helper()
	docs, err := Files(repoRoot, documented, []string{"docs"})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// tree is tmcp's command tree as cobra completes it when it runs: with
// its help and completion commands.
func tree() *cobra.Command {
	io, _, _ := ui.Test()
	root := cli.NewRootCmd(&cmdutil.Factory{IO: io})
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	return root
}

// TestDocs_RelativeLinksResolve: every relative link in the documentation
// reaches a file of the tree, and a #fragment a heading of that file.
func TestDocs_RelativeLinksResolve(t *testing.T) {
	for _, p := range CheckLinks(repoRoot, readDocs(t)) {
		t.Error(p)
	}
}

// TestDocs_CommandsInCodeBlocksExist: every tmcp command in a code block
// names commands and flags the command tree has.
func TestDocs_CommandsInCodeBlocksExist(t *testing.T) {
	docs := readDocs(t)
	n := 0
	for _, d := range docs {
		for _, l := range d.Code {
			n += len(l.Commands())
		}
	}
	if n == 0 {
		t.Fatal("no tmcp command found in any code block: the check reads nothing")
	}
	for _, p := range CheckCommands(tree(), docs) {
		t.Error(p)
	}
}

// TestDocs_EveryPageIsInTheIndex: docs/README.md links every page of
// docs/, so none is reachable only by guessing its name.
func TestDocs_EveryPageIsInTheIndex(t *testing.T) {
	index, err := Files(repoRoot, []string{"docs/README.md"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]bool{}
	for _, l := range index[0].Links {
		path, _, _ := strings.Cut(l.Target, "#")
		linked[path] = true
	}
	pages, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	for _, p := range pages {
		if name := filepath.Base(p); name != "README.md" && !linked[name] {
			t.Errorf("docs/README.md does not link %s", name)
		}
	}
}

// TestCheckLinks_BrokenTargetsAreReported: a missing file, a missing
// heading, an absolute path and a path out of the repository are each
// reported; working links, external ones and repeated headings are not.
func TestCheckLinks_BrokenTargetsAreReported(t *testing.T) {
	root := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(root, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("docs/page.md", "# Page\n\n## The `flow test` step\n\n## Again\n\n## Again\n")
	write("pkg/x/x.go", "package x\n")
	for _, tc := range []struct {
		name, link string
		broken     bool
	}{
		{"FileExists", "docs/page.md", false},
		{"HeadingExists", "docs/page.md#the-flow-test-step", false},
		{"RepeatedHeadingNumbered", "docs/page.md#again-1", false},
		{"OwnHeading", "#top-heading", false},
		{"Folder", "pkg/x/", false},
		{"SourceFile", "pkg/x/x.go", false},
		{"External", "https://example.com/missing.md#nothing", false},
		{"Mail", "mailto:security@example.com", false},
		{"MissingFile", "docs/gone.md", true},
		{"MissingHeading", "docs/page.md#no-such-heading", true},
		{"MissingOwnHeading", "#no-such-heading", true},
		{"RepeatedHeadingTooFar", "docs/page.md#again-2", true},
		{"FragmentOnSource", "pkg/x/x.go#L1", true},
		{"Absolute", "/docs/page.md", true},
		{"OutOfTheRepository", "../elsewhere.md", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write("README.md", "# Top heading\n\nSee [this]("+tc.link+").\n\n```sh\n[not a link](nowhere.md)\n```\n")
			docs, err := Files(root, []string{"README.md"}, []string{"docs"})
			if err != nil {
				t.Fatal(err)
			}
			problems := CheckLinks(root, docs)
			if got := len(problems) > 0; got != tc.broken {
				t.Errorf("link %q: broken=%v, want %v (%v)", tc.link, got, tc.broken, problems)
			}
		})
	}
}

// TestCheckArgs_UnknownCommandsAndFlagsAreReported: command paths and
// flags are checked against the real tree, inherited flags included;
// what follows -- belongs to another program.
func TestCheckArgs_UnknownCommandsAndFlagsAreReported(t *testing.T) {
	root := tree()
	for _, tc := range []struct {
		line  string
		wrong string // a part of the error, "" when the line is right
	}{
		{"tmcp serve auth --port 9000", ""},
		{"tmcp serve auth --port=9000 --log-level debug", ""},        // inherited
		{"tmcp --config /etc/tmcp.yaml serve auth --port 9000", ""},  // a root flag before the command
		{"tmcp --log-level debug serve auth --issuer=https://a", ""}, // whose value is no command
		{"tmcp doctor -o json", ""},                                  // a shorthand with its value
		{"tmcp doctor -ojson", ""},
		{"tmcp dev -- npx -y server --no-such-flag", ""},          // another program's flags
		{"go run ./cmd/tmcp flow test --call get-tiny-image", ""}, // go run
		{"tmcp --help", ""},
		{"tmcp version", ""},
		{"tmcp completion bash", ""},
		{"tmcp help serve", ""},
		{"tmcp serve nothing", `unknown command "nothing" for "tmcp serve"`},
		{"tmcp serve auth --no-such-flag", `unknown flag --no-such-flag for "tmcp serve auth"`},
		{"tmcp serve sandbox --proxy http://localhost:3001/mcp", `unknown flag --proxy for "tmcp serve sandbox"`},
		{"tmcp serve auth --port", `flag --port of "tmcp serve auth" needs a value`},
		{"tmcp serve auth -Z", `unknown shorthand flag in -Z`},
		{"tmcp --log-level debug serve auth --nope", `unknown flag --nope for "tmcp serve auth"`},
		{"tmcp doctor -o", `flag -o of "tmcp doctor" needs a value`},
		{"go run ./cmd/tmcp devv", `unknown command "devv" for "tmcp"`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			cmds := Commands(tc.line)
			if len(cmds) != 1 {
				t.Fatalf("found %d commands, want 1", len(cmds))
			}
			err := CheckArgs(root, cmds[0])
			switch {
			case tc.wrong == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wrong != "" && err == nil:
				t.Errorf("passed, want an error containing %q", tc.wrong)
			case tc.wrong != "" && !strings.Contains(err.Error(), tc.wrong):
				t.Errorf("error %q, want it to contain %q", err, tc.wrong)
			}
		})
	}
}

// TestCommands_ShellLines: the tmcp commands of a line are found after
// assignments and in pipelines and lists; comments and quotes are read
// as a shell would.
func TestCommands_ShellLines(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string // each command's arguments, joined by spaces
	}{
		{"tmcp doctor", []string{"doctor"}},
		{"SECRET=x OTHER='a b' tmcp serve auth --issuer https://a", []string{"serve auth --issuer https://a"}},
		{`printf '%s\n' "$COOKIE" | tmcp serve auth --admin-session-cookie -`, []string{"serve auth --admin-session-cookie -"}},
		{"tmcp serve auth --port 9000 &", []string{"serve auth --port 9000"}},
		{"tmcp doctor # tmcp --nothing", []string{"doctor"}},
		{"tmcp flow test && tmcp doctor; echo tmcp", []string{"flow test", "doctor"}},
		{`tmcp serve resource --tool-scope 'delete_*=write admin'`, []string{"serve resource --tool-scope delete_*=write admin"}},
		{"tmcp doctor 2>&1 | less", []string{"doctor"}},
		{"tmcp doctor --output json > out.json", []string{"doctor --output json"}},
		{"tmcp: unknown flag --x", nil},
		{"/tmp/tmcp version", nil},
		{"go run ./cmd/tmcp dev", []string{"dev"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			var got []string
			for _, args := range Commands(tc.line) {
				got = append(got, strings.Join(args, " "))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestParse_CodeBlocksAndContinuations: fenced lines continued with a
// backslash are one command, Markdown inside a fence is no link or
// heading, and an output block is read line by line, not as shell.
func TestParse_CodeBlocksAndContinuations(t *testing.T) {
	d := Parse("x.md", "# Title\n\n```sh\ntmcp serve auth \\\n  --port 9000\n# not a heading\n[no](link.md)\n```\n\n~~~\ntmcp doctor\n~~~\n\n"+
		"```text\nidle RSS 27 MiB; tmcp --help median 13.6ms\ntmcp doctor TaskManager http://localhost:4321 · auth\n```\n")
	var code, cmds []string
	for _, l := range d.Code {
		code = append(code, l.Text)
		for _, args := range l.Commands() {
			cmds = append(cmds, strings.Join(args, " "))
		}
	}
	want := []string{"tmcp serve auth --port 9000", "# not a heading", "[no](link.md)", "tmcp doctor",
		"idle RSS 27 MiB; tmcp --help median 13.6ms", "tmcp doctor TaskManager http://localhost:4321 · auth"}
	if strings.Join(code, "|") != strings.Join(want, "|") {
		t.Errorf("code lines %q, want %q", code, want)
	}
	wantCmds := []string{"serve auth --port 9000", "doctor", "doctor TaskManager http://localhost:4321 · auth"}
	if strings.Join(cmds, "|") != strings.Join(wantCmds, "|") {
		t.Errorf("commands %q, want %q", cmds, wantCmds)
	}
	if len(d.Links) != 0 {
		t.Errorf("links inside a fence were read: %v", d.Links)
	}
	if len(d.Anchors) != 1 || !d.Anchors["title"] {
		t.Errorf("anchors %v, want only #title", d.Anchors)
	}
}

// TestSlug_GitHubAnchors: headings get the anchors GitHub gives them.
func TestSlug_GitHubAnchors(t *testing.T) {
	for heading, want := range map[string]string{
		"The flow":                           "the-flow",
		"`tmcp doctor`":                      "tmcp-doctor",
		"TaskManager with JWTs, and clients": "taskmanager-with-jwts-and-clients",
		"Health/readiness & metrics":         "healthreadiness--metrics",
		"What a fault looks like?":           "what-a-fault-looks-like",
		"**Run it** — the sandbox":           "run-it--the-sandbox",
		"RFC 9728 [metadata](x.md)":          "rfc-9728-metadata",
		"snake_case stays":                   "snake_case-stays",
	} {
		if got := Slug(heading); got != want {
			t.Errorf("Slug(%q) = %q, want %q", heading, got, want)
		}
	}
}
