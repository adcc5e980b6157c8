package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// A join whose integrals read their source tables (issue 10).
const sourcedProgram = `source li = table li
source p = table p
view totals = li | join p on li.name == p.name | group by li.basket { total = sum(p.price * li.qty), n = count() }
view pairs = li | join p on li.name == p.name and li.qty == p.stock | select { li.basket, li.name, p.price }
output totals to table totals primary key (basket)
output pairs to table pairs
`

const sourcedDDL = `CREATE TABLE li (basket int8 NOT NULL, name text NOT NULL, qty int4 NOT NULL, PRIMARY KEY (basket, name));
CREATE TABLE p (name text PRIMARY KEY, price numeric NOT NULL, stock int4 NOT NULL);`

var sourcedWant = map[string]string{
	"totals": "SELECT li.basket, sum(p.price * li.qty), count(*) FROM li JOIN p ON li.name = p.name GROUP BY li.basket",
	"pairs":  "SELECT li.basket, li.name, p.price FROM li JOIN p ON li.name = p.name AND li.qty = p.stock",
}

// sourcedChange is a random change of li or p.
func sourcedChange(r *rand.Rand) string {
	names := []string{"tv", "radio", "lamp", "o'neil"}
	n := quote(names[r.IntN(len(names))])
	b := r.IntN(6)
	switch r.IntN(7) {
	case 0:
		return fmt.Sprintf("INSERT INTO p VALUES (%s, %d.%d0, %d) ON CONFLICT DO NOTHING", n, 1+r.IntN(9), r.IntN(10), r.IntN(3))
	case 1:
		return fmt.Sprintf("UPDATE p SET price = %d.%02d, stock = %d WHERE name = %s", 1+r.IntN(9), r.IntN(100), r.IntN(3), n)
	case 2:
		return "DELETE FROM p WHERE name = " + n
	case 3, 4:
		return fmt.Sprintf("INSERT INTO li VALUES (%d, %s, %d) ON CONFLICT (basket, name) DO UPDATE SET qty = excluded.qty", b, n, r.IntN(3))
	case 5:
		return fmt.Sprintf("UPDATE li SET qty = qty + 1, name = %s WHERE ctid = (SELECT ctid FROM li WHERE basket = %d LIMIT 1) AND NOT EXISTS (SELECT 1 FROM li x WHERE x.basket = %[2]d AND x.name = %[1]s)", n, b)
	}
	return fmt.Sprintf("DELETE FROM li WHERE basket = %d", b)
}

// checkSourced compares the outputs of sourcedProgram with their
// recomputation.
func checkSourced(t *testing.T, pool *pgxpool.Pool, round int) {
	t.Helper()
	for table, query := range sourcedWant {
		n, err := diff(context.Background(), pool, table, query)
		if err != nil {
			t.Fatalf("round %d: comparing %s: %v", round, table, err)
		}
		if n != 0 {
			t.Fatalf("round %d: output %s differs from recomputation in %d rows", round, table, n)
		}
	}
}

// Steps of several chunks (BatchSize 1 to 3) apply each chunk's changes
// before the next chunk's lookups, and a transaction left open while
// steps run is applied once it commits.
func TestPostgresSourceBackedChunks(t *testing.T) {
	for _, c := range []struct {
		batch, inMem int
	}{{1, 0}, {2, 0}, {3, 0}, {2, 4}} {
		t.Run(fmt.Sprintf("batch %d backfill %d", c.batch, c.inMem), func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, sourcedDDL)
			r := rand.New(rand.NewPCG(uint64(c.batch), uint64(c.inMem)))
			for range 30 {
				mustExec(t, pool, sourcedChange(r))
			}
			pg := newPG(t, pool, schema, sourcedProgram)
			pg.BatchSize, pg.BackfillRows = c.batch, c.inMem
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			if backed := sourceBacked(t, pool, pg); len(backed) != 4 {
				t.Fatalf("source-backed integrals %v, want all 4", backed)
			}
			// Open while steps run: neither its rows nor its log rows
			// are seen until it commits.
			writer, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer writer.Rollback(ctx)
			if _, err := writer.Exec(ctx, "INSERT INTO p VALUES ('desk', 7.5, 1); INSERT INTO li VALUES (100, 'desk', 1), (101, 'tv', 2)"); err != nil {
				t.Fatal(err)
			}
			for round := range 30 {
				if round == 20 {
					if err := writer.Commit(ctx); err != nil {
						t.Fatal(err)
					}
				}
				// Several source transactions a step.
				for range 1 + r.IntN(5) {
					tx, err := pool.Begin(ctx)
					if err != nil {
						t.Fatal(err)
					}
					for range 1 + r.IntN(3) {
						if sql := sourcedChange(r); !execIn(ctx, tx, sql) {
							_ = tx.Rollback(ctx)
							t.Fatalf("round %d: %s failed", round, sql)
						}
					}
					if err := tx.Commit(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				checkSourced(t, pool, round)
			}
			var left int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{pg.Schema, "_log"}.Sanitize()).Scan(&left); err != nil || left != 0 {
				t.Errorf("%d log rows left after the last step (%v)", left, err)
			}
		})
	}
}

// A role that may not create an index on a source (not its owner) keeps
// a state table for that integral, and its outputs are right.
func TestPostgresSourceBackedLeastPrivilege(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, sourcedDDL)
	r := rand.New(rand.NewPCG(3, 4))
	for range 30 {
		mustExec(t, pool, sourcedChange(r))
	}
	role, installer := pgtest.Role(t, schema)
	quoted := pgx.Identifier{role}.Sanitize()
	prog := compileProgram(t, pool, sourcedProgram)
	pg := &postgres.Runner{Pool: installer, Circuit: prog.Circuit, Schema: "prog_" + schema, BatchSize: 2}
	mustExec(t, pool, fmt.Sprintf("CREATE SCHEMA %s AUTHORIZATION %s; GRANT SELECT, TRIGGER, UPDATE ON li, p TO %[2]s; GRANT CREATE ON SCHEMA %s TO %[2]s",
		pgx.Identifier{pg.Schema}.Sanitize(), quoted, pgx.Identifier{schema}.Sanitize()))
	t.Cleanup(func() {
		owner := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: pg.Schema}
		if err := owner.Drop(context.Background(), true); err != nil {
			t.Error(err)
		}
	})
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	// p's integrals, by name and by (name, stock), use p's primary key
	// (unique, on name): they read p. li's primary key, (basket, name),
	// serves neither of li's, and the role may not index li: li's
	// integrals keep state tables.
	backed := sourceBacked(t, pool, pg)
	if len(backed) != 2 {
		t.Errorf("source-backed integrals %v, want p's two", backed)
	}
	var tables int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname LIKE '\\_index\\_%'", pg.Schema).Scan(&tables); err != nil || tables != 2 {
		t.Errorf("%d state tables of integrals (%v), want li's two", tables, err)
	}
	for round := range 15 {
		for range 1 + r.IntN(4) {
			mustExec(t, pool, sourcedChange(r))
		}
		if _, err := pg.ApplyPending(ctx, nil); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkSourced(t, pool, round)
	}
}

// Drop, and a rebuild, remove the index install created on a source,
// never the user's own index on the same table.
func TestPostgresSourceBackedDropsOnlyItsIndex(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, sourcedDDL+"CREATE INDEX users_own ON li (qty);")
	indexes := func() []string {
		return rowTexts(t, pool, fmt.Sprintf("SELECT indexname FROM pg_indexes WHERE schemaname = '%s' AND tablename = 'li'", schema))
	}
	before := indexes()
	pg := newPG(t, pool, schema, sourcedProgram)
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	created := indexes()
	if len(created) != len(before)+1 {
		t.Fatalf("indexes of li after install: %v, want one more than %v", created, before)
	}
	// A rebuild drops it with the old state and creates it again.
	changed := *pg
	changedProg := compileProgram(t, pool, sourcedProgram+"view extra = p | select { name }\noutput extra\n")
	changed.Circuit = changedProg.Circuit
	if err := changed.Setup(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := indexes(); fmt.Sprint(got) != fmt.Sprint(created) {
		t.Errorf("indexes of li after a rebuild: %v, want %v", got, created)
	}
	mustExec(t, pool, "INSERT INTO p VALUES ('tv', 2.5, 1); INSERT INTO li VALUES (1, 'tv', 2)")
	if _, err := changed.ApplyPending(ctx, nil); err != nil {
		t.Fatal(err)
	}
	checkSourced(t, pool, 0)
	if err := changed.Drop(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := indexes(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("indexes of li after drop: %v, want %v", got, before)
	}
}

// Numeric keys spelled differently (1.5, 1.50) join as equal, and the
// rows keep their spelling, whether read by the backfill, from the
// source, or from the pending log.
func TestPostgresSourceBackedNumericSpelling(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE a (id int4 PRIMARY KEY, k numeric NOT NULL);
CREATE TABLE b (k numeric NOT NULL, f float8 NOT NULL, label text NOT NULL);
INSERT INTO a VALUES (1, 1.5), (2, 2.00);
INSERT INTO b VALUES (1.50, -0, 'x'), (2, 'NaN', 'y');`)
	pg := newPG(t, pool, schema, `source a = table a
source b = table b
view j = a | join b on a.k == b.k | select { id, ak = a.k, bk = b.k, f, label }
view g = a | join b as b2 on a.id::float8 == b2.f | select { id, bk = b2.k }
output j to table j
output g to table g
`)
	pg.BatchSize = 1
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	if backed := sourceBacked(t, pool, pg); len(backed) < 2 {
		t.Fatalf("source-backed integrals %v, want a's and b's on k", backed)
	}
	wantJ := "SELECT a.id, a.k, b.k, b.f, b.label FROM a JOIN b ON a.k = b.k"
	wantG := "SELECT a.id, b.k FROM a JOIN b ON a.id::float8 = b.f"
	for i, sql := range []string{
		"",
		"INSERT INTO a VALUES (3, 1.500), (4, 2.0)",
		"INSERT INTO b VALUES (1.5000, 0, 'z'), (2.0, 1, 'w')",
		"UPDATE b SET k = 2.000 WHERE label = 'x'",
		"DELETE FROM a WHERE k = 1.5 AND id = 1; UPDATE a SET k = 1.50 WHERE id = 3",
		"INSERT INTO b VALUES (3, 3, 'v'); INSERT INTO a VALUES (5, 3.0)",
	} {
		if sql != "" {
			mustExec(t, pool, sql)
		}
		if _, err := pg.ApplyPending(ctx, nil); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
		sameTexts(t, pool, "j", wantJ)
		sameTexts(t, pool, "g", wantG)
	}
}

// A backfill past its memory bound, with integrals that read their
// sources, sees only the source rows it has read so far.
func TestPostgresSourceBackedBackfillPastBound(t *testing.T) {
	for _, inMem := range []int{1, 7, 50} {
		t.Run(fmt.Sprint(inMem), func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, sourcedDDL+`
INSERT INTO p SELECT 'n' || i, i * 1.5, i % 3 FROM generate_series(1, 40) i;
INSERT INTO li SELECT b, 'n' || (1 + (b * 7 + j) % 45), (b + j) % 3 FROM generate_series(1, 30) b, generate_series(1, 3) j;
DELETE FROM p WHERE name IN ('n3', 'n9');
UPDATE li SET qty = qty + 1 WHERE basket % 4 = 0;`)
			// A self-join: lookups into the source being read.
			pg := newPG(t, pool, schema, sourcedProgram+"view self = li | join li as l2 on li.name == l2.name | select { a = li.basket, b = l2.basket, n = l2.qty }\noutput self to table self\n")
			pg.BatchSize, pg.BackfillRows = 4, inMem
			self := "SELECT li.basket, l2.basket, l2.qty FROM li JOIN li l2 ON li.name = l2.name"
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.ApplyPending(ctx, nil); err != nil {
				t.Fatal(err)
			}
			checkSourced(t, pool, 0)
			sameTexts(t, pool, "self", self)
			r := rand.New(rand.NewPCG(uint64(inMem), 1))
			for round := 1; round < 10; round++ {
				mustExec(t, pool, sourcedChange(r))
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatal(err)
				}
				checkSourced(t, pool, round)
				sameTexts(t, pool, "self", self)
			}
		})
	}
}

// execIn runs sql in tx, reporting whether it succeeded.
func execIn(ctx context.Context, tx pgx.Tx, sql string) bool {
	_, err := tx.Exec(ctx, sql)
	return err == nil
}

// The log's index of a source-backed integral never fails the writer: a
// key column retyped under the program (widened, or made text) takes any
// value, and the runner, not the writer, stops on the drift.
func TestPostgresSourceBackedCaptureNeverFailsWriter(t *testing.T) {
	for _, c := range []struct{ alter, insert string }{
		{"ALTER TABLE o ALTER COLUMN k TYPE int8", "INSERT INTO o VALUES (99999999999, 1)"},
		{"ALTER TABLE o ALTER COLUMN k TYPE text", "INSERT INTO o VALUES ('abc', 1)"},
		{"ALTER TABLE o ALTER COLUMN k TYPE numeric", "INSERT INTO o VALUES (1e300, 1)"},
	} {
		t.Run(c.alter, func(t *testing.T) {
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, "CREATE TABLE c (id int4 PRIMARY KEY, k int4); CREATE TABLE o (k int4, amt int4); INSERT INTO c VALUES (1, 1); INSERT INTO o VALUES (1, 5)")
			pg := newPG(t, pool, schema, "source c = table c\nsource o = table o\nview j = c | join o on c.k == o.k | select { id, amt }\noutput j to table j\n")
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.ApplyPending(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if backed := sourceBacked(t, pool, pg); len(backed) != 2 {
				t.Fatalf("source-backed integrals %v, want 2", backed)
			}
			mustExec(t, pool, c.alter)
			mustExec(t, pool, c.insert)
			if _, err := pg.ApplyPending(ctx, nil); err == nil {
				t.Log("the runner read the retyped column")
			}
		})
	}
}

// Every key type a source-backed integral takes reads its keys back into
// SQL values that = finds: each joins as Postgres joins it.
func TestPostgresSourceBackedKeyTypes(t *testing.T) {
	for _, c := range []struct{ typ, values string }{
		{"int2", "(-32768), (0), (7)"},
		{"int4", "(-2147483648), (0), (2147483647)"},
		{"int8", "(-9223372036854775808), (0), (9223372036854775807), (123456789012345678)"},
		{"numeric", "(1.5), (1.50), (-0.001), (1e30), (0)"},
		{"text", "('a'), (''), ('o''neil'), ('héllo'), ('A')"},
		{"bool", "(true), (false)"},
		{"uuid", "('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), ('00000000-0000-0000-0000-000000000000')"},
		{"float4", "(1.1), ('-0'), ('NaN'), ('Infinity'), (3.4e38), (1e-30)"},
		{"float8", "(1.1), ('-0'), (0), ('NaN'), ('-Infinity'), (1e300), (5e-324)"},
	} {
		t.Run(c.typ, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, fmt.Sprintf(`CREATE TABLE a (id serial PRIMARY KEY, k %[1]s NOT NULL); CREATE TABLE b (id serial PRIMARY KEY, k %[1]s NOT NULL);
INSERT INTO a (k) VALUES %[2]s; INSERT INTO b (k) VALUES %[2]s`, c.typ, c.values))
			pg := newPG(t, pool, schema, "source a = table a\nsource b = table b\nview j = a | join b on a.k == b.k | select { x = a.id, y = b.id }\noutput j to table j\n")
			pg.BatchSize = 2
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			if backed := sourceBacked(t, pool, pg); len(backed) != 2 {
				t.Fatalf("source-backed integrals %v, want 2", backed)
			}
			want := "SELECT a.id, b.id FROM a JOIN b ON a.k = b.k"
			for i, sql := range []string{
				"",
				"INSERT INTO a (k) VALUES " + c.values,
				"INSERT INTO b (k) VALUES " + c.values + "; DELETE FROM a WHERE id % 3 = 0",
				"UPDATE b SET id = id + 100 WHERE id % 2 = 0",
			} {
				if sql != "" {
					mustExec(t, pool, sql)
				}
				if _, err := pg.ApplyPending(ctx, nil); err != nil {
					t.Fatalf("change %d: %v", i, err)
				}
				sameTexts(t, pool, "j", want)
			}
		})
	}
}

// With NoSourceIndexes install makes no index on a source: an integral
// that an index of the source serves still reads it, the others keep
// state tables, and the outputs are right either way.
func TestPostgresNoSourceIndexes(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, sourcedDDL)
	r := rand.New(rand.NewPCG(5, 6))
	for range 30 {
		mustExec(t, pool, sourcedChange(r))
	}
	pg := newPG(t, pool, schema, sourcedProgram)
	pg.NoSourceIndexes = true
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	// p's primary key (on name) serves p's two integrals; li's primary
	// key, (basket, name), serves neither of li's.
	if backed := sourceBacked(t, pool, pg); len(backed) != 2 {
		t.Errorf("source-backed integrals %v, want p's two", backed)
	}
	var made int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename IN ('li', 'p') AND indexname LIKE 'stepping\\_%'", schema).Scan(&made); err != nil || made != 0 {
		t.Errorf("%d indexes made on the sources (%v), want none", made, err)
	}
	for round := range 10 {
		for range 1 + r.IntN(4) {
			mustExec(t, pool, sourcedChange(r))
		}
		if _, err := pg.ApplyPending(ctx, nil); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		checkSourced(t, pool, round)
	}
}
