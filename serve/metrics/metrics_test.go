package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serve starts an HTTP server on m's handler and returns its URL.
func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestScrape applies calls to a new Metrics and checks, by scraping its
// handler, the counters and gauges they leave.
func TestScrape(t *testing.T) {
	tests := []struct {
		name  string
		calls func(m *Metrics)
		names []string
		want  string
	}{
		{
			name:  "before any step",
			calls: func(*Metrics) {},
			names: []string{"stepping_steps_total", "stepping_step", "stepping_pending_changes", "stepping_lag_seconds", "stepping_rows_in_total", "stepping_http_requests_total"},
			want: `
# HELP stepping_lag_seconds Age of the oldest change not yet published; 0 when every change is.
# TYPE stepping_lag_seconds gauge
stepping_lag_seconds 0
# HELP stepping_pending_changes Changes accepted and not yet applied.
# TYPE stepping_pending_changes gauge
stepping_pending_changes 0
# HELP stepping_step The last step applied.
# TYPE stepping_step gauge
stepping_step 0
# HELP stepping_steps_total Steps applied.
# TYPE stepping_steps_total counter
stepping_steps_total 0
`,
		},
		{
			name: "steps",
			calls: func(m *Metrics) {
				m.ObserveStep(12, time.Millisecond, map[string]int{"line_items": 3, "products": 1}, map[string]int{"basket_totals": 2, "receipts": 2})
				m.ObserveStep(13, time.Millisecond, map[string]int{"products": 1}, map[string]int{"basket_totals": 4, "receipts": 0})
				m.ObserveStep(14, time.Millisecond, map[string]int{"line_items": -1}, nil)
			},
			names: []string{"stepping_steps_total", "stepping_step", "stepping_rows_in_total", "stepping_rows_out_total"},
			want: `
# HELP stepping_rows_in_total Rows changed in each input table by the steps applied.
# TYPE stepping_rows_in_total counter
stepping_rows_in_total{table="line_items"} 3
stepping_rows_in_total{table="products"} 2
# HELP stepping_rows_out_total Rows changed in each output view by the steps applied.
# TYPE stepping_rows_out_total counter
stepping_rows_out_total{view="basket_totals"} 6
stepping_rows_out_total{view="receipts"} 2
# HELP stepping_step The last step applied.
# TYPE stepping_step gauge
stepping_step 14
# HELP stepping_steps_total Steps applied.
# TYPE stepping_steps_total counter
stepping_steps_total 3
`,
		},
		{
			name: "watermarks",
			calls: func(m *Metrics) {
				m.SetWatermark("bids", time.Unix(1_700_000_000, 500_000_000), true, 3)
				m.SetWatermark("clicks", time.Time{}, false, 0)
			},
			names: []string{"stepping_watermark_timestamp_seconds", "stepping_late_changes"},
			want: `
# HELP stepping_late_changes Changes each source dropped, in all, for coming after its watermark had passed them.
# TYPE stepping_late_changes gauge
stepping_late_changes{table="bids"} 3
stepping_late_changes{table="clicks"} 0
# HELP stepping_watermark_timestamp_seconds Each source's watermark, as a Unix time: changes to rows before it are dropped.
# TYPE stepping_watermark_timestamp_seconds gauge
stepping_watermark_timestamp_seconds{table="bids"} 1.7000000005e+09
`,
		},
		{
			name: "a view no step changed is listed",
			calls: func(m *Metrics) {
				m.ObserveStep(1, time.Millisecond, map[string]int{"products": 0}, map[string]int{"receipts": 0})
			},
			names: []string{"stepping_rows_in_total", "stepping_rows_out_total"},
			want: `
# HELP stepping_rows_in_total Rows changed in each input table by the steps applied.
# TYPE stepping_rows_in_total counter
stepping_rows_in_total{table="products"} 0
# HELP stepping_rows_out_total Rows changed in each output view by the steps applied.
# TYPE stepping_rows_out_total counter
stepping_rows_out_total{view="receipts"} 0
`,
		},
		{
			name: "pending and lag, the last value set",
			calls: func(m *Metrics) {
				m.SetPending(40)
				m.SetLag(3 * time.Second)
				m.SetPending(7)
				m.SetLag(1500 * time.Millisecond)
			},
			names: []string{"stepping_pending_changes", "stepping_lag_seconds"},
			want: `
# HELP stepping_lag_seconds Age of the oldest change not yet published; 0 when every change is.
# TYPE stepping_lag_seconds gauge
stepping_lag_seconds 1.5
# HELP stepping_pending_changes Changes accepted and not yet applied.
# TYPE stepping_pending_changes gauge
stepping_pending_changes 7
`,
		},
		{
			name: "requests, methods and codes folded",
			calls: func(m *Metrics) {
				m.ObserveRequest("/api/views/{view}", "GET", 200, time.Millisecond)
				m.ObserveRequest("/api/views/{view}", "GET", 200, time.Millisecond)
				m.ObserveRequest("/api/tables/{table}", "POST", 201, time.Millisecond)
				m.ObserveRequest("/api/tables/{table}", "POST", 409, time.Millisecond)
				m.ObserveRequest("/api/tables/{table}", "BREW", 405, time.Millisecond)
				m.ObserveRequest("/api/tables/{table}", "get", 1000, time.Millisecond)
			},
			names: []string{"stepping_http_requests_total"},
			want: `
# HELP stepping_http_requests_total HTTP requests answered, by route pattern, method and status code.
# TYPE stepping_http_requests_total counter
stepping_http_requests_total{code="200",method="GET",route="/api/views/{view}"} 2
stepping_http_requests_total{code="201",method="POST",route="/api/tables/{table}"} 1
stepping_http_requests_total{code="409",method="POST",route="/api/tables/{table}"} 1
stepping_http_requests_total{code="405",method="other",route="/api/tables/{table}"} 1
stepping_http_requests_total{code="other",method="other",route="/api/tables/{table}"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			tt.calls(m)
			if err := testutil.ScrapeAndCompare(serve(t, m), strings.NewReader(tt.want), tt.names...); err != nil {
				t.Error(err)
			}
		})
	}
}

// scrape GETs url and parses the metrics it serves.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// histogram returns the histogram of family name whose labels are
// exactly labels.
func histogram(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s in the scrape", name)
	}
	if f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("%s is a %v, want a histogram", name, f.GetType())
	}
next:
	for _, m := range f.GetMetric() {
		if len(m.GetLabel()) != len(labels) {
			continue
		}
		for _, l := range m.GetLabel() {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return m.GetHistogram()
	}
	t.Fatalf("no %s with labels %v in the scrape", name, labels)
	return nil
}

// TestHistograms checks the step and request duration histograms by
// scraping the handler: counts, sums, and the buckets observations fall
// in.
func TestHistograms(t *testing.T) {
	type bucket struct {
		le    float64
		count uint64
	}
	tests := []struct {
		name    string
		calls   func(m *Metrics)
		metric  string
		labels  map[string]string
		count   uint64
		sum     float64
		buckets []bucket
	}{
		{
			name: "step durations",
			calls: func(m *Metrics) {
				m.ObserveStep(1, 250*time.Microsecond, nil, nil)
				m.ObserveStep(2, 500*time.Millisecond, nil, nil)
				m.ObserveStep(3, 2*time.Second, nil, nil)
			},
			metric:  "stepping_step_duration_seconds",
			labels:  map[string]string{},
			count:   3,
			sum:     2.50025,
			buckets: []bucket{{.0001, 0}, {.00025, 1}, {.25, 1}, {.5, 2}, {2.5, 3}, {30, 3}},
		},
		{
			name: "request durations by route and method",
			calls: func(m *Metrics) {
				m.ObserveRequest("/api/views/{view}", "GET", 200, 4*time.Millisecond)
				m.ObserveRequest("/api/views/{view}", "GET", 404, 75*time.Millisecond)
				m.ObserveRequest("/api/views/{view}", "HEAD", 200, time.Second)
			},
			metric:  "stepping_http_request_duration_seconds",
			labels:  map[string]string{"route": "/api/views/{view}", "method": "GET"},
			count:   2,
			sum:     0.079,
			buckets: []bucket{{.005, 1}, {.05, 1}, {.1, 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New()
			tt.calls(m)
			h := histogram(t, scrape(t, serve(t, m)), tt.metric, tt.labels)
			if h.GetSampleCount() != tt.count {
				t.Errorf("count %d, want %d", h.GetSampleCount(), tt.count)
			}
			if d := h.GetSampleSum() - tt.sum; d > 1e-9 || d < -1e-9 {
				t.Errorf("sum %v, want %v", h.GetSampleSum(), tt.sum)
			}
			got := map[float64]uint64{}
			for _, b := range h.GetBucket() {
				got[b.GetUpperBound()] = b.GetCumulativeCount()
			}
			for _, b := range tt.buckets {
				if n, ok := got[b.le]; !ok || n != b.count {
					t.Errorf("bucket le=%v: %d (present %v), want %d", b.le, n, ok, b.count)
				}
			}
		})
	}
}

// TestRuntimeCollectors checks that the Go runtime's and the process's
// metrics are served beside stepping's.
func TestRuntimeCollectors(t *testing.T) {
	families := scrape(t, serve(t, New()))
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := families[name]; !ok {
			t.Errorf("no %s in the scrape", name)
		}
	}
}

// TestSeparateRegistries checks that two Metrics count apart: nothing is
// registered globally.
func TestSeparateRegistries(t *testing.T) {
	a, b := New(), New()
	a.ObserveStep(5, time.Millisecond, nil, nil)
	if got := testutil.ToFloat64(a.steps); got != 1 {
		t.Errorf("a's steps %v, want 1", got)
	}
	if got := testutil.ToFloat64(b.steps); got != 0 {
		t.Errorf("b's steps %v, want 0", got)
	}
}

// TestNil checks that a nil *Metrics takes every call and serves 404.
func TestNil(t *testing.T) {
	var m *Metrics
	m.ObserveStep(1, time.Second, map[string]int{"t": 1}, map[string]int{"v": 1})
	m.SetPending(1)
	m.SetLag(time.Second)
	m.SetWatermark("t", time.Now(), true, 1)
	m.ObserveRequest("/", "GET", 200, time.Second)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil metrics' handler answered %d, want 404", rec.Code)
	}
}
