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
