package testkit

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Interposer stands between tmcp and a real server (the sandbox
// TaskManager, an auth server) and passes every request on, except on
// paths where a test has put a handler of its own: a fault, a refusal, a
// recorder that then calls Pass.
type Interposer struct {
	URL string

	mu       sync.Mutex
	target   *url.URL
	handlers map[string]http.HandlerFunc
	observe  func(*http.Request)
}

// Interpose starts an Interposer; SetTarget names where requests go.
func Interpose(t testing.TB) *Interposer {
	p := &Interposer{handlers: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// SetTarget is the server requests pass on to.
func (p *Interposer) SetTarget(rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	p.target = u
	p.mu.Unlock()
}

// Handle answers requests for path with h from now on; nil passes them on
// again.
func (p *Interposer) Handle(path string, h http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if h == nil {
		delete(p.handlers, path)
		return
	}
	p.handlers[path] = h
}

// Observe has see called with every request before it is answered.
func (p *Interposer) Observe(see func(*http.Request)) {
	p.mu.Lock()
	p.observe = see
	p.mu.Unlock()
}

// Pass sends r on to the target.
func (p *Interposer) Pass(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	if target == nil {
		http.Error(w, "interposer has no target yet", http.StatusServiceUnavailable)
		return
	}
	httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
}

func (p *Interposer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	h, see := p.handlers[r.URL.Path], p.observe
	p.mu.Unlock()
	if see != nil {
		see(r)
	}
	if h != nil {
		h(w, r)
		return
	}
	p.Pass(w, r)
}
