package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tmcp-dev/tmcp/internal/cli"
	"github.com/tmcp-dev/tmcp/internal/cli/cmdutil"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// TestGenerate_CommittedFilesAreCurrent regenerates the man pages and
// completions into a temporary directory and compares them with the
// committed ones: a command or flag change without go generate fails here.
func TestGenerate_CommittedFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if err := generate(dir); err != nil {
		t.Fatal(err)
	}
	again := t.TempDir()
	if err := generate(again); err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"man", "completions"} {
		files, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: nothing generated (%v)", sub, err)
		}
		committed, _ := os.ReadDir(filepath.Join("..", "..", sub))
		if len(committed) != len(files) {
			t.Errorf("%s/ holds %d files, the command tree makes %d: run go generate ./...", sub, len(committed), len(files))
		}
		for _, f := range files {
			got, _ := os.ReadFile(filepath.Join(dir, sub, f.Name()))
			second, _ := os.ReadFile(filepath.Join(again, sub, f.Name()))
			if !bytes.Equal(got, second) {
				t.Errorf("%s/%s differs between two runs: generation is not deterministic", sub, f.Name())
			}
			want, err := os.ReadFile(filepath.Join("..", "..", sub, f.Name()))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s/%s is stale: run go generate ./...", sub, f.Name())
			}
		}
	}
}

// TestManPages_RenderWhatHelpSays renders every committed page with groff,
// as man does, and finds in it each flag's default and help exactly as
// --help has them: nothing dropped as an HTML tag or eaten as emphasis.
func TestManPages_RenderWhatHelpSays(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("groff is not installed; .ci/run installs groff-base")
		}
		t.Skip("groff is not installed")
	}
	io, _, _ := ui.Test()
	root := cli.NewRootCmd(&cmdutil.Factory{IO: io})
	var visit func(cmd *cobra.Command)
	checked := 0
	visit = func(cmd *cobra.Command) {
		if cmd.Hidden || !cmd.IsAvailableCommand() && cmd != root {
			return
		}
		page := filepath.Join("..", "..", "man", strings.ReplaceAll(cmd.CommandPath(), " ", "-")+".1")
		// No line length limit and no hyphenation: the text comes out whole.
		out, err := exec.Command("groff", "-k", "-man", "-Tutf8", "-rLL=20000n", "-rHY=0", "-P-cbu", page).Output()
		if err != nil {
			t.Errorf("render %s: %v", page, err)
			return
		}
		text := strings.Join(strings.Fields(string(out)), " ")
		cmd.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			def := f.DefValue
			if f.Value.Type() == "string" {
				def = fmt.Sprintf("%q", def)
			}
			want := "--" + f.Name + "=" + def
			if f.NoOptDefVal != "" {
				want = "--" + f.Name + "[=" + def + "]"
			}
			if !strings.Contains(text, want) {
				t.Errorf("%s: renders no %s", page, want)
			}
			if usage := strings.Join(strings.Fields(f.Usage), " "); !strings.Contains(text, usage) {
				t.Errorf("%s: --%s's help renders differently from --help's:\n want %s", page, f.Name, usage)
			}
			checked++
		})
		for _, c := range cmd.Commands() {
			visit(c)
		}
	}
	visit(root)
	if checked < 100 {
		t.Fatalf("checked %d flags; the walk missed pages", checked)
	}
}

// Every page has ENVIRONMENT, FILES and EXIT STATUS, before SEE ALSO.
func TestManPages_HaveEnvironmentFilesAndExitStatus(t *testing.T) {
	pages, err := filepath.Glob(filepath.Join("..", "..", "man", "*.1"))
	if err != nil || len(pages) < 10 {
		t.Fatalf("pages: %v %v", pages, err)
	}
	for _, p := range pages {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		page := string(raw)
		last := -1
		for _, sh := range []string{".SH ENVIRONMENT", ".SH FILES", ".SH EXIT STATUS", ".SH SEE ALSO"} {
			i := strings.Index(page, sh)
			if i < 0 || i < last {
				t.Errorf("%s: %s missing or out of order", p, sh)
			}
			last = i
		}
	}
}
