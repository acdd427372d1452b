// Command gendocs writes tmcp's man pages (man/) and shell completions
// (completions/) from the command tree. Output is deterministic, so the
// committed files can be checked for staleness: go generate ./... then
// git diff --exit-code man completions.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
	"github.com/spf13/pflag"

	"github.com/tmcp-dev/tmcp/internal/cli"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

func main() {
	out := flag.String("out", ".", "directory to write man/ and completions/ into")
	flag.Parse()
	if err := generate(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func generate(out string) error {
	io, _, _ := ui.Test()
	root := cli.NewRootCmd(&cmdutil.Factory{IO: io})
	root.DisableAutoGenTag = true

	manDir := filepath.Join(out, "man")
	if err := os.RemoveAll(manDir); err != nil {
		return err
	}
	if err := os.MkdirAll(manDir, 0o755); err != nil {
		return err
	}
	// A fixed date keeps the pages byte-identical between runs.
	date := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	header := &doc.GenManHeader{Title: "TMCP", Section: "1", Date: &date, Source: "tmcp", Manual: "tmcp manual"}
	// Man pages are made from Markdown: placeholders like <port> would be
	// dropped as HTML and a * taken for emphasis. A tree of their own
	// gets escaped text; the completions below use the real one.
	pages := cli.NewRootCmd(&cmdutil.Factory{IO: io})
	pages.DisableAutoGenTag = true
	escapeForMarkdown(pages)
	if err := doc.GenManTree(pages, header, manDir); err != nil {
		return err
	}
	if err := addManSections(manDir); err != nil {
		return err
	}

	compDir := filepath.Join(out, "completions")
	if err := os.MkdirAll(compDir, 0o755); err != nil {
		return err
	}
	for name, gen := range map[string]func(string) error{
		"tmcp.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"tmcp.zsh":  root.GenZshCompletionFile,
		"tmcp.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
		"tmcp.ps1":  root.GenPowerShellCompletionFileWithDesc,
	} {
		if err := gen(filepath.Join(compDir, name)); err != nil {
			return err
		}
	}
	return nil
}

// markdownSpecial are the characters go-md2man would not print as they are.
var markdownSpecial = strings.NewReplacer(`\`, `\\`, "<", `\<`, ">", `\>`, "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "`", "\\`")

// escapeForMarkdown escapes every flag's help and default and every
// command's description in cmd's tree.
func escapeForMarkdown(cmd *cobra.Command) {
	escape := func(f *pflag.Flag) {
		f.Usage = markdownSpecial.Replace(f.Usage)
		if f.Value.Type() != "string" { // strings are quoted (%q), where a backslash would show
			f.DefValue = markdownSpecial.Replace(f.DefValue)
		}
	}
	cmd.LocalNonPersistentFlags().VisitAll(escape)
	cmd.PersistentFlags().VisitAll(escape)
	cmd.Long = markdownSpecial.Replace(cmd.Long)
	for _, c := range cmd.Commands() {
		escapeForMarkdown(c)
	}
}

// manSections are the sections every page has besides cobra's: the
// environment, the files and the exit status (man-pages(7) order: before
// SEE ALSO).
const manSections = `.SH ENVIRONMENT
.PP
Every setting has an environment variable, named in its flag's help as [env: NAME]; TMCP_<SECTION>_<KEY> works for every config key.
.TP
\fBTMCP_LOG_LEVEL\fP, \fBTMCP_STATE_DIR\fP
the log level and the state directory
.TP
\fBXDG_CONFIG_HOME\fP, \fBXDG_STATE_HOME\fP
where the config file and the state directory are by default
.TP
\fBNO_COLOR\fP
no colour in the output
.TP
\fBBROWSER\fP
the program flow test opens the sign-in page with
.SH FILES
.TP
\fI$XDG_CONFIG_HOME/tmcp/config.yaml\fP
the config file (--config)
.TP
\fI$XDG_STATE_HOME/tmcp/\fP
the state directory (--state-dir): tmcp.db, sandbox.db, encryption.key, resource-secret, dev-client-secret, and dev.json and dev.lock while tmcp dev runs
.SH EXIT STATUS
.TP
\fB0\fP
success; for doctor and flow test, every check passed
.TP
\fB1\fP
a failure; for doctor and flow test, a check failed (each names its fix)
.TP
\fB2\fP
a usage error: an unknown command or flag, a bad argument
`

// addManSections puts manSections into every page in dir.
func addManSections(dir string) error {
	pages, err := filepath.Glob(filepath.Join(dir, "*.1"))
	if err != nil {
		return err
	}
	for _, p := range pages {
		raw, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		page := string(raw)
		if i := strings.Index(page, ".SH SEE ALSO"); i >= 0 {
			page = page[:i] + manSections + page[i:]
		} else {
			page += manSections
		}
		if err := os.WriteFile(p, []byte(page), 0o644); err != nil {
			return err
		}
	}
	return nil
}
