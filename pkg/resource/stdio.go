package resource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/pkg/secrets"
)

// stdioGateway serves Streamable HTTP in front of an MCP server that
// speaks stdio: one process per MCP session, so users never share one,
// with who the user is in the process's environment. A session's process
// stops when the session ends, idles out or is closed; a process that
// exits ends its session, never the server.
type stdioGateway struct {
	s       *Server
	command []string
	timeout time.Duration

	mu    sync.Mutex
	procs map[string]*stdioProc
}

func newStdioGateway(s *Server, command []string, timeout time.Duration) *stdioGateway {
	g := &stdioGateway{s: s, command: command, timeout: timeout, procs: map[string]*stdioProc{}}
	s.sessions.onEnd = g.stop
	return g
}

// rpcMessage is the part of a JSON-RPC message the gateway routes by.
type rpcMessage struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
}

func (m rpcMessage) isRequest() bool  { return len(m.ID) > 0 && m.Method != "" }
func (m rpcMessage) isResponse() bool { return len(m.ID) > 0 && m.Method == "" }

func (g *stdioGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(server.HeaderKeySessionID)
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if p := g.proc(id); p != nil {
			p.stream(w, r)
			return
		}
		http.Error(w, "session not found: start a new one", http.StatusNotFound)
		return
	case http.MethodDelete:
		g.s.sessions.remove(id) // stops the process through onEnd
		w.WriteHeader(http.StatusOK)
		return
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	msgs, raws, err := splitMessages(body)
	if err != nil {
		rpcError(w, http.StatusBadRequest, rpcParseError, "the body is not JSON-RPC")
		return
	}
	var p *stdioProc
	if id == "" {
		if !bodyOf(r).initialize {
			// Sessionless clients (2026-07-28) fall back to initialize.
			rpcError(w, http.StatusBadRequest, rpcInvalidRequest, "send initialize first: this gateway runs one MCP server process per session")
			return
		}
		var env []string
		if g.s.cfg.ForwardTaskManagerToken {
			pr, _ := PrincipalFrom(r.Context())
			token, err := g.s.auth.upstreamToken(r.Context(), pr, g.s.cfg.TaskManager)
			if !g.s.exchanged(w, r, err, "your TaskManager access") {
				return
			}
			env = append(env, "TASKMANAGER_ACCESS_TOKEN="+token)
		}
		if p, err = g.start(r.Context(), env); err != nil {
			g.s.log.ErrorContext(r.Context(), "start the MCP server process", "command", g.command[0], "err", err)
			rpcError(w, http.StatusBadGateway, rpcInternalError, "the MCP server behind this gateway could not be started")
			return
		}
		defer func() {
			if !g.s.sessions.has(p.id) {
				go g.stopProc(p) // no session was opened: nothing else would stop it
			}
		}()
	} else if p = g.proc(id); p == nil {
		http.Error(w, "session not found: start a new one", http.StatusNotFound)
		return
	}
	var waits []chan []byte
	var ids []json.RawMessage
	defer func() {
		for _, id := range ids {
			p.forget(id) // answered, or no longer waited for
		}
	}()
	for i, m := range msgs {
		if m.isRequest() {
			waits = append(waits, p.await(m.ID))
			ids = append(ids, m.ID)
		}
		if err := p.send(raws[i]); err != nil {
			rpcError(w, http.StatusBadGateway, rpcInternalError, msgProcessEnded)
			return
		}
	}
	if len(waits) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	timer := time.NewTimer(g.timeout)
	defer timer.Stop()
	if id != "" && strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		p.answerStream(w, r, waits, timer.C)
		return
	}
	answers := make([]json.RawMessage, 0, len(waits))
	for _, ch := range waits {
		select {
		case a, ok := <-ch:
			if !ok {
				rpcError(w, http.StatusBadGateway, rpcInternalError, msgProcessEnded)
				return
			}
			answers = append(answers, p.hide(r, a))
		case <-timer.C:
			rpcError(w, http.StatusGatewayTimeout, rpcInternalError, fmt.Sprintf("the MCP server behind this gateway did not answer within %s", g.timeout))
			return
		case <-r.Context().Done():
			return
		}
	}
	if id == "" {
		w.Header().Set(server.HeaderKeySessionID, p.id)
		if pr, ok := PrincipalFrom(r.Context()); ok {
			g.s.sessions.add(p.id, owner(pr))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if len(answers) == 1 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		w.Write(answers[0])
		return
	}
	out, _ := json.Marshal(answers)
	w.Write(out)
}

// splitMessages reads one JSON-RPC message or a batch.
func splitMessages(body []byte) ([]rpcMessage, []json.RawMessage, error) {
	var raws []json.RawMessage
	if t := bytes.TrimSpace(body); bytes.HasPrefix(t, []byte("[")) {
		if err := json.Unmarshal(t, &raws); err != nil {
			return nil, nil, err
		}
	} else {
		raws = []json.RawMessage{t}
	}
	msgs := make([]rpcMessage, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &msgs[i]); err != nil {
			return nil, nil, err
		}
	}
	return msgs, raws, nil
}

// JSON-RPC error codes the gateway answers with.
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcInternalError  = -32603
)

const msgProcessEnded = "the MCP server process behind this gateway has ended"

// rpcError answers with a JSON-RPC error that belongs to no request.
func rpcError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%q}}`, code, msg)
}

// rpcErrorMessage is an internal JSON-RPC error as one message, for a
// stream.
func rpcErrorMessage(msg string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%q}}`, rpcInternalError, msg)
}

func (g *stdioGateway) proc(id string) *stdioProc {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.procs[id]
}

// start runs a new process for the user of ctx's request, with env added
// to its environment.
func (g *stdioGateway) start(ctx context.Context, env []string) (*stdioProc, error) {
	pr, _ := PrincipalFrom(ctx)
	p := &stdioProc{g: g, id: "tmcp-" + secrets.Random(16), waiting: map[string]chan []byte{}, events: make(chan []byte, 64), done: make(chan struct{})}
	cmd := exec.Command(g.command[0], g.command[1:]...)
	cmd.Env = append(os.Environ(), "TMCP_USER="+pr.Subject, "TMCP_CLIENT_ID="+pr.ClientID, "TMCP_SCOPES="+strings.Join(pr.Scopes, " "))
	if strings.Contains(pr.Username, "@") {
		cmd.Env = append(cmd.Env, "TMCP_EMAIL="+pr.Username)
	}
	cmd.Env = append(cmd.Env, env...)
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
	p.cmd, p.stdin = cmd, stdin
	g.mu.Lock()
	g.procs[p.id] = p
	g.mu.Unlock()
	log := g.s.log.With("mcp_session", p.id)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.Info("MCP server process: " + sc.Text())
		}
	}()
	go func() {
		p.read(stdout)
		err := cmd.Wait()
		log.Info("MCP server process ended", "err", err)
		g.mu.Lock()
		delete(g.procs, p.id)
		g.mu.Unlock()
		g.s.sessions.remove(p.id)
	}()
	return p, nil
}

// stop ends the process of a session that ended.
func (g *stdioGateway) stop(id string) {
	if p := g.proc(id); p != nil {
		g.stopProc(p)
	}
}

func (g *stdioGateway) stopProc(p *stdioProc) {
	p.stdin.Close() // a well-behaved server exits on EOF
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		p.cmd.Process.Kill()
	}
}

// stopAll ends every process, when the server stops.
func (g *stdioGateway) stopAll() {
	g.mu.Lock()
	ids := make([]string, 0, len(g.procs))
	for id := range g.procs {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	for _, id := range ids {
		g.stop(id)
	}
}

// stdioProc is one MCP server process and the requests waiting on it.
type stdioProc struct {
	g       *stdioGateway
	id      string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	writeMu sync.Mutex

	mu      sync.Mutex
	waiting map[string]chan []byte
	events  chan []byte // server-to-client messages for the GET stream
	done    chan struct{}
}

// hide applies --hide-unauthorized to the answer of r's tools/list.
func (p *stdioProc) hide(r *http.Request, answer []byte) []byte {
	pr, ok := PrincipalFrom(r.Context())
	if !ok || !p.g.s.cfg.HideUnauthorized || !bodyOf(r).listsTools {
		return answer
	}
	return hideTools(answer, p.g.s.toolFilter(pr))
}

func (p *stdioProc) send(msg []byte) error {
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	if _, err := p.stdin.Write(append(bytes.TrimSpace(msg), '\n')); err != nil {
		return err
	}
	return nil
}

func (p *stdioProc) await(id json.RawMessage) chan []byte {
	ch := make(chan []byte, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		close(ch)
	default:
		p.waiting[string(id)] = ch
	}
	return ch
}

func (p *stdioProc) forget(id json.RawMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.waiting, string(id))
}

// read routes the process's messages: responses to the request waiting
// for them, everything else (notifications, requests to the client) to
// the session's GET stream, dropped when nobody listens and the buffer is
// full.
func (p *stdioProc) read(stdout io.Reader) {
	defer func() {
		p.mu.Lock()
		close(p.done)
		for id, ch := range p.waiting {
			close(ch)
			delete(p.waiting, id)
		}
		p.mu.Unlock()
	}()
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), maxRPCBody)
	for sc.Scan() {
		line := append([]byte(nil), sc.Bytes()...)
		var m rpcMessage
		if json.Unmarshal(line, &m) != nil {
			continue // not JSON-RPC: a server that logs to stdout
		}
		if m.isResponse() {
			p.mu.Lock()
			ch, ok := p.waiting[string(m.ID)]
			delete(p.waiting, string(m.ID))
			p.mu.Unlock()
			if ok {
				ch <- line
				continue
			}
		}
		select {
		case p.events <- line:
		default:
		}
	}
}

// answerStream answers a POST as an SSE stream: the process's other
// messages while the requests run (progress, logging, requests to the
// client), then each response; the stream ends with the last one.
func (p *stdioProc) answerStream(w http.ResponseWriter, r *http.Request, waits []chan []byte, timeout <-chan time.Time) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	event := func(msg []byte) {
		fmt.Fprintf(w, "event: message\ndata: %s\n\n", msg)
		if flusher != nil {
			flusher.Flush()
		}
	}
	for _, ch := range waits {
		for answered := false; !answered; {
			select {
			case a, ok := <-ch:
				if !ok {
					event(rpcErrorMessage(msgProcessEnded))
					return
				}
				event(p.hide(r, a))
				answered = true
			case msg := <-p.events:
				event(msg)
			case <-timeout:
				event(rpcErrorMessage("the MCP server behind this gateway did not answer in time"))
				return
			case <-r.Context().Done():
				return
			}
		}
	}
}

// stream is the session's GET stream: server-to-client messages as SSE.
func (p *stdioProc) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	for {
		select {
		case msg := <-p.events:
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", msg)
			flusher.Flush()
		case <-p.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
