// Package httpx holds the HTTP plumbing every tmcp server shares: a
// hardened http.Server, graceful shutdown, request logging with request
// ids, panic recovery and body limits.
package httpx

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options tune NewServer; zero values take the defaults.
type Options struct {
	// WriteTimeout bounds a whole response. Streaming servers (MCP over
	// SSE) set it to a negative value to disable it.
	WriteTimeout time.Duration
}

// NewServer returns an http.Server with timeouts that keep slow clients
// (slowloris) from holding connections.
func NewServer(h http.Handler, log *slog.Logger, opts Options) *http.Server {
	wt := opts.WriteTimeout
	switch {
	case wt == 0:
		wt = 60 * time.Second
	case wt < 0:
		wt = 0
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      wt,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Listen opens a TCP listener with a message that names the address.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ln, nil
}

// Serve runs srv on ln until ctx ends, then shuts it down gracefully,
// giving in-flight requests up to 10 seconds. A shutdown that runs out
// of time names the requests that held it.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, certFile, keyFile string) error {
	// Requests run under a context that shutdown cancels once in-flight
	// requests had their grace: long-lived streams (SSE, MCP's GET stream)
	// then end at once instead of holding the process.
	base, endStreams := context.WithCancelCause(context.Background())
	defer endStreams(nil)
	srv.BaseContext = func(net.Listener) context.Context { return base }
	if certFile != "" {
		srv.Handler = hsts(srv.Handler)
	}
	running := &inFlight{}
	srv.Handler = running.track(srv.Handler)
	if certFile != "" {
		logf := func(string, ...any) {}
		if srv.ErrorLog != nil {
			logf = srv.ErrorLog.Printf
		}
		certs, err := newCertReloader(certFile, keyFile, logf)
		if err != nil {
			return err
		}
		srv.TLSConfig = &tls.Config{GetCertificate: certs.getCertificate, MinVersion: tls.VersionTLS12}
	}
	errc := make(chan error, 1)
	go func() {
		var err error
		if certFile != "" {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	grace := time.AfterFunc(streamGrace, func() { endStreams(ErrShutdown) })
	defer grace.Stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		held := running.describe(time.Now())
		srv.Close()
		return fmt.Errorf("shutdown: %w (still running: %s)", err, held)
	}
	<-errc
	return nil
}

// ErrShutdown is the cause (context.Cause) of a request's context that
// the server's shutdown ended, where a client that left ends it with
// context.Canceled: a handler that outlives the grace on purpose tells
// the two apart.
var ErrShutdown = errors.New("the server is shutting down")

// streamGrace is how long shutdown lets requests finish before it ends
// the streams still open; shutdownTimeout, how long it waits in all.
var (
	streamGrace     = time.Second
	shutdownTimeout = 10 * time.Second
)

// inFlight is the requests a server is running, with when each began.
type inFlight struct{ started sync.Map } // *http.Request → time.Time

func (f *inFlight) track(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.started.Store(r, time.Now())
		defer f.started.Delete(r)
		next.ServeHTTP(w, r)
	})
}

// describe names the longest-running requests, as "POST /mcp (12s)".
func (f *inFlight) describe(now time.Time) string {
	type running struct {
		what string
		age  time.Duration
	}
	var all []running
	f.started.Range(func(k, v any) bool {
		r := k.(*http.Request)
		all = append(all, running{r.Method + " " + r.URL.Path, now.Sub(v.(time.Time))})
		return true
	})
	if len(all) == 0 {
		return "no request; a connection was still reading one"
	}
	slices.SortFunc(all, func(a, b running) int { return cmp.Compare(b.age, a.age) })
	names := make([]string, 0, 5)
	for _, r := range all[:min(5, len(all))] {
		names = append(names, fmt.Sprintf("%s (%s)", r.what, r.age.Round(time.Second)))
	}
	if len(all) > 5 {
		names = append(names, fmt.Sprintf("and %d more", len(all)-5))
	}
	return strings.Join(names, ", ")
}

// ListenerURL is the http(s) base URL of ln, naming loopback and wildcard
// listeners "localhost".
func ListenerURL(ln net.Listener, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	addr := ln.Addr().(*net.TCPAddr)
	host := "localhost"
	if !addr.IP.IsUnspecified() && !addr.IP.IsLoopback() {
		host = addr.IP.String()
	}
	return fmt.Sprintf("%s://%s", scheme, net.JoinHostPort(host, fmt.Sprint(addr.Port)))
}

// Every runs fn every d until ctx ends: the servers' sweeps of expired
// rows.
func Every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// hsts tells browsers to use HTTPS only for this host from now on (RFC
// 6797): sent on every answer of a server that serves TLS.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}
