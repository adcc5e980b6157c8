package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime"
)

// pgCase is a program run against Postgres and checked, after every batch
// of random SQL changes, against Postgres computing each output from
// scratch with equivalent SQL.
type pgCase struct {
	name    string
	ddl     string
	program string
	// outputs maps each output table to equivalent SQL. For a program
	// that reads the clock, the SQL reads the clock as $1.
	outputs map[string]string
	// change returns a random SQL change; now is the clock's time.
	change func(r *rand.Rand, now time.Time) string
	clock  bool
}

var shopSQL = `SELECT li.basket_id, sum(p.price * li.qty) AS total, count(*) AS items
  FROM line_items li JOIN products p ON li.product_name = p.name GROUP BY li.basket_id`

func shopCase(t *testing.T) pgCase {
	src, err := os.ReadFile("../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	products := []string{"tv", "radio", "lamp", "desk", "o'neil"}
	return pgCase{
		name: "shop",
		ddl: `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`,
		program: string(src),
		outputs: map[string]string{
			"basket_totals": shopSQL,
			"receipts":      "SELECT format('Basket id: %s total: $%s', basket_id, total) FROM (" + shopSQL + ") s",
		},
		change: func(r *rand.Rand, _ time.Time) string {
			p := quote(products[r.IntN(len(products))])
			b := r.IntN(8)
			switch r.IntN(7) {
			case 0:
				return fmt.Sprintf("INSERT INTO products VALUES (%s, %d.%d) ON CONFLICT DO NOTHING", p, 1+r.IntN(9), r.IntN(10))
			case 1, 2:
				return fmt.Sprintf("UPDATE products SET price = %d.%02d WHERE name = %s", 1+r.IntN(9), r.IntN(100), p)
			case 3:
				return "DELETE FROM products WHERE name = " + p
			case 4:
				return fmt.Sprintf("INSERT INTO line_items VALUES (%d, %s, %d) ON CONFLICT DO NOTHING", b, p, 1+r.IntN(4))
			case 5:
				return fmt.Sprintf("UPDATE line_items SET qty = qty + 1 WHERE basket_id = %d", b)
			default:
				return fmt.Sprintf("DELETE FROM line_items WHERE basket_id = %d AND product_name = %s", b, p)
			}
		},
	}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

var operatorsCase = pgCase{
	name: "operators",
	ddl: `CREATE TABLE t (id int PRIMARY KEY, g int NOT NULL, v int, s text NOT NULL);
CREATE TABLE u (id int PRIMARY KEY, g int NOT NULL, w int NOT NULL);`,
	program: `
source t = table t
source u = table u
view filtered = t | where v > 2 | select { id, v }
view joined = t | join u on t.g == u.g and t.id != u.id | select { tid = t.id, uid = u.id, total = t.v + u.w }
view grouped = t | group by g { n = count(), cv = count(v), total = sum(v), lo = min(v), hi = max(v), first = min(s) }
view dist = t | select { g } | distinct
view uni = t | select { g } | union (u | select { g })
view uall = t | select { g } | union all (u | select { g })
output filtered to table filtered
output joined to table joined
output grouped to table grouped index (g)
output dist to table dist
output uni to table uni
output uall to table uall
`,
	outputs: map[string]string{
		"filtered": "SELECT id, v FROM t WHERE v > 2",
		"joined":   "SELECT t.id, u.id, t.v + u.w FROM t JOIN u ON t.g = u.g AND t.id <> u.id",
		"grouped":  "SELECT g, count(*), count(v), sum(v), min(v), max(v), min(s COLLATE \"C\") FROM t GROUP BY g",
		"dist":     "SELECT DISTINCT g FROM t",
		"uni":      "SELECT g FROM t UNION SELECT g FROM u",
		"uall":     "SELECT g FROM t UNION ALL SELECT g FROM u",
	},
	change: func(r *rand.Rand, _ time.Time) string {
		id, g := r.IntN(12), r.IntN(4)
		v := fmt.Sprint(r.IntN(6))
		if r.IntN(5) == 0 {
			v = "NULL"
		}
		switch r.IntN(6) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO t VALUES (%d, %d, %s, 's%d') ON CONFLICT (id) DO UPDATE SET v = excluded.v", id, g, v, r.IntN(3))
		case 2:
			return fmt.Sprintf("UPDATE t SET g = %d, v = %s WHERE id %% 3 = %d", g, v, id%3)
		case 3:
			return fmt.Sprintf("DELETE FROM t WHERE id = %d", id)
		case 4:
			return fmt.Sprintf("INSERT INTO u VALUES (%d, %d, %d) ON CONFLICT (id) DO UPDATE SET w = excluded.w", id, g, r.IntN(9))
		default:
			return fmt.Sprintf("DELETE FROM u WHERE g = %d", g)
		}
	},
}

// newPG compiles src against the test schema and returns a runner whose
// own schema is dropped when the test ends.
func newPG(t *testing.T, pool *pgxpool.Pool, schema, src string) *runtime.PG {
	t.Helper()
	ctx := context.Background()
	prog, err := stepping.CompileDB(ctx, "test.step", src, pool)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	pg := &runtime.PG{Pool: pool, Circuit: prog.Circuit, Schema: "prog_" + schema, BatchSize: 7}
	t.Cleanup(func() {
		if err := pg.Drop(context.Background(), false); err != nil {
			t.Errorf("drop: %v", err)
		}
	})
	return pg
}

// rowlangCase exercises the per-row language and the clock: lets,
// cases, casts, functions, text, numeric and time functions, jsonb,
// flatten, and windows relative to now(), which the test's clock moves.
var rowlangCase = pgCase{
	name: "rowlang",
	ddl: `CREATE TABLE ev (id int PRIMARY KEY, cat text NOT NULL, at timestamp NOT NULL, n int,
  price numeric(8,2), doc jsonb, tags text[]);`,
	program: `
source ev = table ev
fn label(n int4?) text = case when n > 3 then "big" when n is null then "none" else "small" end
fn share(p numeric(8,2), n int4) numeric(10,3) = p * 3 / n
view recent = ev | where at > now() - interval "7 days" and at <= now()
  | group by cat, day = date_trunc("day", at) { c = count(), total = sum(n) }
view rowfns = ev | select {
    id, l = label(n), s = share(price, n + 8),
    k = let x = n ?? 0 in x * x,
    t = upper(substring(cat, 1, 2)) || "-" || replace(cat, "a", "4"),
    j = doc ->> "k", ji = (doc -> "n")::int4,
    age = now() - at, ok = cat like "c%",
    d = extract(dow from at), w = at::date + 3
  }
view tags = ev | flatten tag = tags | group by tag { c = count() }
output recent to table recent
output rowfns to table rowfns
output tags to table tags
`,
	outputs: map[string]string{
		"recent": `SELECT cat, date_trunc('day', at), count(*), sum(n) FROM ev
  WHERE at > $1::timestamptz - interval '7 days' AND at <= $1::timestamptz GROUP BY 1, 2`,
		"rowfns": `SELECT id, CASE WHEN n > 3 THEN 'big' WHEN n IS NULL THEN 'none' ELSE 'small' END,
  (price * 3 / (n + 8))::numeric(10,3), coalesce(n, 0) * coalesce(n, 0),
  upper(substring(cat, 1, 2)) || '-' || replace(cat, 'a', '4'), doc ->> 'k', (doc -> 'n')::int,
  $1::timestamptz - at, cat like 'c%', extract(dow from at), at::date + 3 FROM ev`,
		"tags": "SELECT tag, count(*) FROM ev, unnest(tags) AS tag GROUP BY tag",
	},
	clock: true,
	change: func(r *rand.Rand, now time.Time) string {
		id := r.IntN(15)
		cats := []string{"cars", "books", "cats", "a'b"}
		switch r.IntN(5) {
		case 0, 1:
			n := fmt.Sprint(r.IntN(7))
			if r.IntN(5) == 0 {
				n = "NULL"
			}
			at := now.Add(-time.Duration(r.IntN(10*24)) * time.Hour).Add(time.Duration(r.IntN(3)) * time.Hour)
			doc := []string{`'{"k": "x", "n": 3}'`, `'{"k": null, "n": 1.5}'`, `'[1]'`, "NULL"}[r.IntN(4)]
			tags := []string{"'{a,b}'", "'{}'", "'{b,\"c d\",b}'", "NULL"}[r.IntN(4)]
			return fmt.Sprintf("INSERT INTO ev VALUES (%d, %s, '%s', %s, %d.%02d, %s, %s) ON CONFLICT (id) DO UPDATE SET n = excluded.n, at = excluded.at",
				id, quote(cats[r.IntN(len(cats))]), at.Format("2006-01-02 15:04:05"), n, r.IntN(1000), r.IntN(100), doc, tags)
		case 2:
			return fmt.Sprintf("UPDATE ev SET price = price * 2, cat = %s WHERE id %% 4 = %d", quote(cats[r.IntN(len(cats))]), id%4)
		case 3:
			return fmt.Sprintf("DELETE FROM ev WHERE id = %d", id)
		default:
			return fmt.Sprintf("UPDATE ev SET tags = tags || '{z}'::text[] WHERE id = %d", id)
		}
	},
}

// diff returns how many rows the output table and the SQL disagree on.
func diff(ctx context.Context, pool *pgxpool.Pool, table, query string, args ...any) (int, error) {
	var n int
	err := pool.QueryRow(ctx, fmt.Sprintf(
		"SELECT count(*) FROM ((TABLE %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL TABLE %s)) d",
		table, query, query, table), args...).Scan(&n)
	return n, err
}

func TestPostgresOracle(t *testing.T) {
	for _, c := range []pgCase{shopCase(t), operatorsCase, rowlangCase} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, c.ddl); err != nil {
				t.Fatal(err)
			}
			// Rows present before installation are backfilled.
			r := rand.New(rand.NewPCG(uint64(len(c.name)), 42))
			now := time.Date(2024, 3, 1, 9, 30, 0, 0, time.UTC)
			for range 20 {
				if _, err := pool.Exec(ctx, c.change(r, now)); err != nil {
					t.Fatal(err)
				}
			}
			pg := newPG(t, pool, schema, c.program)
			pg.Clock = func() time.Time { return now }
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			for round := range 40 {
				if round > 0 {
					// Now and then only the clock moves.
					changes := 1 + r.IntN(6)
					if c.clock {
						now = now.Add(time.Duration(r.IntN(40)) * time.Hour)
						if r.IntN(4) == 0 {
							changes = 0
						}
					}
					for range changes {
						if _, err := pool.Exec(ctx, c.change(r, now)); err != nil {
							t.Fatal(err)
						}
					}
				}
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for table, query := range c.outputs {
					var args []any
					if strings.Contains(query, "$1") {
						args = append(args, now)
					}
					if strings.Contains(c.program, "output "+table+"\n") {
						table = pg.Schema + "." + table
					}
					n, err := diff(ctx, pool, table, query, args...)
					if err != nil {
						t.Fatalf("round %d: comparing %s: %v", round, table, err)
					}
					if n != 0 {
						t.Fatalf("round %d: output %s differs from recomputation in %d rows", round, table, n)
					}
				}
			}
		})
	}
}

func TestPostgresVersionChange(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, operatorsCase.ddl+"INSERT INTO t VALUES (1, 1, 5, 'a'), (2, 1, 1, 'b');"); err != nil {
		t.Fatal(err)
	}
	v1 := "source t = table t\nview big = t | where v > 2 | select { id }\noutput big to table big\n"
	v2 := "source t = table t\nview big = t | where v > 0 | select { id }\noutput big to table big\n"
	pg := newPG(t, pool, schema, v1)
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	changed := newPG(t, pool, schema, v2)
	err := changed.Run(ctx, false, true, time.Second, nil)
	if !errors.Is(err, runtime.ErrVersion) || !strings.Contains(err.Error(), "view big changed") {
		t.Fatalf("a changed program ran against old state: %v", err)
	}
	if err := changed.Run(ctx, true, true, time.Second, nil); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if n, err := diff(ctx, pool, "big", "SELECT id FROM t WHERE v > 0"); err != nil || n != 0 {
		t.Fatalf("after rebuild the output differs in %d rows (%v)", n, err)
	}
}

func TestPostgresSecondRuntimeWaits(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, operatorsCase.ddl); err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, "source t = table t\nview ids = t | select { id }\noutput ids to table ids\n")
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	release, err := pg.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	second := *pg
	second.Log = &log
	got := make(chan error, 1)
	go func() {
		rel, err := second.Lock(ctx)
		if err == nil {
			rel()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("the second runtime took the lock while the first held it (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the second runtime never took over")
	}
	if !strings.Contains(log.String(), "waiting") {
		t.Errorf("the second runtime did not say it was waiting: %q", log.String())
	}
}

// TestPostgresHostileNames runs a program whose tables and columns have
// names made to break naive SQL: every name reaches Postgres quoted, and
// every value as a parameter.
func TestPostgresHostileNames(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE "we""ird; DROP TABLE x" ("sel'ect" int PRIMARY KEY, "grp $1" text NOT NULL);
CREATE TABLE x (id int);
INSERT INTO "we""ird; DROP TABLE x" VALUES (1, 'a''); DROP TABLE x; --'), (2, 'b');`); err != nil {
		t.Fatal(err)
	}
	src := "source w = table `we\"ird; DROP TABLE x`\n" +
		"view counts = w | group by g = w.`grp $1` { n = count(), hi = max(w.`sel'ect`) }\n" +
		"output counts to table `out\"; DROP TABLE x; --` index (g)\n"
	pg := newPG(t, pool, schema, src)
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE "we""ird; DROP TABLE x" SET "grp $1" = 'b' WHERE "sel'ect" = 1`); err != nil {
		t.Fatal(err)
	}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	var g string
	var n, top int64
	if err := pool.QueryRow(ctx, `SELECT g, n, hi FROM "out""; DROP TABLE x; --"`).Scan(&g, &n, &top); err != nil {
		t.Fatal(err)
	}
	if g != "b" || n != 2 || top != 2 {
		t.Errorf("got (%s, %d, %d), want (b, 2, 2)", g, n, top)
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('x') IS NOT NULL").Scan(&exists); err != nil || !exists {
		t.Errorf("table x was dropped: names were spliced into SQL (%v)", err)
	}
}

// TestPostgresTypesRoundTrip passes a row of every supported type from a
// source table, through the change log and a view, into an output table,
// and requires the output to equal the source, value for value.
func TestPostgresTypesRoundTrip(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE every (
  id int PRIMARY KEY, b boolean, s smallint, i int, l bigint, r real, d double precision,
  n numeric(12,3), nn numeric, tx text, vc varchar(10), u uuid, dt date, ts timestamp,
  tz timestamptz, iv interval, j jsonb, by bytea, arr int[], tarr text[]);
INSERT INTO every VALUES
  (1, true, -3, 7, 9000000000, 1.5, -2.25, 12.300, 0.000100, 'héllo', 'v', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '2026-11-25', '2026-11-25 14:03:04.5', '2026-11-25 14:03:04.123456+02', '1 year 2 mons 3 days 04:05:06.5',
   '{"a": [1, 2.50, null], "b": "x"}', '\x00ff10', '{1,NULL,3}', '{"a b","c,d"}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);`); err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, "source e = table every\nview copy = e\noutput copy to table copy primary key (id)\n")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE every SET n = n + 1, iv = iv - interval '1 day', tz = tz + interval '1 microsecond' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	// Compared as text, so that numeric scale, float digits and time
	// precision must survive exactly.
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM (
  (SELECT e::text FROM every e EXCEPT ALL SELECT c::text FROM copy c)
  UNION ALL (SELECT c::text FROM copy c EXCEPT ALL SELECT e::text FROM every e)) d`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		rows, _ := pool.Query(ctx, "SELECT 'source', e::text FROM every e UNION ALL SELECT 'output', c::text FROM copy c")
		for rows.Next() {
			var which, text string
			_ = rows.Scan(&which, &text)
			t.Logf("%s: %s", which, text)
		}
		t.Fatalf("the output differs from its source in %d rows", n)
	}
}

// TestPostgresClockTransactionTime runs a window of one second on the
// runner's own clock, the time of each step's transaction: a row inside
// the window leaves the output table as time passes, with no change to
// its source, when the runner finds the log empty and steps the clock.
func TestPostgresClockTransactionTime(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE ev (id int PRIMARY KEY, at timestamptz NOT NULL);
INSERT INTO ev VALUES (1, now() + interval '500 milliseconds'), (2, now() - interval '1 day')`); err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, "source ev = table ev\nview fresh = ev | where at > now() - interval \"1 second\" | select { id }\noutput fresh to table fresh\n")
	count := func() int {
		t.Helper()
		if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM fresh").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("fresh holds %d rows after the first step, want 1", n)
	}
	time.Sleep(1600 * time.Millisecond)
	if n := count(); n != 0 {
		t.Fatalf("fresh holds %d rows 1.6s later, want 0: the row should have left the window", n)
	}
	var steps string
	if err := pool.QueryRow(ctx, "SELECT value FROM "+pg.Schema+"._meta WHERE key = 'steps'").Scan(&steps); err != nil || steps != "2" {
		t.Errorf("steps = %s (%v), want 2: a backfill step and a step of the clock alone", steps, err)
	}
}
