package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/pgtest"
)

// A group without keys has its row over no rows, as SQL's aggregates
// do, whether the table is empty at install (backfill), becomes empty
// later (steps), or is read by a backfill that Postgres aggregates.
func TestPostgresGroupWithoutKeys(t *testing.T) {
	for _, c := range []struct {
		rows     int
		pushdown bool
	}{{0, true}, {5, true}, {5, false}} {
		rows := c.rows
		pool, schema := pgtest.Schema(t)
		ctx := context.Background()
		mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int8)")
		mustExec(t, pool, "INSERT INTO t SELECT i, i FROM generate_series(1, "+strconv.Itoa(rows)+") i")
		// count and sum: aggregates a backfill has Postgres compute.
		pg := newPG(t, pool, schema, "source t = table t\nview total = t | group { n = count(), s = sum(x) }\noutput total to table total\n")
		pg.NoPushdown = !c.pushdown
		var log strings.Builder
		pg.Log = &log
		const sql = "SELECT count(*), sum(x) FROM t"
		for _, change := range []string{"", "INSERT INTO t VALUES (10, 7)", "DELETE FROM t", "INSERT INTO t VALUES (11, 1), (12, 2)"} {
			if change != "" {
				mustExec(t, pool, change)
			}
			if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
				t.Fatal(err)
			}
			sameTexts(t, pool, "total", sql)
		}
		if pushed := strings.Contains(log.String(), "Postgres computes the groups of"); pushed != c.pushdown {
			t.Errorf("%d rows, pushdown %v: the backfill pushed the aggregate down: %v\n%s", rows, c.pushdown, pushed, log.String())
		}
	}
}
