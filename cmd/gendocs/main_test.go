package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
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
