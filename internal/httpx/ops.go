package httpx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
)

// Ops is what a server answers on its internal (ops) listener: metrics
// and status are for the operator's scraper and tools, not for the
// internet, so they live on an address of their own (loopback by
// default) and not on the public port. Health and readiness answer on
// both: probes may use either.
type Ops struct {
	Metrics http.Handler
	Status  http.HandlerFunc
	Healthz http.HandlerFunc
	Readyz  http.HandlerFunc
}

// Handler is the ops listener's routing table.
func (o Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", o.Metrics)
	mux.HandleFunc("GET /status", o.Status)
	mux.HandleFunc("GET /healthz", o.Healthz)
	mux.HandleFunc("GET /readyz", o.Readyz)
	return mux
}

// OpsListener opens the ops listener at addr; "" is none.
func OpsListener(ln net.Listener, addr string) (net.Listener, error) {
	if ln != nil || addr == "" {
		return ln, nil
	}
	ln, err := Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOpsListener, err)
	}
	return ln, nil
}

// ErrOpsListener marks a failure to open the ops listener, which the
// command line names by its own setting, not the server's port.
var ErrOpsListener = errors.New("ops listener")

// ServeOps serves h on ln until ctx ends (nothing when ln is nil). It is
// plain HTTP: the listener is meant for loopback or a private network.
func ServeOps(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if ln == nil {
		return nil
	}
	return Serve(ctx, NewServer(h, log, Options{}), ln, "", "")
}

// OpsURL is the base URL of the ops listener ln, or "" when there is none.
func OpsURL(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ListenerURL(ln, false)
}
