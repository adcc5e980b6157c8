package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds a server's metrics and the registry that serves them.
// Its methods are safe for concurrent use, and do nothing on a nil
// *Metrics, so that a server may run without metrics.
type Metrics struct {
	reg *prometheus.Registry

	steps        prometheus.Counter
	step         prometheus.Gauge
	stepDuration prometheus.Histogram
	rowsIn       *prometheus.CounterVec
	rowsOut      *prometheus.CounterVec
	pending      prometheus.Gauge
	lag          prometheus.Gauge
	requests     *prometheus.CounterVec
	reqDuration  *prometheus.HistogramVec
	watermark    *prometheus.GaugeVec
	late         *prometheus.GaugeVec
}

// stepBuckets span a step's duration from a small step in memory
// (100µs) to a backfill on Postgres (tens of seconds), at bounds that
// read well on a dashboard.
func stepBuckets() []float64 {
	return []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
}

// New returns metrics registered on a registry of their own, with the Go
// runtime's and the process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		steps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "stepping_steps_total",
			Help: "Steps applied.",
		}),
		step: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stepping_step",
			Help: "The last step applied.",
		}),
		stepDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "stepping_step_duration_seconds",
			Help:    "How long each step took to apply.",
			Buckets: stepBuckets(),
		}),
		rowsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepping_rows_in_total",
			Help: "Rows changed in each input table by the steps applied.",
		}, []string{"table"}),
		rowsOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepping_rows_out_total",
			Help: "Rows changed in each output view by the steps applied.",
		}, []string{"view"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stepping_pending_changes",
			Help: "Changes accepted and not yet applied.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stepping_lag_seconds",
			Help: "Age of the oldest change not yet published; 0 when every change is.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stepping_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		reqDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stepping_http_request_duration_seconds",
			Help:    "How long HTTP requests took to answer, by route pattern and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		watermark: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stepping_watermark_timestamp_seconds",
			Help: "Each source's watermark, as a Unix time: changes to rows before it are dropped.",
		}, []string{"table"}),
		late: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stepping_late_changes",
			Help: "Changes each source dropped, in all, for coming after its watermark had passed them.",
		}, []string{"table"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.steps, m.step, m.stepDuration, m.rowsIn, m.rowsOut,
		m.pending, m.lag, m.requests, m.reqDuration, m.watermark, m.late,
	)
	return m
}

// Handler serves the metrics in the Prometheus exposition formats. On a
// nil *Metrics it answers 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		// A collector that fails (the process collector on a system
		// without /proc) costs its own metrics, not the scrape.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.reg, // counts the handler's own errors
	})
}

// ObserveStep records a step applied: its number, how long it took, and
// the rows it changed in each input table and each output view. A table
// or view with 0 rows still gets its series, so that a scrape lists
// every one; negative counts are ignored.
func (m *Metrics) ObserveStep(step int64, took time.Duration, rowsIn map[string]int, rowsOut map[string]int) {
	if m == nil {
		return
	}
	m.steps.Inc()
	m.step.Set(float64(step))
	m.stepDuration.Observe(took.Seconds())
	for table, n := range rowsIn {
		if n >= 0 {
			m.rowsIn.WithLabelValues(table).Add(float64(n))
		}
	}
	for view, n := range rowsOut {
		if n >= 0 {
			m.rowsOut.WithLabelValues(view).Add(float64(n))
		}
	}
}

// SetWatermark records a source's watermark (at, when set: a source
// with none yet has no watermark series) and the late changes it has
// dropped in all.
func (m *Metrics) SetWatermark(table string, at time.Time, set bool, late int64) {
	if m == nil {
		return
	}
	if set {
		m.watermark.WithLabelValues(table).Set(float64(at.UnixMicro()) / 1e6)
	}
	m.late.WithLabelValues(table).Set(float64(late))
}

// SetPending records the number of changes accepted and not yet applied.
func (m *Metrics) SetPending(n int64) {
	if m == nil {
		return
	}
	m.pending.Set(float64(n))
}

// SetLag records the age of the oldest change not yet published: the
// time between the most recent change accepted and the most recent one
// published, 0 when all are.
func (m *Metrics) SetLag(d time.Duration) {
	if m == nil {
		return
	}
	m.lag.Set(d.Seconds())
}

// ObserveRequest records an HTTP request answered. route is the pattern
// the request matched (/api/views/{view}), not its path, and method and
// code are folded into fixed sets, so that the series stay bounded
// whatever clients send.
func (m *Metrics) ObserveRequest(route string, method string, code int, took time.Duration) {
	if m == nil {
		return
	}
	method = methodLabel(method)
	m.requests.WithLabelValues(route, method, codeLabel(code)).Inc()
	m.reqDuration.WithLabelValues(route, method).Observe(took.Seconds())
}

// methodLabel returns method when it is a standard HTTP method and
// "other" when not: the method is the client's to choose.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "other"
}

// codeLabel returns code in decimal when it is a valid HTTP status and
// "other" when not.
func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code)
}
