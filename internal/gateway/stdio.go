package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
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
	return newSessionBridge(opts, "process", command[0], ready, func(r *http.Request, pr Caller, sess *bridgedSession, extra Identity) (backendConn, error) {
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Env = append(slices.Clip(env), EnvUser+"="+pr.Subject, EnvClientID+"="+pr.ClientID, EnvScopes+"="+strings.Join(pr.Scopes, " "))
		if pr.Email != "" {
			cmd.Env = append(cmd.Env, EnvEmail+"="+pr.Email)
		}
		if extra.TaskManagerToken != "" {
			cmd.Env = append(cmd.Env, EnvTaskManagerToken+"="+extra.TaskManagerToken)
		}
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return nil, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			return nil, err
		}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		log := opts.Log.With("mcp_session", sess.id)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.Info("MCP server process: " + sc.Text())
			}
		}()
		go func() {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64*1024), maxAnswer)
			for sc.Scan() {
				sess.route(append([]byte(nil), sc.Bytes()...))
			}
			if err := sc.Err(); err != nil {
				// A line too long to take (or a broken pipe): the rest
				// cannot be followed, and the process, its output no
				// longer read, would block writing it.
				log.Warn("MCP server process output unreadable: stopping it", "err", err)
				cmd.Process.Kill()
			}
			err := cmd.Wait()
			log.Info("MCP server process ended", "err", err)
			sess.finish()
		}()
		return &processConn{cmd: cmd, stdin: stdin}, nil
	}), nil
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

func (c *processConn) close() { c.stdin.Close() }
func (c *processConn) kill()  { c.cmd.Process.Kill() }

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
