package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime/postgres"
)

const backfillProgram = `source t = table t
view v = t | group by t.g { n = count(), s = sum(t.x), inv = sum(100 / t.x) }
output v to table out_v primary key (g)
`

const backfillWant = "SELECT g, count(*), sum(x), sum(100 / x) FROM t GROUP BY g"

// The backfill computes from its snapshot of the sources; changes logged
// before it are in that snapshot and are not applied again, and a change
// its snapshot does not see (a transaction open while it ran) is applied
// after it.
func TestPostgresBackfillTakesItsSnapshot(t *testing.T) {
	for _, c := range []struct {
		name         string
		batch, inMem int
	}{
		{"in memory", 10_000, 0},
		{"past the memory bound", 3, 5},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, g int4 NOT NULL, x int4 NOT NULL);
INSERT INTO t SELECT i, i % 4, 1 + i % 7 FROM generate_series(1, 60) i`)
			pg := newPG(t, pool, schema, backfillProgram)
			pg.BatchSize, pg.BackfillRows = c.batch, c.inMem
			if err := pg.Setup(ctx, false); err != nil {
				t.Fatal(err)
			}
			// Captured, and also in the backfill's snapshot.
			mustExec(t, pool, "INSERT INTO t VALUES (100, 1, 5); UPDATE t SET x = x + 1 WHERE id <= 10; DELETE FROM t WHERE id = 20")
			// Open while the backfill runs: not in its snapshot.
			writer, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer writer.Rollback(ctx)
			if _, err := writer.Exec(ctx, "INSERT INTO t VALUES (101, 2, 3); UPDATE t SET g = 3 WHERE id = 30"); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.ApplyPending(ctx, nil); err != nil {
				t.Fatal(err)
			}
			// The open transaction's changes are not seen here either.
			sameTexts(t, pool, "out_v", backfillWant)
			if err := writer.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := pg.ApplyPending(ctx, nil); err != nil {
				t.Fatal(err)
			}
			sameTexts(t, pool, "out_v", backfillWant)
			steps, err := pg.Steps(ctx)
			if err != nil || steps != 2 {
				t.Errorf("steps = %d (%v), want 2: the backfill and the open transaction's changes", steps, err)
			}
		})
	}
}

// A backfill that fails for good names the source table and the row, and
// rolls back whole: once the row is corrected, the next run backfills
// from the sources as they are then.
func TestPostgresBackfillFailureLosesNothing(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, g int4 NOT NULL, x int4 NOT NULL);
INSERT INTO t SELECT i, i % 4, 1 + i % 7 FROM generate_series(1, 30) i;
INSERT INTO t VALUES (31, 1, 0)`)
	pg := newPG(t, pool, schema, backfillProgram)
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	_, err := pg.ApplyPending(ctx, nil)
	var f *postgres.Failure
	if !errors.As(err, &f) {
		t.Fatalf("got %v, want a Failure", err)
	}
	msg := err.Error()
	for _, want := range []string{"division by zero", `"t"`, `"id":31`, "view v"} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q does not say %s", msg, want)
		}
	}
	if rows := rowTexts(t, pool, "TABLE out_v"); len(rows) != 0 {
		t.Errorf("a failed backfill left rows in its output: %v", rows)
	}
	mustExec(t, pool, "UPDATE t SET x = 2 WHERE id = 31")
	if _, err := pg.ApplyPending(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", backfillWant)
	mustExec(t, pool, "UPDATE t SET x = 3 WHERE id = 31")
	if _, err := pg.ApplyPending(ctx, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", backfillWant)
}
