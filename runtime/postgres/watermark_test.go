package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// A watermark on Postgres: the rows present at install set it, a later
// step drops the rows of changes before it (an insertion, an update's
// old row) and counts them, and a new runner resumes with the watermark
// the last step recorded.
func TestPostgresWatermark(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE bids (id int8 PRIMARY KEY, price int8 NOT NULL, at timestamp NOT NULL);
INSERT INTO bids VALUES (1, 10, '2024-03-01 00:00'), (2, 20, '2024-03-01 00:25'), (3, 30, '2024-03-01 00:50')`)
	const src = `source bids = table bids (id int8, price int8, at timestamp, primary key (id))
  watermark at - interval "10 minutes"
view windows = bids | tumble at every interval "10 minutes"
  | group by window_start { n = count(), hi = max(price) }
output windows to table windows
`
	pg := newPG(t, pool, schema, src)
	run := func(pg *postgres.Runner) {
		t.Helper()
		if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
	run(pg)
	marks, err := pg.Watermarks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(marks) != 1 || !marks[0].Set || !marks[0].Watermark().Equal(time.Date(2024, 3, 1, 0, 40, 0, 0, time.UTC)) || marks[0].Late != 0 {
		t.Fatalf("after the backfill: %+v, want the watermark at 00:40 and nothing late", marks)
	}
	// The watermark is 00:40: a new row at 00:45 is on time, one at 00:05
	// late. Rows 1 and 2, before it, are final: their updates' new rows,
	// on time, are taken, and their old rows stay. The deletion of row 1
	// then retracts its new row.
	mustExec(t, pool, `INSERT INTO bids VALUES (4, 40, '2024-03-01 00:45'), (5, 50, '2024-03-01 00:05');
UPDATE bids SET price = 11, at = '2024-03-01 00:45' WHERE id = 1;
UPDATE bids SET price = 21, at = '2024-03-01 00:41' WHERE id = 2`)
	run(pg)
	mustExec(t, pool, `DELETE FROM bids WHERE id = 1`)
	run(pg)
	const before = `('2024-03-01 00:00'::timestamp, 1::int8, 10::int8), ('2024-03-01 00:20', 1, 20), ('2024-03-01 00:40', 2, 40), ('2024-03-01 00:50', 1, 30)`
	sameTexts(t, pool, "windows", "VALUES "+before)
	again := newPG(t, pool, schema, src)
	marks, err = again.Watermarks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(marks) != 1 || !marks[0].Watermark().Equal(time.Date(2024, 3, 1, 0, 40, 0, 0, time.UTC)) || marks[0].Late != 3 {
		t.Fatalf("recorded: %+v, want the watermark at 00:40 and 3 late changes", marks)
	}
	// A new runner judges by the recorded watermark.
	mustExec(t, pool, `INSERT INTO bids VALUES (6, 60, '2024-03-01 00:39'), (7, 70, '2024-03-01 01:00')`)
	run(again)
	sameTexts(t, pool, "windows", "VALUES "+before+", ('2024-03-01 01:00', 1, 70)")
	if marks, _ = again.Watermarks(ctx); marks[0].Late != 4 || !marks[0].Watermark().Equal(time.Date(2024, 3, 1, 0, 50, 0, 0, time.UTC)) {
		t.Fatalf("at the end: %+v, want the watermark at 00:50 and 4 late changes", marks)
	}
}

// TestPostgresWatermarkFreesState streams bids through windows and a
// join on the window, run after run: the outputs equal SQL over the
// bids, and the state tables hold the open windows only, not the
// stream.
func TestPostgresWatermarkFreesState(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE bids (id int8 PRIMARY KEY, price int8 NOT NULL, at timestamp NOT NULL)`)
	pg := newPG(t, pool, schema, `source bids = table bids (id int8, price int8, at timestamp, primary key (id))
  watermark at - interval "1 minute"
view windowed = bids | tumble at every interval "1 minute"
view per_window = windowed | group by window_start { n = count(), hi = max(price) }
view highest = windowed | join per_window on windowed.window_start == per_window.window_start and windowed.price == per_window.hi
  | select { id = windowed.id, price = windowed.price, window_start = windowed.window_start }
output per_window to table per_window
output highest to table highest
`)
	pg.BatchSize = 500
	const rounds, perRound = 40, 100
	for r := range rounds {
		// Round r's bids fall in minute r, up to 30 seconds out of order.
		mustExec(t, pool, fmt.Sprintf(`INSERT INTO bids
SELECT %d * %d + i, (i * 37) %% 101, timestamp '2024-03-01' + (%d * 60 + (i * 13) %% 60 - (i %% 7) * 4) * interval '1 second'
  FROM generate_series(0, %d) i`, r, perRound, r, perRound-1))
		if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
	sameTexts(t, pool, "per_window", `SELECT date_bin('1 minute', at, timestamp '1970-01-01'), count(*), max(price) FROM bids GROUP BY 1`)
	sameTexts(t, pool, "highest", `SELECT b.id, b.price, w.ws FROM bids b
  JOIN (SELECT date_bin('1 minute', at, timestamp '1970-01-01') ws, max(price) hi FROM bids GROUP BY 1) w
    ON date_bin('1 minute', b.at, timestamp '1970-01-01') = w.ws AND b.price = w.hi`)
	var state int
	rows, err := pool.Query(ctx, `SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables
 WHERE schemaname = $1 AND (relname LIKE '\_index\_%' OR relname LIKE '\_groups\_%')`, "prog_"+schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("state tables %v: %v", tables, err)
	}
	for _, tab := range tables {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tab).Scan(&n); err != nil {
			t.Fatal(err)
		}
		state += n
	}
	// Without the watermark, the join's two integrals alone would hold
	// the 4,000 bids and 40 windows; the sweeps keep what is live (a
	// minute or two of bids) and wait for up to 1,024 rows.
	t.Logf("%d state rows in %d tables after %d bids", state, len(tables), rounds*perRound)
	if state > 1500 {
		t.Errorf("%d state rows after %d bids: the watermark freed too little", state, rounds*perRound)
	}
}
