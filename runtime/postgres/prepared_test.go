package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/testwait"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// On a cluster that allows prepared transactions, capture leaves the
// application free to PREPARE TRANSACTION (an XA transaction manager's
// first phase), which a NOTIFY from the trigger would forbid, and the
// continuous runner, told of nothing, finds the changes by polling. The
// shared server cannot prepare transactions (max_prepared_transactions
// needs a restart), so this runs on a private cluster.
func TestPostgresPreparedTransactions(t *testing.T) {
	// Waits end shortly before the test's deadline, so that a runner that
	// never applies fails the test saying what it was waiting for.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	expired := testwait.Expired(t)
	go func() {
		select {
		case <-expired:
			cancel()
		case <-ctx.Done():
		}
	}()

	dsn := pgtest.Cluster(t, "max_prepared_transactions=5")
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.Exec(ctx, "CREATE SCHEMA app")
	admin.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = "app"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after the cluster: closed before it stops.
	t.Cleanup(pool.Close)

	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL); INSERT INTO t VALUES (1, 1)")
	prog := compileProgram(t, pool, "source t = table t\nview v = t | select { id, x }\noutput v to table out_v primary key (id)\n")
	polling := &signalWriter{want: "looking for changes every", seen: make(chan struct{})}
	// No Drop at the end: the cluster is thrown away whole.
	pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: "prog", Log: polling}
	if err := pg.Run(ctx, false, true, time.Second, nil); err != nil {
		t.Fatal(err)
	}
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")

	// Listening before any write, the test misses no step that applies it.
	steps, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer steps.Close(context.Background())
	if _, err := steps.Exec(ctx, "LISTEN "+pgx.Identifier{pg.StepChannel()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	// The runner's own poll interval is an hour: only the shorter one it
	// takes where capture cannot notify brings it the changes in time.
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- pg.Run(runCtx, false, false, time.Hour, nil) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	}()
	select {
	case <-polling.seen:
	case err := <-done:
		t.Fatalf("the runner stopped: %v", err)
	case <-ctx.Done():
		t.Fatalf("the runner never said it polls for changes on a cluster that allows prepared transactions; its log:\n%s", polling.String())
	}

	// waitFor waits, step by step, until the output holds id.
	waitFor := func(id int) {
		t.Helper()
		for {
			var n int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM out_v WHERE id = $1", id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return
			}
			if _, err := steps.WaitForNotification(ctx); err != nil {
				t.Fatalf("waiting for the runner to apply row %d: %v", id, err)
			}
		}
	}

	// Two application transactions prepare; while both are in doubt a
	// plain one commits, and is applied without waiting for them.
	for _, sql := range []string{
		"BEGIN; INSERT INTO t VALUES (2, 2); PREPARE TRANSACTION 'app1'",
		"BEGIN; INSERT INTO t VALUES (3, 3); UPDATE t SET x = 10 WHERE id = 1; PREPARE TRANSACTION 'app2'",
		"INSERT INTO t VALUES (4, 4)",
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	waitFor(4)
	sameTexts(t, pool, "out_v", "SELECT * FROM (VALUES (1::int8, 1::int4), (4, 4)) v")

	// The transaction manager's second phase: one commits, the other
	// rolls back, and only the committed one reaches the output.
	mustExec(t, pool, "COMMIT PREPARED 'app1'")
	mustExec(t, pool, "ROLLBACK PREPARED 'app2'")
	waitFor(2)
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")

	// And after them, plain writes still are captured and applied.
	mustExec(t, pool, "UPDATE t SET x = 20 WHERE id = 2; INSERT INTO t VALUES (5, 5)")
	waitFor(5)
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")

	// TRUNCATE is captured by a trigger of its own, which must not notify
	// either.
	mustExec(t, pool, "BEGIN; TRUNCATE t; INSERT INTO t VALUES (6, 6); PREPARE TRANSACTION 'app3'")
	mustExec(t, pool, "COMMIT PREPARED 'app3'")
	waitFor(6)
	sameTexts(t, pool, "out_v", "SELECT id, x FROM t")
}
