package resource

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tmcp-dev/tmcp/internal/httpx"
)

type resourceMetrics struct {
	*httpx.Metrics
	validations *prometheus.CounterVec
}

func newResourceMetrics() *resourceMetrics {
	m := &resourceMetrics{Metrics: httpx.NewMetrics("resource")}
	m.validations = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tmcp_token_validations_total",
		Help: "Bearer token checks, by result."}, []string{"result"})
	m.Registry.MustRegister(m.validations)
	return m
}

// count records one token check: valid, invalid, or error (the auth
// server could not be asked).
func (m *resourceMetrics) count(p *Principal, err error) {
	switch {
	case err != nil:
		m.validations.WithLabelValues("error").Inc()
	case p == nil:
		m.validations.WithLabelValues("invalid").Inc()
	default:
		m.validations.WithLabelValues("valid").Inc()
	}
}
