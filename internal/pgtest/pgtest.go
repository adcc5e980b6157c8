// Package pgtest gives tests a real Postgres to talk to: a connection pool
// whose search_path is a fresh schema of the test's own, dropped when the
// test ends, so tests run in parallel and leave nothing behind.
//
// The server is found through STEPPING_TEST_DSN, by default the local
// server at 127.0.0.1:5432 as user postgres. When none answers, the test
// is skipped, except under CI (CI=true), where it fails: there a missing
// server is a broken setup, not a reason to test less.
//
// For a server setting the shared server cannot be given, Cluster starts
// a private one for a single test.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultDSN is used when STEPPING_TEST_DSN is not set.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// DSN returns the test server's connection string.
func DSN() string {
	if dsn := os.Getenv("STEPPING_TEST_DSN"); dsn != "" {
		return dsn
	}
	return DefaultDSN
}

// unavailable skips or fails the test when no server answers.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("Postgres is required under CI and unreachable at %s: %v", DSN(), err)
	}
	t.Skipf("no Postgres at %s (set STEPPING_TEST_DSN, or run make test to start one): %v", DSN(), err)
}

// Schema creates a schema for the test and returns a pool whose
// connections use it as their search_path, and the schema's name. Both
// are cleaned up when the test ends.
func Schema(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	schema := "test_" + randomSuffix()
	quoted := pgx.Identifier{schema}.Sanitize()
	if err := admin(t, "CREATE SCHEMA "+quoted); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	pool := poolAs(t, "", schema)
	t.Cleanup(func() {
		pool.Close()
		if err := admin(t, "DROP SCHEMA "+quoted+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	return pool, schema
}

// DSNWithSchema returns the test server's connection string with the
// given schema as search_path, for code under test that connects itself.
func DSNWithSchema(schema string) string {
	sep := "?"
	if strings.Contains(DSN(), "?") {
		sep = "&"
	}
	return DSN() + sep + "search_path=" + schema
}

// Role creates a login role of the test's own, with no rights beyond
// PUBLIC's and USAGE on schema, and returns its name and a pool whose
// connections log in as it with schema as search_path. The role, and
// whatever it came to own, is dropped when the test ends.
func Role(t testing.TB, schema string) (string, *pgxpool.Pool) {
	t.Helper()
	role := "test_role_" + randomSuffix()
	quoted := pgx.Identifier{role}.Sanitize()
	if err := admin(t, "CREATE ROLE "+quoted+" LOGIN; GRANT USAGE ON SCHEMA "+pgx.Identifier{schema}.Sanitize()+" TO "+quoted); err != nil {
		t.Fatalf("creating role %s: %v", role, err)
	}
	pool := poolAs(t, role, schema)
	t.Cleanup(func() {
		pool.Close()
		if err := admin(t, "DROP OWNED BY "+quoted+" CASCADE; DROP ROLE "+quoted); err != nil {
			t.Errorf("dropping role %s: %v", role, err)
		}
	})
	return role, pool
}

// randomSuffix makes test object names unique across parallel tests.
func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// admin runs sql as the test server's user on a connection of its own.
// A server that does not answer skips or fails the test (unavailable).
func admin(t testing.TB, sql string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN())
	if err != nil {
		unavailable(t, err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// poolAs returns a pool whose connections log in as user (the server's
// user when empty) with schema as search_path.
func poolAs(t testing.TB, user, schema string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(DSN())
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		cfg.ConnConfig.User = user
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	// stepping computes timestamptz in UTC: SQL the tests compare with
	// must see the same time zone.
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}
