package soak

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/runtime/postgres"
)

var (
	flagRounds   = flag.Int("soak.rounds", 0, "rounds of random SQL per program (default 10, 60 with STEPPING_SOAK=long)")
	flagPrograms = flag.Int("soak.programs", 0, "generated programs (default 6, 40 with STEPPING_SOAK=long)")
	flagKills    = flag.Int("soak.kills", 0, "SIGKILLed stepq runners (default 4, 30 with STEPPING_SOAK=long)")
	flagSeed     = flag.Uint64("soak.seed", 0, "random seed (default: from the clock, printed)")
)

// size is how much the soak does.
type size struct{ rounds, programs, kills int }

func soakSize() size {
	s := size{rounds: 10, programs: 6, kills: 4}
	if os.Getenv("STEPPING_SOAK") == "long" {
		s = size{rounds: 60, programs: 40, kills: 30}
	}
	if *flagRounds > 0 {
		s.rounds = *flagRounds
	}
	if *flagPrograms > 0 {
		s.programs = *flagPrograms
	}
	if *flagKills > 0 {
		s.kills = *flagKills
	}
	return s
}

// tally counts what the soak did, across its parallel subtests.
type tally struct {
	rounds, programs, txns, statements, cuts, kills atomic.Int64
}

// batchSizes are the runner's batch sizes a round picks from: 1 and 2
// split nearly every transaction across steps.
var batchSizes = []int{1, 2, 3, 5, 16, 10_000}

// TestSoak runs every example program (with its data) and generated
// programs on the Postgres runtime against rounds of random SQL. Each
// round commits a few transactions of several statements (inserts of one
// and many rows, updates of keys and non-keys, bulk updates of a whole
// table, deletes, NULLs, duplicates in bags, equal values spelled
// differently: numeric 1.5 and 1.50, 0 and 0.0, float -0 and 0), picks a
// batch size (1, 2, 3, 5, 16 or 10,000), sometimes cuts the runner's
// connections with pg_terminate_backend while it applies, and then
// requires every output table to equal a recomputation from scratch as a
// multiset of rows in their text form (t::text), so that 1.50 in place of
// 1.5 is a difference. Generated programs are recomputed by equivalent
// SQL, examples by the in-memory oracle (internal/oracle) over the tables'
// contents read back. A last part runs stepq run --db as a process and
// SIGKILLs it in the middle of a backlog.
//
// By default it fits CI (about 30 s). STEPPING_SOAK=long runs it longer;
// -soak.rounds, -soak.programs, -soak.kills and -soak.seed set each part:
//
//	go test ./internal/soak -run TestSoak -count=1
//	STEPPING_SOAK=long go test ./internal/soak -run TestSoak -count=1 -timeout 30m
//	go test ./internal/soak -run TestSoak -count=1 -soak.seed=42 -soak.rounds=100
//
// A failure prints the seed, the round, the batch size, the rows that
// differ and the SQL the program saw.
func TestSoak(t *testing.T) {
	sz := soakSize()
	seed := *flagSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -soak.seed=%d)", seed, seed)
	var n tally
	examples, err := examplePrograms()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("group", func(t *testing.T) {
		for i, file := range examples {
			name := strings.TrimSuffix(strings.TrimPrefix(file, "../../examples/"), ".step")
			t.Run("example/"+name, func(t *testing.T) {
				t.Parallel()
				soakExample(t, file, rand.New(rand.NewPCG(seed, uint64(i))), sz.rounds, &n)
			})
		}
		for i := range sz.programs {
			t.Run(fmt.Sprintf("generated/%d", i), func(t *testing.T) {
				t.Parallel()
				soakGenerated(t, rand.New(rand.NewPCG(seed, uint64(1000+i))), sz.rounds, &n)
			})
		}
		if sz.kills > 0 && !testing.Short() {
			t.Run("stepq", func(t *testing.T) {
				t.Parallel()
				soakStepq(t, rand.New(rand.NewPCG(seed, 7777)), sz.kills, &n)
			})
		}
	})
	t.Logf("ran %d rounds of %d programs (%d examples, %d generated, 1 under stepq): %d transactions of %d statements, %d connection cuts, %d SIGKILLs",
		n.rounds.Load(), n.programs.Load(), len(examples), sz.programs, n.txns.Load(), n.statements.Load(), n.cuts.Load(), n.kills.Load())
}

// runner is a program applied in process by a postgres.Runner whose
// connections carry an application name of their own, so that they can
// be cut.
type runner struct {
	pg   *postgres.Runner
	app  string
	pool *pgxpool.Pool // the test's own connections
	n    *tally
}

// newRunner compiles src against the test's schema and sets it up; its
// state is dropped when the test ends.
func newRunner(t *testing.T, pool *pgxpool.Pool, schema, filename, src string, n *tally) *runner {
	t.Helper()
	ctx := context.Background()
	app := "soak_" + schema
	cfg, err := pgxpool.ParseConfig(pgtest.DSNWithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.MaxConns = 4
	rp, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := compile.Compile(ctx, filename, src, rp)
	if err != nil {
		rp.Close()
		t.Fatalf("compile %s: %v\n%s", filename, err, src)
	}
	pg := &postgres.Runner{Pool: rp, Circuit: prog.Circuit, Schema: "prog_" + schema}
	t.Cleanup(func() {
		if err := pg.Drop(context.Background(), false); err != nil {
			t.Errorf("drop: %v", err)
		}
		rp.Close()
	})
	if err := pg.Setup(ctx, false); err != nil {
		t.Fatal(err)
	}
	return &runner{pg: pg, app: app, pool: pool, n: n}
}

// cut terminates every connection of the application app.
func cut(ctx context.Context, pool *pgxpool.Pool, app string) error {
	_, err := pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()", app)
	return err
}

// lostConnection reports whether err is what a cut connection gives
// rather than an error of the runtime's own: the server's "terminating
// connection" or a connection that is gone.
func lostConnection(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P01" // admin_shutdown
	}
	return true
}

// apply applies the pending log with batch size batch, cutting the
// runner's connections meanwhile when cutNow is set. An error of a cut
// connection is retried, as stepq run does; any other error is returned.
func (rn *runner) apply(ctx context.Context, batch int, cutNow bool) error {
	rn.pg.BatchSize = batch
	done := make(chan error, 1)
	if cutNow {
		rn.n.cuts.Add(1)
		go func() { done <- cut(ctx, rn.pool, rn.app) }()
	} else {
		done <- nil
	}
	retry := func() error {
		for attempt := 0; ; attempt++ {
			_, err := rn.pg.ApplyPending(ctx, nil)
			if err == nil || !lostConnection(err) || attempt == 5 {
				return err
			}
		}
	}
	err := retry()
	if cerr := <-done; cerr != nil {
		return cerr
	}
	if err != nil {
		return err
	}
	// The cut may have landed after the last batch, on idle connections:
	// the pool finds them dead on their next use, here, not in the next
	// round.
	return retry()
}

// history keeps the SQL a program saw, to print with a failure.
type history struct{ lines []string }

func (h *history) add(format string, args ...any) {
	h.lines = append(h.lines, fmt.Sprintf(format, args...))
}

func (h *history) String() string {
	lines := h.lines
	if len(lines) > 200 {
		lines = append([]string{fmt.Sprintf("... %d earlier lines", len(lines)-200)}, lines[len(lines)-200:]...)
	}
	return strings.Join(lines, "\n")
}

// writeTxns commits (or now and then rolls back) count transactions of
// one to five statements from stmt. Each statement runs under a savepoint:
// one that breaks a constraint (a key change onto an existing key) is
// undone alone and the transaction goes on.
func writeTxns(ctx context.Context, pool *pgxpool.Pool, r *rand.Rand, count int, stmt func(*rand.Rand) string, h *history, n *tally) error {
	for range count {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return err
		}
		h.add("BEGIN;")
		for range 1 + r.IntN(5) {
			s := stmt(r)
			if _, err := tx.Exec(ctx, "SAVEPOINT s"); err != nil {
				_ = tx.Rollback(ctx)
				return err
			}
			if _, err := tx.Exec(ctx, s); err != nil {
				if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT s"); err != nil {
					_ = tx.Rollback(ctx)
					return err
				}
				h.add("  -- failed, rolled back: %s; (%v)", s, err)
				continue
			}
			h.add("  %s;", s)
			n.statements.Add(1)
		}
		n.txns.Add(1)
		if r.IntN(10) == 0 {
			h.add("ROLLBACK;")
			if err := tx.Rollback(ctx); err != nil {
				return err
			}
			continue
		}
		h.add("COMMIT;")
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// textDiff compares the table with the rows of query as multisets of
// their text forms and returns each row found on one side only.
func textDiff(ctx context.Context, pool *pgxpool.Pool, table, query string) ([]string, error) {
	var out []string
	// JIT is off: the tables are never analysed and small.
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, fmt.Sprintf(`WITH got AS (SELECT soak_r::text AS r FROM %s soak_r), want AS (SELECT q::text AS r FROM (%s) q)
SELECT 'only in the output:        ' || r FROM (SELECT r FROM got EXCEPT ALL SELECT r FROM want) a
UNION ALL
SELECT 'only in the recomputation: ' || r FROM (SELECT r FROM want EXCEPT ALL SELECT r FROM got) b
ORDER BY 1`, table, query))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return out, err
}

// contents returns a table's rows as text, sorted, for a failure message.
func contents(ctx context.Context, pool *pgxpool.Pool, table string) string {
	var s string
	err := pool.QueryRow(ctx, fmt.Sprintf("SELECT coalesce(string_agg(soak_r::text, ' ' ORDER BY soak_r::text COLLATE \"C\"), '') FROM %s soak_r", table)).Scan(&s)
	if err != nil {
		return err.Error()
	}
	return s
}

// soakGenerated runs a generated program for the given rounds, comparing
// its outputs with SQL after each.
func soakGenerated(t *testing.T, r *rand.Rand, rounds int, n *tally) {
	ctx := context.Background()
	pool, schema := pgtest.Schema(t)
	if _, err := pool.Exec(ctx, genDDL); err != nil {
		t.Fatal(err)
	}
	src, views := genProgram(r)
	var h history
	h.add("-- rows present before setup (backfilled):")
	if err := writeTxns(ctx, pool, r, 4, genStatement, &h, n); err != nil {
		t.Fatal(err)
	}
	rn := newRunner(t, pool, schema, "generated.step", src, n)
	n.programs.Add(1)
	for round := range rounds {
		if round > 0 {
			if err := writeTxns(ctx, pool, r, 1+r.IntN(4), genStatement, &h, n); err != nil {
				t.Fatal(err)
			}
		}
		batch := batchSizes[r.IntN(len(batchSizes))]
		h.add("-- round %d: applied with batch size %d", round, batch)
		if err := rn.apply(ctx, batch, r.IntN(4) == 0); err != nil {
			t.Fatalf("round %d, batch size %d: applying: %v\nprogram:\n%s\nSQL:\n%s", round, batch, err, src, h.String())
		}
		n.rounds.Add(1)
		for _, v := range views {
			table := "o_" + v.name
			d, err := textDiff(ctx, pool, table, v.sql)
			if err != nil {
				t.Fatalf("round %d: comparing %s: %v", round, table, err)
			}
			if len(d) > 0 {
				t.Fatalf("round %d, batch size %d: output %s (view %s = %s) differs from recomputation by SQL, by representation:\n  %s\noutput holds: %s\nSQL:\n%s\nprogram:\n%s\nSQL the program saw:\n%s",
					round, batch, table, v.name, v.src, strings.Join(d, "\n  "), contents(ctx, pool, table), v.sql, src, h.String())
			}
		}
	}
}
