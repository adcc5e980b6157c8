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

	"github.com/jackc/pgx/v5"
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
	outputs map[string]string // output table -> equivalent SQL
	change  func(r *rand.Rand) string
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
		change: func(r *rand.Rand) string {
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
	change: func(r *rand.Rand) string {
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

// reachSQL is reachability by WITH RECURSIVE, the view reach computes:
// the relation r, then a query over it.
func reachSQL(query string) string {
	return `WITH RECURSIVE r(src, dst) AS (
  SELECT src, dst FROM e UNION SELECT r.src, e.dst FROM r JOIN e ON r.dst = e.src)
` + query
}

// topSetsRecursionCase checks top, except, intersect and a recursive
// view against row_number(), EXCEPT/INTERSECT [ALL] and WITH RECURSIVE.
// Its graph has few nodes, so that edges make and break cycles.
var topSetsRecursionCase = pgCase{
	name: "top_sets_recursion",
	ddl: `CREATE TABLE s (id int PRIMARY KEY, u int NOT NULL, score int, t text NOT NULL);
CREATE TABLE e (src int NOT NULL, dst int NOT NULL);`,
	program: `
source s = table s
source e = table e
view best = s | top 2 by score desc per u
view lowest = s | top 3 by score, t desc
view edge_top = e | top 2 by dst desc per src
view ex = s | select { u } | except (e | select { u = src })
view exa = s | select { u } | except all (e | select { u = dst })
view ix = s | select { u } | intersect (e | select { u = src })
view ixa = e | select { src } | intersect all (e | select { src = dst })
view reach = e | select { src, dst }
  | union (reach | join e on reach.dst == e.src | select { src = reach.src, dst = e.dst })
view reach_top = reach | top 1 by dst desc per src
output best to table best
output lowest to table lowest
output edge_top to table edge_top
output ex to table ex
output exa to table exa
output ix to table ix
output ixa to table ixa
output reach to table reach
output reach_top to table reach_top
`,
	outputs: map[string]string{
		// Ties are broken by the whole row ascending, NULLs last.
		"best": `SELECT id, u, score, t FROM (SELECT s.*, row_number() OVER (PARTITION BY u
  ORDER BY score DESC, id, u, score, t COLLATE "C") AS n FROM s) x WHERE n <= 2`,
		"lowest": `SELECT id, u, score, t FROM (SELECT s.*, row_number() OVER (
  ORDER BY score, t COLLATE "C" DESC, id, u, score, t COLLATE "C") AS n FROM s) x WHERE n <= 3`,
		"edge_top": `SELECT src, dst FROM (SELECT e.*, row_number() OVER (PARTITION BY src
  ORDER BY dst DESC, src, dst) AS n FROM e) x WHERE n <= 2`,
		"ex":    "SELECT u FROM s EXCEPT SELECT src FROM e",
		"exa":   "SELECT u FROM s EXCEPT ALL SELECT dst FROM e",
		"ix":    "SELECT u FROM s INTERSECT SELECT src FROM e",
		"ixa":   "SELECT src FROM e INTERSECT ALL SELECT dst FROM e",
		"reach": reachSQL("SELECT src, dst FROM r"),
		"reach_top": reachSQL(`SELECT src, dst FROM (SELECT r.*, row_number() OVER (PARTITION BY src
  ORDER BY dst DESC, src, dst) AS n FROM r) x WHERE n <= 1`),
	},
	change: func(r *rand.Rand) string {
		id, u, a, b := r.IntN(12), r.IntN(4), r.IntN(6), r.IntN(6)
		score := fmt.Sprint(r.IntN(5))
		if r.IntN(5) == 0 {
			score = "NULL"
		}
		switch r.IntN(8) {
		case 0, 1:
			return fmt.Sprintf("INSERT INTO s VALUES (%d, %d, %s, 't%d') ON CONFLICT (id) DO UPDATE SET score = excluded.score, t = excluded.t", id, u, score, r.IntN(3))
		case 2:
			return fmt.Sprintf("DELETE FROM s WHERE id = %d", id)
		case 3, 4:
			return fmt.Sprintf("INSERT INTO e VALUES (%d, %d)", a, b)
		case 5:
			return fmt.Sprintf("DELETE FROM e WHERE ctid = (SELECT ctid FROM e WHERE src = %d LIMIT 1)", a)
		case 6:
			return fmt.Sprintf("UPDATE e SET dst = %d WHERE src = %d", b, a)
		default:
			return fmt.Sprintf("DELETE FROM e WHERE dst = %d", b)
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

// diff returns how many rows the output table and the SQL disagree on.
// JIT is off: the test's tables are never analysed, so the planner
// guesses millions of rows and would compile every recursive query.
func diff(ctx context.Context, pool *pgxpool.Pool, table, query string) (int, error) {
	var n int
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, fmt.Sprintf(
			"SELECT count(*) FROM ((TABLE %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL TABLE %s)) d",
			table, query, query, table)).Scan(&n)
	})
	return n, err
}

func TestPostgresOracle(t *testing.T) {
	for _, c := range []pgCase{shopCase(t), operatorsCase, topSetsRecursionCase} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, c.ddl); err != nil {
				t.Fatal(err)
			}
			// Rows present before installation are backfilled.
			r := rand.New(rand.NewPCG(uint64(len(c.name)), 42))
			for range 20 {
				if _, err := pool.Exec(ctx, c.change(r)); err != nil {
					t.Fatal(err)
				}
			}
			pg := newPG(t, pool, schema, c.program)
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			// The most rows each output held, and the rounds that
			// changed it: an output always empty, or never changed,
			// would check nothing.
			most, changes, last := map[string]int{}, map[string]int{}, map[string]string{}
			for round := range 40 {
				if round > 0 {
					for range 1 + r.IntN(6) {
						if _, err := pool.Exec(ctx, c.change(r)); err != nil {
							t.Fatal(err)
						}
					}
				}
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for table, query := range c.outputs {
					if strings.Contains(c.program, "output "+table+"\n") {
						table = pg.Schema + "." + table
					}
					n, err := diff(ctx, pool, table, query)
					if err != nil {
						t.Fatalf("round %d: comparing %s: %v", round, table, err)
					}
					if n != 0 {
						t.Fatalf("round %d: output %s differs from recomputation in %d rows", round, table, n)
					}
					var rows int
					var contents string
					if err := pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*), coalesce(string_agg(t::text, ',' ORDER BY t::text), '') FROM %s t", table)).Scan(&rows, &contents); err != nil {
						t.Fatal(err)
					}
					most[table] = max(most[table], rows)
					if contents != last[table] {
						changes[table]++
					}
					last[table] = contents
				}
			}
			for table := range most {
				t.Logf("output %s: up to %d rows, changed in %d rounds", table, most[table], changes[table])
				if most[table] == 0 || changes[table] < 3 {
					t.Errorf("output %s held at most %d rows and changed in %d rounds: the changes barely exercise it", table, most[table], changes[table])
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
