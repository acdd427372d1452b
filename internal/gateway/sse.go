package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/sse"
)

// Transports of a backend reached over HTTP.
const (
	TransportAuto       = "auto"
	TransportStreamable = "streamable_http"
	TransportSSE        = "sse"
)

// TransportOf resolves "auto": a URL whose path ends in /sse is a legacy
// SSE server, anything else Streamable HTTP.
func TransportOf(transport, backend string) string {
	if transport != "" && transport != TransportAuto {
		return transport
	}
	if u, err := url.Parse(backend); err == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/sse") {
		return TransportSSE
	}
	return TransportStreamable
}

// NewSSE puts the gateway in front of a legacy SSE MCP server (the
// 2024-11-05 HTTP+SSE transport): for each MCP session, a GET of its
// event stream, whose first event ("endpoint") names where messages are
// posted; responses and the server's other messages come back as
// "message" events. The stream and every post carry the user's identity
// headers, as the HTTP gateway sends them.
func NewSSE(backendURL string, opts Options) (Backend, error) {
	backend, err := ParseURL(backendURL)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = (&net.Dialer{Timeout: min(opts.Timeout, 5*time.Second)}).DialContext
	transport.ResponseHeaderTimeout = opts.Timeout
	transport.MaxIdleConnsPerHost = 256
	hc := &http.Client{Transport: transport} // no overall timeout: the stream lasts the session
	ready := func(ctx context.Context) error { return dialable(ctx, backend) }
	return newSessionBridge(opts, "SSE connection", backend.Redacted(), ready, func(r *http.Request, pr Caller, sess *bridgedSession, extra Identity) (backendConn, error) {
		ctx, cancel := context.WithCancel(context.Background()) // the stream outlives the request that opened it
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, backend.String(), nil)
		if err != nil {
			cancel()
			return nil, err
		}
		// ...but opening it does not: a client that leaves ends it.
		stopWaiting := context.AfterFunc(r.Context(), cancel)
		defer stopWaiting()
		req.Header.Set("Accept", "text/event-stream")
		setIdentity(req.Header, pr, extra)
		resp, err := hc.Do(req)
		if err != nil {
			cancel()
			return nil, err
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			resp.Body.Close()
			cancel()
			return nil, fmt.Errorf("%s answered %d %s, not an event stream", backend.Redacted(), resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := sse.NewReader(resp.Body, opts.maxMessage())
		endpoint, err := firstEndpoint(events, backend, opts.Timeout, cancel)
		if !stopWaiting() && err == nil {
			err = r.Context().Err()
		}
		if err != nil {
			resp.Body.Close()
			cancel()
			return nil, err
		}
		log := opts.Log.With("mcp_session", sess.id)
		go func() {
			defer resp.Body.Close()
			for {
				e, err := events.Next()
				if err != nil {
					log.Info("MCP server's event stream ended", "err", err)
					sess.finish()
					return
				}
				if !e.IsComment && (e.Name == "" || e.Name == "message") {
					sess.route(e.Data)
				}
			}
		}()
		return &sseConn{hc: hc, endpoint: endpoint, caller: pr, extra: extra, cancel: cancel}, nil
	}), nil
}

// firstEndpoint waits for the stream's "endpoint" event and resolves it
// against the backend: it must stay on the backend's origin, since every
// post carries who the user is.
func firstEndpoint(events *sse.Reader, backend *url.URL, timeout time.Duration, cancel context.CancelFunc) (*url.URL, error) {
	timer := time.AfterFunc(timeout, cancel)
	defer timer.Stop()
	for {
		e, err := events.Next()
		if err != nil {
			return nil, fmt.Errorf("the event stream ended before naming its endpoint: %w", err)
		}
		if e.Name != "endpoint" {
			continue
		}
		data := string(e.Data)
		u, err := backend.Parse(strings.TrimSpace(data))
		if err != nil {
			return nil, fmt.Errorf("the endpoint event %q is not a URL", data)
		}
		if u.Scheme != backend.Scheme || u.Host != backend.Host {
			return nil, fmt.Errorf("the endpoint event names %s, off the server's origin", u.Redacted())
		}
		return u, nil
	}
}

// sseConn posts a session's messages to the endpoint its stream named.
type sseConn struct {
	hc       *http.Client
	endpoint *url.URL
	caller   Caller
	extra    Identity
	cancel   context.CancelFunc
}

func (c *sseConn) send(ctx context.Context, msg []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint.String(), bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	setIdentity(req.Header, senderOf(ctx, c.caller), c.extra)
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // the answer comes on the stream
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the MCP server answered %d to a message", resp.StatusCode)
	}
	return nil
}

func (c *sseConn) close() { c.cancel() }
func (c *sseConn) kill()  { c.cancel() }
