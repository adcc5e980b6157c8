package postgres_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// TestDeployedLock checks that installing and rebuilding a program record
// its lock in _meta, that Deployed reads it back, and that a schema with
// no program is ErrNotInstalled; CountSources counts the source rows.
func TestDeployedLock(t *testing.T) {
	ctx := context.Background()
	pool, schema := pgtest.Schema(t)
	mustExec(t, pool, "CREATE TABLE t (id int8 PRIMARY KEY, x int4 NOT NULL); INSERT INTO t SELECT i, i FROM generate_series(1, 5) i")
	first := newPG(t, pool, schema, historyProgram)
	if _, err := first.Deployed(ctx); !errors.Is(err, postgres.ErrNotInstalled) {
		t.Fatalf("Deployed before install: %v, want ErrNotInstalled", err)
	}
	edited := newPG(t, pool, schema, "source t = table t\nview v = t | where x > 2 | select { id, x }\noutput v to table out_v primary key (id)\n")
	for _, s := range []struct {
		name    string
		pg      *postgres.Runner
		rebuild bool
	}{{"install", first, false}, {"rebuild", edited, true}} {
		if err := s.pg.Setup(ctx, s.rebuild); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		d, err := s.pg.Deployed(ctx)
		if err != nil {
			t.Fatalf("%s: Deployed: %v", s.name, err)
		}
		if want := lockfile.Render(s.pg.Circuit); d.Lock != want || d.Version != s.pg.Version() {
			t.Errorf("%s: recorded version %s and lock\n%s\nwant %s and\n%s", s.name, d.Version, d.Lock, s.pg.Version(), want)
		}
	}
	counts, err := edited.CountSources(ctx, []string{"t"})
	if err != nil || counts["t"] != 5 {
		t.Errorf("CountSources: %v, %v; want t: 5", counts, err)
	}
	if _, err := edited.CountSources(ctx, []string{"nothing"}); err == nil {
		t.Error("CountSources of no input: no error")
	}
}
