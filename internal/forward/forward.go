// Package forward sends HTTP/1.1 requests to one backend over a pool of
// keep-alive connections, for the gateway in front of a team's own MCP
// server.
//
// It does what httputil.ReverseProxy over http.Transport does for this
// one case at under half the cost a request: the request is written and
// the response read on the caller's goroutine, with no per-connection
// reader and writer goroutines to hand each request to and from. On a
// machine where the MCP client, the gateway and the MCP server share the
// cores, that cost is what the gateway's throughput is measured by.
//
// It speaks HTTP/1.1 only (RFC 9112), over TCP or TLS (ALPN http/1.1):
// MCP's Streamable HTTP needs nothing else, and a gateway beside its
// backend gains nothing from HTTP/2.
package forward

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options bound the forwarder's waits and its pool.
type Options struct {
	// DialTimeout bounds opening a connection.
	DialTimeout time.Duration
	// HeaderTimeout bounds writing a request and reading its response's
	// status line and headers, and a whole answer that is not an event
	// stream; an SSE stream may last as long as its session.
	HeaderTimeout time.Duration
	// MaxIdle is how many idle connections are kept.
	MaxIdle int
	// IdleTimeout closes a connection idle this long.
	IdleTimeout time.Duration
	// TLS configures connections to an https backend.
	TLS *tls.Config
}

// Forwarder sends requests to one backend.
type Forwarder struct {
	backend *url.URL
	address string // host:port to dial
	host    string // the Host header
	opts    Options
	now     func() time.Time

	mu     sync.Mutex
	idle   []*conn // most recently used last
	sweep  *time.Timer
	closed bool
}

// New returns a forwarder to backend, an http or https URL.
func New(backend *url.URL, opts Options) (*Forwarder, error) {
	if backend.Scheme != "http" && backend.Scheme != "https" || backend.Host == "" {
		return nil, fmt.Errorf("want an http(s) URL, not %q", backend.Redacted())
	}
	port := backend.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[backend.Scheme]
	}
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = 64
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 90 * time.Second
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = 5 * time.Second
	}
	if backend.Scheme == "https" {
		t := &tls.Config{}
		if opts.TLS != nil {
			t = opts.TLS.Clone()
		}
		if t.ServerName == "" {
			t.ServerName = backend.Hostname()
		}
		t.NextProtos = []string{"http/1.1"}
		opts.TLS = t
	} else {
		opts.TLS = nil
	}
	return &Forwarder{backend: backend, address: net.JoinHostPort(backend.Hostname(), port), host: backend.Host, opts: opts, now: time.Now}, nil
}

// conn is one connection to the backend and its buffers.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	bw       *bufio.Writer
	idleFrom time.Time
}

// Request is what is sent: the path and query are the backend's own.
type Request struct {
	Method string
	// Header is sent as is, less the fields Exclude names (made by
	// Excluding, so the hop-by-hop ones are among them) and those its
	// Connection field names.
	Header  http.Header
	Exclude Fields
	// Extra is sent after Header (the gateway's own fields).
	Extra http.Header
	Body  []byte
	// RawQuery is appended to the backend's path.
	RawQuery string
}

// hopByHop are the fields that belong to one connection (RFC 9110
// §7.6.1), never forwarded either way; and, on requests, the ones the
// forwarder writes itself (Host, Content-Length) and Expect, whose
// 100-continue is answered already: the body was read before sending.
var hopByHop = Fields{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Expect": true}

// Fields is a set of canonical header names.
type Fields map[string]bool

// Excluding is the hop-by-hop fields and names: what a request must not
// carry to the backend. Make it once; it is read for every request.
func Excluding(names ...string) Fields {
	out := make(Fields, len(hopByHop)+len(names))
	for k := range hopByHop {
		out[k] = true
	}
	for _, n := range names {
		out[http.CanonicalHeaderKey(n)] = true
	}
	return out
}

// errClosed is returned once the forwarder is closed.
var errClosed = errors.New("forward: closed")

// Do sends req and returns the backend's response. The caller must close
// its body; a body read to its end gives the connection back to the
// pool. ctx ends the request at any point, the body's reading included.
func (f *Forwarder) Do(ctx context.Context, req *Request) (*http.Response, error) {
	c, err := f.get(ctx)
	if err != nil {
		return nil, err
	}
	// The header deadline first, then the context's: a context that ends
	// at once must not have its deadline overwritten.
	if f.opts.HeaderTimeout > 0 {
		c.nc.SetDeadline(f.now().Add(f.opts.HeaderTimeout))
	}
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(time.Unix(1, 0)) }) // unblocks any read or write
	resp, err := f.roundTrip(c, req)
	if err != nil {
		stop()
		c.nc.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if f.opts.HeaderTimeout > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		c.nc.SetDeadline(time.Time{})
		if ctx.Err() != nil { // ended meanwhile: its deadline may just have been cleared
			c.nc.SetDeadline(time.Unix(1, 0))
		}
	}
	resp.Body = &body{ReadCloser: resp.Body, f: f, c: c, stop: stop, reuse: !resp.Close}
	return resp, nil
}

func (f *Forwarder) roundTrip(c *conn, req *Request) (*http.Response, error) {
	bw := c.bw
	path := f.backend.EscapedPath()
	if path == "" {
		path = "/"
	}
	bw.WriteString(req.Method)
	bw.WriteByte(' ')
	bw.WriteString(path)
	if req.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(req.RawQuery)
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(f.host)
	bw.WriteString("\r\n")
	exclude := req.Exclude
	if exclude == nil {
		exclude = hopByHop
	}
	if tokens := req.Header.Values("Connection"); len(tokens) > 0 {
		exclude = connectionFields(exclude, tokens)
	}
	if err := req.Header.WriteSubset(bw, exclude); err != nil {
		return nil, err
	}
	if err := req.Extra.Write(bw); err != nil {
		return nil, err
	}
	if len(req.Body) > 0 || req.Method == http.MethodPost || req.Method == http.MethodPut || req.Method == http.MethodPatch {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(req.Body)))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(req.Body)
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	head := &http.Request{Method: req.Method}
	for {
		resp, err := http.ReadResponse(c.br, head)
		if err != nil {
			return nil, err
		}
		// RFC 9110 §15.2: interim answers (103 Early Hints) come before
		// the final one; a proxy may drop them.
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		for _, v := range resp.Header["Connection"] {
			for _, t := range splitTokens(v) {
				delete(resp.Header, http.CanonicalHeaderKey(t))
			}
		}
		for name := range hopByHop {
			if name != "Content-Length" {
				delete(resp.Header, name) // the names are canonical, as ReadResponse keys are
			}
		}
		return resp, nil
	}
}

// connectionFields is exclude plus the fields a Connection header names
// (RFC 9110 §7.6.1).
func connectionFields(exclude Fields, tokens []string) Fields {
	out := make(Fields, len(exclude)+len(tokens))
	for k := range exclude {
		out[k] = true
	}
	for _, v := range tokens {
		for _, t := range splitTokens(v) {
			out[http.CanonicalHeaderKey(t)] = true
		}
	}
	return out
}

func splitTokens(v string) []string {
	var out []string
	for _, t := range strings.Split(v, ",") {
		if t = textproto.TrimString(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// body gives its connection back to the pool once read to the end.
type body struct {
	io.ReadCloser
	f     *Forwarder
	c     *conn
	stop  func() bool
	reuse bool
	eof   bool
	done  bool
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *body) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	if !b.eof {
		// An answer left unread spends its connection. Closing it first
		// also keeps the body's Close from reading the rest, which for
		// an event stream would wait for the session's end.
		b.c.nc.Close()
	}
	err := b.ReadCloser.Close()
	// A request whose context ended has had its deadline pulled in: the
	// connection is spent.
	if b.stop() && b.eof && b.reuse && err == nil {
		b.f.put(b.c)
	} else {
		b.c.nc.Close()
	}
	return err
}

// get takes the freshest idle connection that is still open, or dials.
func (f *Forwarder) get(ctx context.Context) (*conn, error) {
	now := f.now()
	for {
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			return nil, errClosed
		}
		n := len(f.idle)
		if n == 0 {
			f.mu.Unlock()
			break
		}
		c := f.idle[n-1]
		f.idle[n-1] = nil
		f.idle = f.idle[:n-1]
		f.mu.Unlock()
		if now.Sub(c.idleFrom) < f.opts.IdleTimeout && alive(c.nc) {
			return c, nil
		}
		c.nc.Close() // the backend closed it, or it idled out
	}
	return f.dial(ctx)
}

func (f *Forwarder) dial(ctx context.Context) (*conn, error) {
	d := &net.Dialer{Timeout: f.opts.DialTimeout, KeepAlive: 30 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", f.address)
	if err != nil {
		return nil, err
	}
	if f.opts.TLS != nil {
		tc := tls.Client(nc, f.opts.TLS)
		hctx, cancel := context.WithTimeout(ctx, f.opts.DialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 4096), bw: bufio.NewWriterSize(nc, 4096)}, nil
}

// put pools c. A sweep closes connections that idle out while nothing
// asks for them: the backend closes its side after a while, and each
// half-closed one would hold a file descriptor here until used.
func (f *Forwarder) put(c *conn) {
	c.idleFrom = f.now()
	f.mu.Lock()
	// Bytes after the end of a response mean the two sides disagree
	// about where it ended: the connection cannot carry another.
	keep := !f.closed && len(f.idle) < f.opts.MaxIdle && c.br.Buffered() == 0
	if keep {
		f.idle = append(f.idle, c)
		if f.sweep == nil {
			f.sweep = time.AfterFunc(f.opts.IdleTimeout, f.prune)
		}
	}
	f.mu.Unlock()
	if !keep {
		c.nc.Close()
	}
}

// prune closes the connections idle past IdleTimeout (the oldest are
// first) and sweeps again when the next one will be.
func (f *Forwarder) prune() {
	now := f.now()
	var expired []*conn
	f.mu.Lock()
	for len(f.idle) > 0 && now.Sub(f.idle[0].idleFrom) >= f.opts.IdleTimeout {
		expired = append(expired, f.idle[0])
		f.idle[0] = nil
		f.idle = f.idle[1:]
	}
	if len(f.idle) > 0 && !f.closed {
		f.sweep.Reset(f.opts.IdleTimeout - now.Sub(f.idle[0].idleFrom))
	} else {
		f.sweep = nil
	}
	f.mu.Unlock()
	for _, c := range expired {
		c.nc.Close()
	}
}

// Idle is how many connections wait in the pool.
func (f *Forwarder) Idle() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.idle)
}

// Close closes the idle connections; those in use close when their
// responses end.
func (f *Forwarder) Close() {
	f.mu.Lock()
	idle := f.idle
	f.idle, f.closed = nil, true
	if f.sweep != nil {
		f.sweep.Stop()
		f.sweep = nil
	}
	f.mu.Unlock()
	for _, c := range idle {
		c.nc.Close()
	}
}
