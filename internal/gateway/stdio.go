package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Identity variables a stdio server's process gets.
const (
	EnvUser             = "TMCP_USER"
	EnvEmail            = "TMCP_EMAIL"
	EnvClientID         = "TMCP_CLIENT_ID"
	EnvScopes           = "TMCP_SCOPES"
	EnvTaskManagerToken = "TASKMANAGER_ACCESS_TOKEN"
)

// stdioBaseEnv is what of tmcp's own environment every process gets: what
// programs need to run, and nothing that configures tmcp.
var stdioBaseEnv = []string{"PATH", "HOME", "LANG", "TZ", "TMPDIR"}

// StdioEnv is the environment stdio processes start with, before their
// user's identity: stdioBaseEnv and the operator's --stdio-env entries
// (NAME for tmcp's own value, NAME=VALUE). A NAME of tmcp's own settings
// (TMCP_*, TASKMANAGER_*) is refused: those are tmcp's secrets and
// configuration; a server that needs such a value is given it as
// NAME=VALUE. An identity variable cannot be set at all.
func StdioEnv(entries []string, lookup func(string) (string, bool)) ([]string, error) {
	var env []string
	for _, name := range stdioBaseEnv {
		if v, ok := lookup(name); ok {
			env = append(env, name+"="+v)
		}
	}
	for _, e := range entries {
		name, value, set := strings.Cut(e, "=")
		if !validEnvName(name) {
			return nil, fmt.Errorf("--stdio-env %q: want NAME or NAME=VALUE", e)
		}
		switch name {
		case EnvUser, EnvEmail, EnvClientID, EnvScopes, EnvTaskManagerToken:
			return nil, fmt.Errorf("--stdio-env %s: tmcp sets it to the signed-in user's identity", name)
		}
		if !set {
			upper := strings.ToUpper(name)
			if strings.HasPrefix(upper, "TMCP_") || strings.HasPrefix(upper, "TASKMANAGER_") {
				return nil, fmt.Errorf("--stdio-env %s: tmcp's own settings stay with tmcp; give the server the value it needs as NAME=VALUE", name)
			}
			if value, set = lookup(name); !set {
				continue
			}
		}
		env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
		env = append(env, name+"="+value)
	}
	return env, nil
}

func validEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// NewStdio runs the team's stdio MCP server: a process per MCP session,
// with env (see StdioEnv) and who the caller is in its environment
// (TMCP_USER, TMCP_EMAIL, TMCP_CLIENT_ID, TMCP_SCOPES, and
// TASKMANAGER_ACCESS_TOKEN when asked), its stderr in the log with the
// session id.
func NewStdio(command, env []string, opts Options) (Backend, error) {
	if len(command) == 0 {
		return nil, errors.New("no command to run")
	}
	if _, err := exec.LookPath(command[0]); err != nil {
		return nil, fmt.Errorf("the MCP server command %q: %w", command[0], err)
	}
	ready := func(context.Context) error { return nil }
	limit := opts.maxMessage()
	becomeSubreaper()
	return newSessionBridge(opts, "process", command[0], ready, func(r *http.Request, pr Caller, sess *bridgedSession, extra Identity) (backendConn, error) {
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Env = append(slices.Clip(env), EnvUser+"="+pr.Subject, EnvClientID+"="+pr.ClientID, EnvScopes+"="+strings.Join(pr.Scopes, " "))
		if pr.Email != "" {
			cmd.Env = append(cmd.Env, EnvEmail+"="+pr.Email)
		}
		if extra.TaskManagerToken != "" {
			cmd.Env = append(cmd.Env, EnvTaskManagerToken+"="+extra.TaskManagerToken)
		}
		ownGroup(cmd)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		// Output pipes of its own, not the command's: Wait neither waits
		// for nor closes them, so the process is reaped when it exits,
		// whoever else holds its output.
		stdout, stdoutW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		stderr, stderrW, err := os.Pipe()
		if err != nil {
			stdout.Close()
			stdoutW.Close()
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = stdoutW, stderrW
		err = cmd.Start()
		stdoutW.Close()
		stderrW.Close()
		if err != nil {
			stdout.Close()
			stderr.Close()
			return nil, err
		}
		log := opts.Log.With("mcp_session", sess.id)
		go logStderr(stderr, log)
		read := make(chan struct{})
		go func() {
			defer close(read)
			readMessages(stdout, limit, sess.route, func(id []byte, size int64) {
				log.Warn("MCP server process sent a message over --max-message-size; left out", "bytes", size, "limit", limit)
				if id != nil {
					sess.route(tooLarge(id, limit))
				}
			})
		}()
		go func() {
			err := cmd.Wait()
			// What it started goes with it, and is reaped.
			endGroup(cmd.Process.Pid)
			select {
			case <-read:
			case <-time.After(outputGrace):
				stdout.Close() // held by a process that left the group
				<-read
			}
			stdout.Close()
			log.Info("MCP server process ended", "err", err)
			sess.finish()
		}()
		return &processConn{cmd: cmd, stdin: stdin}, nil
	}), nil
}

// outputGrace is how long the output of a process that exited is still
// read, once what it started was ended.
const outputGrace = time.Second

// readMessages reads a process's stdout to its end, a message a line
// (MCP stdio), and hands each line of at most limit bytes to deliver. A
// longer line is read on to its end but not kept: tooLarge learns its
// size and, for a response, the id it answers, so that only that call
// fails and the session goes on.
func readMessages(r io.Reader, limit int, deliver func([]byte), tooLarge func(id []byte, size int64)) {
	br := bufio.NewReaderSize(r, 64<<10)
	var msg []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(msg)+len(bytes.TrimRight(chunk, "\r\n")) > limit {
			var scan idScanner
			scan.feed(msg)
			scan.feed(chunk)
			size := int64(len(msg) + len(chunk))
			msg = nil
			for err == bufio.ErrBufferFull {
				chunk, err = br.ReadSlice('\n')
				scan.feed(chunk)
				size += int64(len(chunk))
			}
			tooLarge(scan.responseID(), size)
		} else {
			msg = append(msg, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			if line := bytes.TrimSpace(msg); len(line) > 0 {
				deliver(line)
			}
			msg = nil // delivered messages are kept by whom they went to
		}
		if err != nil {
			return
		}
	}
}

// idScanner finds, in a message read a piece at a time and never whole,
// the top-level "id" of a response (a message with "result" or "error"
// and no "method"): what a message too large to keep answers.
type idScanner struct {
	depth           int
	inString, esc   bool
	expectKey       bool
	inKey           bool
	key             []byte
	capturing       bool
	id              []byte
	method, outcome bool
}

func (s *idScanner) feed(p []byte) {
	for i := 0; i < len(p); i++ {
		if s.inString && !s.inKey && !s.capturing && !s.esc {
			// Inside a value's string (most of a large message): on to
			// where it may end.
			j := bytes.IndexAny(p[i:], `"\\`)
			if j < 0 {
				return
			}
			i += j
		}
		c := p[i]
		if s.capturing && len(s.id) < 256 && !(s.depth == 1 && !s.inString && (c == ',' || c == '}')) {
			s.id = append(s.id, c)
		}
		if s.inString {
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inString = false
				if s.inKey {
					s.inKey = false
					switch string(s.key) {
					case "method":
						s.method = true
					case "result", "error":
						s.outcome = true
					}
				}
			default:
				if s.inKey && len(s.key) < 8 {
					s.key = append(s.key, c)
				}
			}
			continue
		}
		switch c {
		case '"':
			s.inString = true
			if s.depth == 1 && s.expectKey {
				s.inKey, s.expectKey, s.key = true, false, s.key[:0]
			}
		case '{', '[':
			s.depth++
			s.expectKey = s.depth == 1 && c == '{'
		case '}', ']':
			if s.depth == 1 {
				s.capturing = false
			}
			s.depth--
		case ',':
			if s.depth == 1 {
				s.capturing, s.expectKey = false, true
			}
		case ':':
			if s.depth == 1 && !s.capturing && string(s.key) == "id" {
				s.capturing, s.id = true, s.id[:0]
			}
		}
	}
}

// responseID is the id the message answers, or nil when it is no
// response or its id was not found.
func (s *idScanner) responseID() []byte {
	id := bytes.TrimSpace(s.id)
	if s.method || !s.outcome || len(id) == 0 {
		return nil
	}
	return id
}

// What of a process's stderr reaches the log: lines of at most
// stderrChunk bytes (a longer line is logged in parts), at most
// stderrRate bytes a second for each session, in bursts of stderrBurst.
// Each record counts stderrRecord bytes more, for what the log adds.
const (
	stderrChunk  = 4 << 10
	stderrRate   = 16 << 10
	stderrBurst  = 64 << 10
	stderrRecord = 128
)

// logStderr reads a process's stderr to its end, whatever it writes (a
// process whose stderr is not read blocks on it), and logs it within
// the session's rate; what is over it is counted and said.
func logStderr(r io.ReadCloser, log *slog.Logger) {
	defer r.Close()
	br := bufio.NewReaderSize(r, stderrChunk)
	budget := rate.NewLimiter(stderrRate, stderrBurst)
	var lines, dropped int
	report := func() {
		if lines > 0 {
			log.Warn("MCP server process: stderr over the log's rate left out", "lines", lines, "bytes", dropped)
			lines, dropped = 0, 0
		}
	}
	for {
		chunk, err := br.ReadSlice('\n')
		if text := strings.TrimRight(string(chunk), "\r\n"); text != "" {
			if budget.AllowN(time.Now(), len(chunk)+stderrRecord) {
				report()
				log.Info("MCP server process: " + text)
			} else {
				lines++
				dropped += len(chunk)
			}
		}
		if err != nil && err != bufio.ErrBufferFull {
			report()
			return
		}
	}
}

// processConn is a session's process: messages go to its stdin, one a
// line.
type processConn struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	writeMu sync.Mutex
}

func (c *processConn) send(ctx context.Context, msg []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	// A process that stops reading its stdin fills the pipe; the write
	// then gives up with the request. Its input may end mid-line, so the
	// process gets EOF and the session ends.
	pipe, _ := c.stdin.(interface{ SetWriteDeadline(time.Time) error })
	aborted := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		if pipe != nil {
			pipe.SetWriteDeadline(time.Now())
		}
		close(aborted)
	})
	_, err := c.stdin.Write(line(msg))
	if !stop() {
		<-aborted
		if err == nil && pipe != nil {
			pipe.SetWriteDeadline(time.Time{})
		}
	}
	if err != nil {
		c.stdin.Close()
	}
	return err
}

// identityFixed: a process learns who its user is once, from its
// environment.
func (c *processConn) identityFixed() {}

// close gives the process EOF; kill ends it and everything it started
// (its process group).
func (c *processConn) close() { c.stdin.Close() }
func (c *processConn) kill()  { killGroup(c.cmd.Process) }

// line is msg as one line of stdio (MCP stdio: messages are delimited by
// newlines and hold none). A strictly read message has CR and LF only
// between its tokens, where a space means the same.
func line(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+1)
	for _, c := range bytes.TrimSpace(msg) {
		if c == '\n' || c == '\r' {
			c = ' '
		}
		out = append(out, c)
	}
	return append(out, '\n')
}
