package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/serve"
)

// startPostgres serves the shop on Postgres, over tables of a schema of
// the test's own, and returns the server and a pool for other clients.
func startPostgres(t *testing.T, opts serve.Options) (*server, *pgxpool.Pool) {
	return startPostgresAfter(t, opts, nil)
}

// startPostgresAfter is startPostgres that calls before with the engine
// and pool before it serves.
func startPostgresAfter(t *testing.T, opts serve.Options, before func(*stepping.Engine, *pgxpool.Pool)) (*server, *pgxpool.Pool) {
	t.Helper()
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));
INSERT INTO products VALUES ('tv', 3.00), ('radio', 5);
INSERT INTO line_items VALUES (1, 'tv', 2), (1, 'radio', 1), (2, 'tv', 1);`); err != nil {
		t.Fatal(err)
	}
	prog, err := stepping.CompileDB(ctx, "shop.step", shopSource(t), pool)
	if err != nil {
		t.Fatal(err)
	}
	progSchema := schema + "_serve"
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{progSchema}.Sanitize()+" CASCADE")
	})
	eng, err := prog.OpenPostgres(ctx, pool, stepping.PostgresOptions{Schema: progSchema})
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(eng, pool)
	}
	return startOn(t, prog, eng, opts), pool
}

// TestPostgres serves the shop on Postgres: the rows the tables held
// before are served, writes are transactions on the source tables that
// answer with the step that shows them, and a plain SQL UPDATE by
// another client appears on the change stream.
func TestPostgres(t *testing.T) {
	s, pool := startPostgres(t, serve.Options{})
	got := s.must(t, 200, "GET", "/api/views/basket_totals?basket_id=1", "")
	if !strings.Contains(got, `"rows":[{"basket_id":1,"total":"11.00","items":2}]`) {
		t.Fatalf("the backfilled view: %s", got)
	}
	st := s.openStream(t, "/api/views/basket_totals/changes")
	snap := st.mustNext()
	if snap.name != "snapshot" || !strings.Contains(snap.data, `{"basket_id":2,"total":"3.00","items":1}`) {
		t.Fatalf("snapshot %+v", snap)
	}

	// Another client's UPDATE, applied by the server on NOTIFY.
	if _, err := pool.Exec(context.Background(), "UPDATE products SET price = 4.00 WHERE name = 'tv'"); err != nil {
		t.Fatal(err)
	}
	e := st.mustNext()
	c := decodeChanges(t, e)
	if len(c.Changes) != 4 || c.Changes[0].Row["total"] != "11.00" || c.Changes[0].Weight != -1 {
		t.Fatalf("the UPDATE's changes: %+v", e)
	}

	// The API's own writes.
	body := s.must(t, 201, "POST", "/api/tables/line_items", `{"basket_id": 3, "product_name": "radio", "qty": 2}`)
	step := stepOf(t, body)
	e = st.mustNext()
	if e.id != strconv.FormatInt(step, 10) || !strings.Contains(e.data, `{"row":{"basket_id":3,"total":"10","items":1},"weight":1}`) {
		t.Fatalf("the POST answered %s; the stream sent %+v", body, e)
	}
	got = s.must(t, 200, "GET", "/api/views/basket_totals?basket_id=3", "")
	if !strings.Contains(got, `"step":`+strconv.FormatInt(step, 10)) || !strings.Contains(got, `"total":"10"`) {
		t.Fatalf("after the POST: %s", got)
	}
	s.must(t, 200, "PATCH", "/api/tables/line_items?basket_id=3&product_name=radio", `{"qty": 3}`)
	if e := st.mustNext(); !strings.Contains(e.data, `"total":"15"`) {
		t.Fatalf("after the PATCH the stream sent %+v", e)
	}
	s.must(t, 200, "DELETE", "/api/tables/line_items?basket_id=3&product_name=radio", "")
	if e := st.mustNext(); !strings.Contains(e.data, `"weight":-1`) || strings.Contains(e.data, `"weight":1}`) {
		t.Fatalf("after the DELETE the stream sent %+v", e)
	}
	for _, tc := range []struct {
		method, path, body string
		code               int
		errCode            string
	}{
		{"POST", "/api/tables/products", `{"name": "tv", "price": 1}`, 409, "conflict"},
		{"PATCH", "/api/tables/products?name=nope", `{"price": 1}`, 404, "not_found"},
		{"DELETE", "/api/tables/line_items?basket_id=3&product_name=radio", ``, 404, "not_found"},
		{"POST", "/api/tables/line_items", `{"basket_id": 1, "product_name": "tv", "qty": "x"}`, 400, "bad_request"},
	} {
		r := s.do(t, tc.method, tc.path, tc.body)
		if r.code != tc.code || r.apiError(t).Error.Code != tc.errCode {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.code, r.body, tc.code)
		}
	}
}

// TestPostgresResumeFromHistory resumes a stream from a step the server
// no longer keeps in memory: on Postgres the program's history, which
// the server keeps published, still holds it. A step taken before the
// server ran, which no watcher saw, is not kept: 410.
func TestPostgresResumeFromHistory(t *testing.T) {
	s, pool := startPostgresAfter(t, serve.Options{KeepSteps: 1}, func(eng *stepping.Engine, pool *pgxpool.Pool) {
		ctx := context.Background()
		if _, err := pool.Exec(ctx, "INSERT INTO line_items VALUES (4, 'tv', 1)"); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Step(ctx); err != nil {
			t.Fatal(err)
		}
	})
	first := stepOf(t, s.must(t, 201, "POST", "/api/tables/line_items", `{"basket_id": 5, "product_name": "tv", "qty": 1}`))
	for i := 6; i < 9; i++ {
		if _, err := pool.Exec(context.Background(), "INSERT INTO line_items VALUES ($1, 'tv', 1)", i); err != nil {
			t.Fatal(err)
		}
		s.must(t, 201, "POST", "/api/tables/line_items", `{"basket_id": `+strconv.Itoa(i+10)+`, "product_name": "tv", "qty": 1}`)
	}
	st := s.openStream(t, "/api/views/basket_totals/changes?after="+strconv.FormatInt(first-1, 10))
	baskets := map[float64]bool{}
	for len(baskets) < 7 {
		e := st.mustNext()
		for _, c := range decodeChanges(t, e).Changes {
			if c.Weight != 1 || baskets[c.Row["basket_id"].(float64)] {
				t.Fatalf("event %+v", e)
			}
			baskets[c.Row["basket_id"].(float64)] = true
		}
	}
	r := s.do(t, "GET", "/api/views/basket_totals/changes?after=0", "")
	if r.code != 410 {
		t.Fatalf("resuming from before the server's history: %d %s", r.code, r.body)
	}
}

func stepOf(t *testing.T, body string) int64 {
	t.Helper()
	_, rest, ok := strings.Cut(body, `"step":`)
	if !ok {
		t.Fatalf("no step in %s", body)
	}
	n, err := strconv.ParseInt(rest[:strings.IndexAny(rest, ",}")], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPostgresConcurrentWrites sends writes at once: they commit
// concurrently and share steps, and each answer's step shows its write.
func TestPostgresConcurrentWrites(t *testing.T) {
	s, _ := startPostgres(t, serve.Options{})
	const writers = 24
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			basket := 100 + i
			r := s.do(t, "POST", "/api/tables/line_items", fmt.Sprintf(`{"basket_id": %d, "product_name": "tv", "qty": 1}`, basket))
			if r.code != 201 {
				t.Errorf("POST %d: %d %s", basket, r.code, r.body)
				return
			}
			step := stepOfBody(r.body)
			got := s.do(t, "GET", fmt.Sprintf("/api/views/basket_totals?basket_id=%d", basket), "")
			if !strings.Contains(got.body, fmt.Sprintf(`"rows":[{"basket_id":%d,`, basket)) || stepOfBody(got.body) < step {
				t.Errorf("POST answered step %d; then GET: %s", step, got.body)
			}
		}()
	}
	wg.Wait()
}

// stepOfBody is the "step" of a JSON answer, or -1.
func stepOfBody(body string) int64 {
	var v struct {
		Step int64 `json:"step"`
	}
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return -1
	}
	return v.Step
}
