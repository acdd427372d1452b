package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
)

func TestDuration_OneFormat(t *testing.T) {
	for d, want := range map[time.Duration]string{
		300 * time.Microsecond: "<1ms", 254 * time.Millisecond: "254ms", 12340 * time.Millisecond: "12.3s",
		5 * time.Minute: "5m", 90 * time.Second: "1m30s", 2 * time.Hour: "2h", 2*time.Hour + 30*time.Second: "2h0m30s",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

// A table fits the terminal: no line is wider than its columns, however
// long the values.
func TestTable_FitsTheTerminalWidth(t *testing.T) {
	io, _, _ := TestTerminal(80)
	long := strings.Repeat("http://localhost:9000/oauth/callback ", 4)
	got := io.Table([]string{"CLIENT ID", "NAME", "REDIRECT URIS"}, [][]string{
		{"tmcp_ci_7d3f0c1e9a2b4c5d6e7f8091a2b3c4d5", "Cursor on the build machine", long},
		{"tmcp_ci_short", "x", "http://127.0.0.1:33418/"},
	})
	for _, line := range strings.Split(strings.TrimRight(got, "\n"), "\n") {
		if w := lipgloss.Width(line); w > 80 {
			t.Fatalf("a line is %d columns wide:\n%s", w, got)
		}
	}
	if !strings.Contains(got, "tmcp_ci_short") {
		t.Fatalf("the table lost a row:\n%s", got)
	}
}

// In a terminal a long line wraps between words, continuing indented;
// piped, it stays whole for scripts.
func TestWrap_BetweenWordsOnATerminalOnly(t *testing.T) {
	line := "✗ client secret   the secret you gave (env TASKMANAGER_CLIENT_SECRET) for client tmcp-dev is refused; the running server's own is fine"
	term, _, _ := TestTerminal(60)
	got := term.Styles().Wrap(line, 18)
	for i, l := range strings.Split(got, "\n") {
		if lipgloss.Width(l) > 60 || i > 0 && !strings.HasPrefix(l, strings.Repeat(" ", 18)) {
			t.Fatalf("line %d %q of\n%s", i, l, got)
		}
	}
	if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(line), " ") {
		t.Fatalf("wrapping changed the words:\n%s", got)
	}
	piped, _, _ := Test()
	if piped.Styles().Wrap(line, 18) != line {
		t.Fatal("a piped line was wrapped")
	}
}
