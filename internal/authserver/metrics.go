package authserver

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// metrics are the auth server's own counters, beside the request metrics.
type metrics struct {
	*httpx.Metrics
	issued      *prometheus.CounterVec
	revocations *prometheus.CounterVec
	failures    *prometheus.CounterVec
	upstream    *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{Metrics: httpx.NewMetrics("auth")}
	m.issued = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tmcp_tokens_issued_total",
		Help: "Token responses issued, by grant type."}, []string{"grant"})
	m.revocations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tmcp_revocations_total",
		Help: "Revocations, by cause."}, []string{"cause"})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tmcp_oauth_errors_total",
		Help: "OAuth error responses, by error code."}, []string{"error"})
	m.upstream = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tmcp_upstream_request_duration_seconds",
		Help: "Latency of calls to TaskManager, by operation.", Buckets: prometheus.DefBuckets}, []string{"op"})
	m.Registry.MustRegister(m.issued, m.revocations, m.failures, m.upstream)
	return m
}

// writeError writes an OAuth error response and counts it.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, e *oauth.Error) {
	s.metrics.failures.WithLabelValues(e.Code).Inc()
	oauth.WriteJSON(w, r, e)
}

// timeUpstream records how long a TaskManager call took.
func (s *Server) timeUpstream(op string, start time.Time) {
	s.metrics.upstream.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// audit logs a security event on its own logger (see Config.Audit), so
// it can be kept apart from request logs.
func (s *Server) audit(ctx context.Context, event string, attrs ...any) {
	s.cfg.Audit.InfoContext(ctx, event, append([]any{"audit", true}, attrs...)...)
}
