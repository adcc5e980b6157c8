package postgres_test

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/pgtest"
)

// BenchmarkPostgresLargeTransaction applies one source transaction of
// STEPPING_BIGTX rows (default 200,000; the closing note's figure is
// 1,000,000) inserted, then all updated, through a keyed output and a
// group, and reports the runner's peak heap beside the same program's
// over a transaction of one chunk (the batch size, 10,000 rows): a step
// is applied a chunk at a time, so the two should be alike.
func BenchmarkPostgresLargeTransaction(b *testing.B) {
	rows := 200_000
	if s := os.Getenv("STEPPING_BIGTX"); s != "" {
		var err error
		if rows, err = strconv.Atoi(s); err != nil {
			b.Fatalf("STEPPING_BIGTX: %v", err)
		}
	}
	for range b.N {
		small := peakHeapOfTransaction(b, 10_000)
		large := peakHeapOfTransaction(b, rows)
		b.ReportMetric(float64(small)/(1<<20), "heap-MB-10k")
		b.ReportMetric(float64(large)/(1<<20), fmt.Sprintf("heap-MB-%dk", rows/1000))
		b.ReportMetric(float64(large)/float64(small), "ratio")
	}
}

// peakHeapOfTransaction returns the peak heap in use while a runner with
// batch size 10,000 applies an insert of rows rows and then an update of
// them all, each one transaction.
func peakHeapOfTransaction(b *testing.B, rows int) uint64 {
	pool, schema := pgtest.Schema(b)
	ctx := context.Background()
	for _, sql := range []string{
		"CREATE TABLE t (id int8 PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, x int4 NOT NULL, g int4 NOT NULL)",
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	pg := newPG(b, pool, schema, `source t = table t
view v = t | select { id, x }
view g = t | group by g { n = count(), total = sum(x) }
output v to table out_v primary key (id)
output g to table out_g primary key (g)
`)
	pg.BatchSize, pg.OmitChanges = 10_000, true
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		b.Fatal(err)
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	goruntime.GC()
	go func() {
		defer close(sampled)
		var m goruntime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			goruntime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	for _, sql := range []string{
		fmt.Sprintf("INSERT INTO t SELECT i, 1, i %% 100 FROM generate_series(1, %d) i", rows),
		"UPDATE t SET x = x + 1",
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
		if _, err := pg.ApplyPending(ctx, nil); err != nil {
			b.Fatal(err)
		}
	}
	close(stop)
	<-sampled
	return peak.Load()
}
