package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/shopbench"
	"github.com/stepping-io/stepping/serve"
)

// benchSize reads a size from the environment, or gives the default:
// STEPPING_SERVE_BENCH_ITEMS line items (the figure is
// 1,000,000) and STEPPING_SERVE_BENCH_SUBS change-stream subscribers
// (1,000), small by default so that a plain benchmark run stays short.
func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// workload is the shop's generated data at the benchmark's size.
func workload() *shopbench.Data {
	items := benchSize("STEPPING_SERVE_BENCH_ITEMS", 20_000)
	return shopbench.Workload{Products: max(items/100, 10), LineItems: items, Baskets: max(items/10, 1), Seed: 1}.Generate()
}

// client is an HTTP client that keeps enough connections open for the
// parallel benchmarks, on loopback.
var client = &http.Client{Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048}}

// BenchmarkServe serves the shop loaded with generated data, in memory
// and on Postgres, over loopback HTTP: lookups of basket_totals by
// basket_id (per second and p99; on Postgres beside a plain SELECT of
// the output table over pgx in the same run), POST writes per second,
// and the delivery latency of a change to many concurrent change-stream
// subscribers (median and p99). The Postgres half needs a server (see
// internal/pgtest) and is skipped without one.
func BenchmarkServe(b *testing.B) {
	d := workload()
	b.Run("memory", func(b *testing.B) {
		prog, err := stepping.Compile("shop.step", shopSource(b))
		if err != nil {
			b.Fatal(err)
		}
		eng := prog.OpenMemory()
		ctx := context.Background()
		for _, p := range d.Products {
			if err := eng.Insert(ctx, "products", stepping.Row{p.Name, p.Price}); err != nil {
				b.Fatal(err)
			}
		}
		for _, l := range d.LineItems {
			if err := eng.Insert(ctx, "line_items", stepping.Row{l.Basket, l.Product, l.Qty}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := eng.Step(ctx); err != nil {
			b.Fatal(err)
		}
		s := startOn(b, prog, eng, serve.Options{})
		benchServer(b, s, d, nil)
	})
	b.Run("postgres", func(b *testing.B) {
		pool, schema := pgtest.Schema(b)
		ctx := context.Background()
		if _, err := pool.Exec(ctx, `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name))`); err != nil {
			b.Fatal(err)
		}
		var prows, lrows [][]any
		for _, p := range d.Products {
			prows = append(prows, []any{p.Name, p.Price})
		}
		for _, l := range d.LineItems {
			lrows = append(lrows, []any{l.Basket, l.Product, l.Qty})
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"products"}, []string{"name", "price"}, pgx.CopyFromRows(prows)); err != nil {
			b.Fatal(err)
		}
		if _, err := pool.CopyFrom(ctx, pgx.Identifier{"line_items"}, []string{"basket_id", "product_name", "qty"}, pgx.CopyFromRows(lrows)); err != nil {
			b.Fatal(err)
		}
		prog, err := stepping.CompileDB(ctx, "shop.step", shopSource(b), pool)
		if err != nil {
			b.Fatal(err)
		}
		progSchema := schema + "_bench"
		b.Cleanup(func() {
			_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{progSchema}.Sanitize()+" CASCADE")
		})
		// The server's own pool, as stepq serve sizes it.
		cfg, err := pgxpool.ParseConfig(pgtest.DSNWithSchema(schema))
		if err != nil {
			b.Fatal(err)
		}
		cfg.MaxConns = 32
		spool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(spool.Close)
		eng, err := prog.OpenPostgres(ctx, spool, stepping.PostgresOptions{Schema: progSchema})
		if err != nil {
			b.Fatal(err)
		}
		s := startOn(b, prog, eng, serve.Options{}) // applies the backfill
		benchServer(b, s, d, pool)
	})
}

// benchServer runs the measurements against a loaded server; with a
// pool, the plain-SQL baseline too.
func benchServer(b *testing.B, s *server, d *shopbench.Data, pool *pgxpool.Pool) {
	baskets := int64(d.LineItems[len(d.LineItems)-1].Basket + 1)
	b.Run("lookup", func(b *testing.B) {
		lat := parallel(b, func(i int64) error {
			resp, err := client.Get(fmt.Sprintf("%s/api/views/basket_totals?basket_id=%d", s.URL, i%baskets))
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return err
		})
		report(b, "lookups/s", lat)
	})
	if pool != nil {
		b.Run("lookup-pgx", func(b *testing.B) {
			lat := parallel(b, func(i int64) error {
				rows, err := pool.Query(context.Background(), "SELECT basket_id, total::text, items FROM basket_totals WHERE basket_id = $1", i%baskets)
				if err != nil {
					return err
				}
				for rows.Next() {
					var id, items int64
					var total string
					if err := rows.Scan(&id, &total, &items); err != nil {
						return err
					}
				}
				return rows.Err()
			})
			report(b, "lookups/s", lat)
		})
	}
	next := atomic.Int64{}
	next.Store(baskets + 1)
	product := d.Products[0].Name
	b.Run("post", func(b *testing.B) {
		lat := parallel(b, func(int64) error {
			return post(s, next.Add(1), product)
		})
		report(b, "writes/s", lat)
	})
	b.Run("stream", func(b *testing.B) {
		subs := benchSize("STEPPING_SERVE_BENCH_SUBS", 200)
		var lat []time.Duration
		var mu sync.Mutex
		var wg sync.WaitGroup
		type delivery struct {
			step int64
			at   time.Time
		}
		got := make(chan delivery, subs*4)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		ready := make(chan struct{}, subs)
		for range subs {
			req, err := http.NewRequestWithContext(ctx, "GET", s.URL+"/api/views/basket_totals/changes?mode=follow", nil)
			if err != nil {
				b.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer resp.Body.Close()
				ready <- struct{}{}
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
						n, _ := strconv.ParseInt(id, 10, 64)
						got <- delivery{n, time.Now()}
					}
				}
			}()
		}
		for range subs {
			<-ready
		}
		for b.Loop() {
			basket := next.Add(1)
			sent := time.Now()
			if err := post(s, basket, product); err != nil {
				b.Fatal(err)
			}
			for range subs {
				d := <-got
				mu.Lock()
				lat = append(lat, d.at.Sub(sent))
				mu.Unlock()
			}
		}
		cancel()
		wg.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(subs), "subscribers")
		b.ReportMetric(ms(lat[len(lat)/2]), "median_ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
	})
}

// post inserts one line item of a new basket through the API.
func post(s *server, basket int64, product string) error {
	resp, err := client.Post(s.URL+"/api/tables/line_items", "application/json",
		strings.NewReader(fmt.Sprintf(`{"basket_id": %d, "product_name": %q, "qty": 1}`, basket, product)))
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		return fmt.Errorf("POST: status %d", resp.StatusCode)
	}
	return nil
}

// parallel runs op from 8 goroutines per CPU and returns every call's
// latency.
func parallel(b *testing.B, op func(i int64) error) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if err := op(n.Add(1)); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	return all
}

// report gives the rate and p99 latency of a parallel run.
func report(b *testing.B, unit string, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), unit)
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
	b.ReportMetric(ms(lat[len(lat)/2]), "median_ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
