// Package metrics is a stand-in, which the real package serve/metrics
// replaces: it records what a server does for Prometheus. This one
// counts nothing and serves an empty page.
package metrics

import (
	"net/http"
	"time"
)

// Metrics holds a server's metrics.
type Metrics struct{}

// New returns metrics with their own registry.
func New() *Metrics { return &Metrics{} }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	})
}

// ObserveStep records one applied step: how long it took, rows in per
// table and out per view.
func (m *Metrics) ObserveStep(step int64, took time.Duration, rowsIn map[string]int, rowsOut map[string]int) {
}

// SetPending sets how many changes are accepted and not yet applied.
func (m *Metrics) SetPending(n int64) {}

// SetLag sets the age of the oldest change not yet published.
func (m *Metrics) SetLag(d time.Duration) {}

// ObserveRequest records one request.
func (m *Metrics) ObserveRequest(route string, method string, code int, took time.Duration) {
}
