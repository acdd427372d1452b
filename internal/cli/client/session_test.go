//go:build linux

package client_test

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/tmcp-dev/tmcp/internal/cli/client"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// With no cookie given, a terminal is asked for it and does not show
// what is typed: a cookie on the command line lands in ps and history,
// one echoed lands on the screen.
func TestSessionCookie_AskedOnATerminalWithoutEcho(t *testing.T) {
	terminal, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { terminal.Close(); tty.Close() })
	io, _, errOut := ui.Test()
	io.In = tty

	type answer struct {
		cookie string
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		cookie, err := client.SessionCookie(io, "", "session")
		done <- answer{cookie, err}
	}()
	// Type only once the terminal stopped echoing: before that, the
	// terminal itself would show what is typed.
	deadline := time.Now().Add(5 * time.Second)
	for echoes(t, tty) {
		if time.Now().After(deadline) {
			t.Fatal("the terminal still echoes: the cookie would be shown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := terminal.Write([]byte("session=s3cr3t-cookie\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-done:
		if a.err != nil || a.cookie != "session=s3cr3t-cookie" {
			t.Fatalf("cookie %q, err %v", a.cookie, a.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cookie typed was not read")
	}
	if !echoes(t, tty) {
		t.Fatal("the terminal was left without echo")
	}
	if !bytes.Contains(errOut.Bytes(), []byte("(not shown)")) {
		t.Fatalf("the prompt: %q", errOut.String())
	}
	// What the terminal showed, up to a mark typed now that it echoes
	// again (the pty's descriptor blocks, so a read cannot time out).
	if _, err := terminal.Write([]byte("MARK\r")); err != nil {
		t.Fatal(err)
	}
	var shown []byte
	buf := make([]byte, 256)
	for !bytes.Contains(shown, []byte("MARK")) {
		n, err := terminal.Read(buf)
		if err != nil {
			t.Fatalf("reading the terminal: %v (so far %q)", err, shown)
		}
		shown = append(shown, buf[:n]...)
	}
	if bytes.Contains(shown, []byte("s3cr3t")) {
		t.Fatalf("the terminal showed the cookie: %q", shown)
	}
}

func echoes(t *testing.T, tty *os.File) bool {
	t.Helper()
	st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return st.Lflag&unix.ECHO != 0
}
