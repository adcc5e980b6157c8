package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/internal/pgtest"
)

// A private cluster runs with the settings given, and is gone once its
// test ends.
func TestCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var dsn string
	t.Run("running", func(t *testing.T) {
		dsn = pgtest.Cluster(t, "max_prepared_transactions=3")
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n string
		if err := conn.QueryRow(ctx, "SHOW max_prepared_transactions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != "3" {
			t.Fatalf("max_prepared_transactions = %s, want 3", n)
		}
	})
	if dsn == "" {
		return // skipped
	}
	// Cleanup waited for the server to exit: nothing listens any more.
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.Close(ctx)
		t.Fatalf("the cluster at %s still accepts connections after its test", dsn)
	}
}
