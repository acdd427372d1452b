package resource

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// newStdioBridge runs the team's stdio MCP server: a process per MCP
// session, with who the user is in its environment (TMCP_USER,
// TMCP_EMAIL, TMCP_CLIENT_ID, TMCP_SCOPES, and TASKMANAGER_ACCESS_TOKEN
// when asked), its stderr in the log with the session id.
func newStdioBridge(s *Server, command []string) *sessionBridge {
	return newSessionBridge(s, s.cfg.ProxyTimeout, "process", func(r *http.Request, sess *bridgedSession, extra identity) (backendConn, error) {
		pr, _ := PrincipalFrom(r.Context())
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Env = append(os.Environ(), "TMCP_USER="+pr.Subject, "TMCP_CLIENT_ID="+pr.ClientID, "TMCP_SCOPES="+strings.Join(pr.Scopes, " "))
		if pr.Email != "" {
			cmd.Env = append(cmd.Env, "TMCP_EMAIL="+pr.Email)
		}
		if extra.taskManagerToken != "" {
			cmd.Env = append(cmd.Env, "TASKMANAGER_ACCESS_TOKEN="+extra.taskManagerToken)
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
		log := s.log.With("mcp_session", sess.id)
		go func() {
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				log.Info("MCP server process: " + sc.Text())
			}
		}()
		go func() {
			sc := bufio.NewScanner(stdout)
			sc.Buffer(make([]byte, 64*1024), maxRPCBody)
			for sc.Scan() {
				sess.route(append([]byte(nil), sc.Bytes()...))
			}
			err := cmd.Wait()
			log.Info("MCP server process ended", "err", err)
			sess.finish()
		}()
		return &processConn{cmd: cmd, stdin: stdin}, nil
	})
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
	_, err := c.stdin.Write(append(bytes.TrimSpace(msg), '\n'))
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

func (c *processConn) close() { c.stdin.Close() }
func (c *processConn) kill()  { c.cmd.Process.Kill() }
