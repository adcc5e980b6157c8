package runtime_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/pgtest"
)

// rowTexts returns a query's rows as their text forms, sorted: what a
// comparison by representation (not by =) needs.
func rowTexts(t *testing.T, pool *pgxpool.Pool, query string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT q::text FROM ("+query+") q")
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	slices.Sort(out)
	return out
}

// sameTexts fails the test when the output table and the query differ by
// representation.
func sameTexts(t *testing.T, pool *pgxpool.Pool, table, query string) {
	t.Helper()
	got, want := rowTexts(t, pool, "TABLE "+table), rowTexts(t, pool, query)
	if !slices.Equal(got, want) {
		t.Fatalf("output %s holds\n  %s\nwant\n  %s", table, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestPostgresTransactionsAreNeverSplit(t *testing.T) {
	for _, batch := range []int{1, 2, 3, 10_000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			t.Parallel()
			pool, schema := pgtest.Schema(t)
			ctx := context.Background()
			mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL);
INSERT INTO t SELECT i, 1 FROM generate_series(1, 5) i`)
			pg := newPG(t, pool, schema, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v primary key (id)\n")
			pg.BatchSize = batch
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			mustExec(t, pool, "UPDATE t SET x = 2")
			// Keys swap places within one transaction: the new row of a
			// key comes before the old one's retraction in the log.
			mustExec(t, pool, "BEGIN; UPDATE t SET id = -id WHERE id <= 2; UPDATE t SET id = 3 + id WHERE id < 0; COMMIT")
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
		})
	}
}

// A row trigger that writes the table it fires on puts the nested
// statement's changes in the log before the outer statement's.
func TestPostgresNestedTriggerWrites(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL);
CREATE FUNCTION bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.x = 1 THEN UPDATE t SET x = x + 10 WHERE id = NEW.id; END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER bump AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION bump();
INSERT INTO t SELECT 100 + i, 0 FROM generate_series(1, 4) i`)
	pg := newPG(t, pool, schema, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v\n")
	pg.BatchSize = 1
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "INSERT INTO t SELECT i, 1 FROM generate_series(1, 4) i")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
}

// Retractions remove the row retracted, by representation: 1.5 and 1.50
// are different rows, as are 0 and 0.0, and float -0 and 0.
func TestPostgresRetractionByRepresentation(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE a (id int PRIMARY KEY, v numeric NOT NULL, f float8, i interval);
INSERT INTO a VALUES (1, 0, 0, '1 day'), (2, 0.0, '-0', '24 hours'), (3, 1.5, 1, '1 day'), (4, 1.50, 2, '1 day')`)
	pg := newPG(t, pool, schema, "source a = table a\nview s = a | where v >= 0 | select { v, f, i }\noutput s to table s\n"+
		"view g = a | group by v { n = count() }\noutput g to table g\n")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, pool, "DELETE FROM a WHERE id IN (1, 4)")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "s", "SELECT v, f, i FROM a")
	mustExec(t, pool, "UPDATE a SET f = 0, i = '1 day' WHERE id = 2")
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "s", "SELECT v, f, i FROM a")
}

func mustExec(t *testing.T, pool *pgxpool.Pool, sql string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
