package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/oracle"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime/postgres"
	"github.com/stepping-io/stepping/zset"
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
	state := stateRows(t, pool, "prog_"+schema)
	// Without the watermark, the join's two integrals alone would hold
	// the 4,000 bids and 40 windows; the sweeps keep what is live (a
	// minute or two of bids) and wait for up to 1,024 rows.
	t.Logf("%d state rows after %d bids", state, rounds*perRound)
	if state > 1500 {
		t.Errorf("%d state rows after %d bids: the watermark freed too little", state, rounds*perRound)
	}
}

// TestPostgresWatermarkOracle drives a program with a watermark on
// Postgres with random transactions of insertions (some late), updates
// and deletions of rows old and new, each applied in steps of small
// chunks, and after every step checks each output against the reference
// evaluator over the rows the watermark let in, judged row by row: the
// Postgres runtime's semantics of late rows are the memory engine's.
func TestPostgresWatermarkOracle(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, `CREATE TABLE ev (id int8 PRIMARY KEY, k int8 NOT NULL, price int8 NOT NULL, at timestamp NOT NULL)`)
	src := `source ev = table ev (id int8, k int8, price int8, at timestamp, primary key (id))
  watermark at - interval "10 seconds"
view windowed = ev | tumble at every interval "10 seconds"
view tumbled = windowed | group by window_start { n = count(), hi = max(price) }
view highest = windowed | join tumbled on windowed.window_start == tumbled.window_start and windowed.price == tumbled.hi
  | select { id = windowed.id, ws = windowed.window_start }
view sessions = ev | session at gap interval "7 seconds" per k
  | group by k, window_start, window_end { n = count(), hi = max(price) }
view per_k = ev | group by k { n = count() }
output tumbled to table tumbled
output highest to table highest
output sessions to table sessions
output per_k to table per_k
`
	prog, err := compile.Compile(ctx, "oracle.step", src, pool)
	if err != nil {
		t.Fatal(err)
	}
	pg := newPG(t, pool, schema, src)
	pg.SweepRows = 20 // sweep often: the outputs must not notice
	rng := rand.New(rand.NewPCG(11, 12))
	frontier := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	table := map[int64]zset.Row{}
	accepted := zset.New()
	var latest time.Time
	late := func(row zset.Row) bool {
		return !latest.IsZero() && row[3].(time.Time).Before(latest.Add(-10*time.Second))
	}
	var nextID int64
	lateRows := 0
	for round := range 60 {
		frontier = frontier.Add(time.Duration(rng.IntN(4000)) * time.Millisecond)
		step := zset.New() // the round's changes, consolidated as the log is
		var stmts []string
		for range 1 + rng.IntN(8) {
			at := frontier.Add(-time.Duration(rng.IntN(15_000)) * time.Millisecond)
			row := zset.Row{nextID, int64(rng.IntN(3)), int64(rng.IntN(40)), at}
			switch r := rng.IntN(10); {
			case r < 6 || nextID == 0:
				nextID++
				stmts = append(stmts, fmt.Sprintf("INSERT INTO ev VALUES (%d, %d, %d, '%s')", row[0], row[1], row[2], at.Format("2006-01-02 15:04:05.000")))
				table[row[0].(int64)] = row
				step.Add(row, 1)
			default:
				id := nextID - 1 - int64(rng.IntN(int(min(nextID, 30))))
				old := table[id]
				if old == nil {
					continue
				}
				step.Add(old, -1)
				if r < 8 {
					delete(table, id)
					stmts = append(stmts, fmt.Sprintf("DELETE FROM ev WHERE id = %d", id))
					continue
				}
				row[0] = id
				table[id] = row
				step.Add(row, 1)
				stmts = append(stmts, fmt.Sprintf("UPDATE ev SET k = %d, price = %d, at = '%s' WHERE id = %d", row[1], row[2], at.Format("2006-01-02 15:04:05.000"), id))
			}
		}
		mustExec(t, pool, "BEGIN; "+strings.Join(stmts, "; ")+"; COMMIT")
		if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
		moved := latest
		step.Each(func(row zset.Row, w int64) {
			if late(row) {
				lateRows++
				return
			}
			accepted.Add(row, w)
			if at := row[3].(time.Time); w > 0 && at.After(moved) {
				moved = at
			}
		})
		latest = moved
		want, err := oracle.Eval(prog.Checked, map[string]*zset.ZSet{"ev": accepted})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range prog.Circuit.Outputs {
			got, err := pg.ReadOutput(ctx, o.View.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(want[o.View.Name]) {
				t.Fatalf("round %d: output %s differs from the oracle\npostgres - oracle: %v\noracle - postgres: %v",
					round, o.View.Name, got.Minus(want[o.View.Name]), want[o.View.Name].Minus(got))
			}
		}
	}
	if state, inserted := stateRows(t, pool, "prog_"+schema), int(nextID); state > inserted/2 {
		t.Errorf("%d state rows for %d rows inserted: the sweeps freed too little", state, inserted)
	} else {
		t.Logf("%d state rows for %d rows inserted", state, inserted)
	}
	marks, err := pg.Watermarks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lateRows == 0 || len(marks) != 1 || marks[0].Late != int64(lateRows) || !marks[0].Latest.Equal(latest) {
		t.Errorf("watermarks %+v; want %d late rows (some) and the latest time %v", marks, lateRows, latest)
	}
}

// stateRows counts the rows of a program's index and group state tables.
func stateRows(t *testing.T, pool *pgxpool.Pool, progSchema string) int {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT format('%I.%I', schemaname, relname) FROM pg_stat_user_tables
 WHERE schemaname = $1 AND (relname LIKE '\_index\_%' OR relname LIKE '\_groups\_%' OR relname LIKE '\_ordered\_%')`, progSchema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) == 0 {
		t.Fatalf("state tables %v: %v", tables, err)
	}
	state := 0
	for _, tab := range tables {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+tab).Scan(&n); err != nil {
			t.Fatal(err)
		}
		state += n
	}
	return state
}
