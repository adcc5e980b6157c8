package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/pgtest"
)

// A stamp kept in Postgres: rows present at install take the backfill's
// time, later ones their step's, and a deletion in a later run retracts
// the copy that arrived last, the state having lasted between runs.
func TestPostgresStamp(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	mustExec(t, pool, "CREATE TABLE bids (auction int NOT NULL, price int NOT NULL); INSERT INTO bids VALUES (1, 10), (2, 5)")
	pg := newPG(t, pool, schema, "source bids = table bids\nview arrived = bids | stamp at\noutput arrived to table arrived\n")
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	pg.Clock = func() time.Time { return now }
	run := func() {
		t.Helper()
		if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
			t.Fatal(err)
		}
	}
	run()
	now = now.Add(time.Hour)
	mustExec(t, pool, "INSERT INTO bids VALUES (1, 10)")
	run()
	now = now.Add(time.Hour)
	mustExec(t, pool, "DELETE FROM bids WHERE ctid = (SELECT ctid FROM bids WHERE auction = 1 LIMIT 1)")
	run()
	sameTexts(t, pool, "arrived", "VALUES (1, 10, '2024-03-01 12:00:00+00'::timestamptz), (2, 5, '2024-03-01 12:00:00+00')")
}
