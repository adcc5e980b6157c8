package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// pushdownDDL is the sources of the pushdown cases: numerics of several
// scales, NULLs in keys and arguments, duplicate rows.
const pushdownDDL = `
CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
INSERT INTO products SELECT 'p' || i, (i % 7 + 1) * 1.5 + CASE i % 3 WHEN 0 THEN 0.25 WHEN 1 THEN 0.1 ELSE 2 END FROM generate_series(1, 40) i;
CREATE TABLE items (basket int8 NOT NULL, product text NOT NULL, qty int4 NOT NULL, PRIMARY KEY (basket, product));
INSERT INTO items SELECT i / 5, 'p' || (1 + (i * 7) % 43), 1 + i % 4 FROM generate_series(1, 900) i ON CONFLICT DO NOTHING;
CREATE TABLE t (id int8 PRIMARY KEY, g text, x numeric, y int4 NOT NULL, big int8);
INSERT INTO t SELECT i, CASE WHEN i % 9 = 0 THEN NULL ELSE 'g' || (i % 4) END,
  CASE WHEN i % 5 = 0 THEN NULL WHEN i % 3 = 0 THEN (i * 1.25)::numeric ELSE i::numeric END,
  i % 6, 9000000000000000000 - i FROM generate_series(1, 500) i;
`

// A backfill that Postgres computes (an aggregate over sources, through
// filters, maps and joins) gives the state and outputs of the one the
// engine computes row by row, byte for byte; both then follow changes.
func TestPostgresBackfillPushdown(t *testing.T) {
	for _, c := range []struct {
		name, program string
		want          map[string]string // output view: the query it equals
		pushed        bool              // whether Postgres computes the backfill's groups
		fails         string            // the backfill's error, when it fails
	}{
		{
			name: "join",
			program: `source products = table products
source items = table items
view totals = items | join products on items.product == products.name
  | group by items.basket { total = sum(products.price * items.qty), n = count(), mean = avg(items.qty), c = count(items.qty) }
view big = totals | where n > 1 | select { basket, share = total * 2 }
output totals
output big`,
			want: map[string]string{
				"totals": `SELECT i.basket, sum(p.price * i.qty), count(*), avg(i.qty), count(i.qty) FROM items i JOIN products p ON i.product = p.name GROUP BY 1`,
				"big":    `SELECT i.basket, sum(p.price * i.qty) * 2 FROM items i JOIN products p ON i.product = p.name GROUP BY 1 HAVING count(*) > 1`,
			},
			pushed: true,
		},
		{
			name: "filter and nulls",
			program: `source t = table t
view v = t | where t.y >= 2 and not (t.g == "g1") | group by t.g { s = sum(t.x), c = count(t.x), a = avg(t.y), m = sum(t.y), b = sum(t.big), x = sum(-t.x + 1) }
output v`,
			want: map[string]string{
				"v": `SELECT g, sum(x), count(x), avg(y), sum(y), sum(big), sum(-x + 1) FROM t WHERE y >= 2 AND NOT (g = 'g1') GROUP BY g`,
			},
			pushed: true,
		},
		{
			name: "bool keys, constants, or",
			program: `source t = table t
view v = t | where t.g == "g2" or t.x is null or t.id < 40 | group by pos = t.y > 2, t.g { s = sum(t.x * 2.50 - 1), n = count(t.g), m = sum(t.y * t.y) }
output v`,
			want: map[string]string{
				"v": `SELECT y > 2, g, sum(x * 2.50 - 1), count(g), sum(y * y) FROM t WHERE g = 'g2' OR x IS NULL OR id < 40 GROUP BY 1, 2`,
			},
			pushed: true,
		},
		{
			name: "a cast to a numeric of fixed scale",
			program: `source t = table t
view v = t | group by t.g { s = sum(t.y::numeric(6,2)), x = sum(t.x::numeric(12,1)) }
output v`,
			want:   map[string]string{"v": `SELECT g, sum(y::numeric(6,2)), sum(x::numeric(12,1)) FROM t GROUP BY g`},
			pushed: true,
		},
		{
			name: "division stays in memory",
			program: `source t = table t
view v = t | where t.y > 0 | group by t.g { s = sum(100 / t.y) }
output v`,
			want: map[string]string{"v": `SELECT g, sum(100 / y) FROM t WHERE y > 0 GROUP BY g`},
		},
		{
			name: "a source read twice stays in memory",
			program: `source t = table t
view a = t | group by t.g { s = sum(t.x) }
view b = t | group by t.y { s = count() }
output a
output b`,
			want: map[string]string{
				"a": `SELECT g, sum(x) FROM t GROUP BY g`,
				"b": `SELECT y, count(*) FROM t GROUP BY y`,
			},
		},
		{
			name: "an overflow is found in memory",
			program: `source t = table t
view v = t | group by t.g { s = sum(t.big + t.big) }
output v`,
			fails: "out of range",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, pushdownDDL)
			inMemory := newPG(t, pool, schema, c.program)
			inMemory.NoPushdown = true
			pushed := newPG(t, pool, schema, c.program)
			pushed.Schema = "pushed_" + schema
			var log strings.Builder
			pushed.Log = &log
			// Past the memory bound the groups' rows go on through the
			// circuit in Postgres.
			bounded := newPG(t, pool, schema, c.program)
			bounded.Schema, bounded.BackfillRows = "bounded_"+schema, 30
			runners := []*postgres.Runner{inMemory, pushed, bounded}
			for _, pg := range runners {
				pg.BatchSize = 50
				if err := pg.Setup(ctx, false); err != nil {
					t.Fatal(err)
				}
				_, err := pg.ApplyPending(ctx, nil)
				if c.fails != "" {
					if err == nil || !strings.Contains(err.Error(), c.fails) {
						t.Fatalf("backfill error %v, want one saying %q", err, c.fails)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := strings.Contains(log.String(), "Postgres computes the groups") && !strings.Contains(log.String(), "in memory instead"); got != c.pushed {
				t.Errorf("pushed down: %v, want %v; log:\n%s", got, c.pushed, log.String())
			}
			if c.fails != "" {
				return
			}
			for view, query := range c.want {
				for _, pg := range runners {
					sameTexts(t, pool, pgx.Identifier{pg.Schema, view}.Sanitize(), query)
				}
			}
			sameState(t, pool, inMemory.Schema, pushed.Schema)
			sameState(t, pool, inMemory.Schema, bounded.Schema)
			// The state the pushdown wrote carries the changes after it.
			r := rand.New(rand.NewPCG(1, uint64(len(c.name))))
			for range 20 {
				mustExec(t, pool, pushdownChange(r))
				for _, pg := range runners {
					if _, err := pg.ApplyPending(ctx, nil); err != nil {
						t.Fatal(err)
					}
				}
			}
			for view, query := range c.want {
				for _, pg := range runners {
					sameTexts(t, pool, pgx.Identifier{pg.Schema, view}.Sanitize(), query)
				}
			}
			sameState(t, pool, inMemory.Schema, pushed.Schema)
			sameState(t, pool, inMemory.Schema, bounded.Schema)
		})
	}
}

// pushdownChange is a random write to the pushdown cases' sources.
func pushdownChange(r *rand.Rand) string {
	switch r.IntN(6) {
	case 0:
		return fmt.Sprintf("UPDATE products SET price = price + 0.%03d WHERE name = 'p%d'", r.IntN(1000), 1+r.IntN(40))
	case 1:
		return fmt.Sprintf("INSERT INTO items VALUES (%d, 'p%d', %d) ON CONFLICT DO NOTHING", r.IntN(200), 1+r.IntN(45), 1+r.IntN(5))
	case 2:
		return fmt.Sprintf("DELETE FROM items WHERE basket = %d", r.IntN(200))
	case 3:
		return fmt.Sprintf("UPDATE t SET x = x * 1.5, y = y + 1 WHERE id %% 17 = %d", r.IntN(17))
	case 4:
		return fmt.Sprintf("INSERT INTO t VALUES (%d, %s, %s, %d, %d) ON CONFLICT (id) DO UPDATE SET g = excluded.g",
			1000+r.IntN(50), []string{"NULL", "'g1'", "'g2'", "'new'"}[r.IntN(4)], []string{"NULL", "1.0", "2.125", "7"}[r.IntN(4)], r.IntN(6), r.IntN(1000))
	default:
		return fmt.Sprintf("DELETE FROM t WHERE id %% 23 = %d", r.IntN(23))
	}
}

// sameState fails the test unless the two programs' state tables hold
// the same rows, byte for byte.
func sameState(t *testing.T, pool interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, a, b string) {
	t.Helper()
	ctx := context.Background()
	tables := func(schema string) []string {
		rows, err := pool.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname ~ '^_(groups|index|ordered)_' ORDER BY 1`, schema)
		if err != nil {
			t.Fatal(err)
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	ta, tb := tables(a), tables(b)
	if !slices.Equal(ta, tb) {
		t.Fatalf("state tables %v and %v", ta, tb)
	}
	for _, table := range ta {
		contents := func(schema string) []string {
			rows, err := pool.Query(ctx, "SELECT q::text FROM "+pgx.Identifier{schema, table}.Sanitize()+" q ORDER BY 1")
			if err != nil {
				t.Fatal(err)
			}
			out, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		if ca, cb := contents(a), contents(b); !slices.Equal(ca, cb) {
			t.Errorf("%s differs: %d rows in memory, %d pushed down; first rows\n  %s\n  %s", table, len(ca), len(cb), first(ca), first(cb))
		}
	}
}

func first(rows []string) string {
	if len(rows) == 0 {
		return "(none)"
	}
	return rows[0]
}
