package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/stepqbin"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// soakStepq runs a generated program under stepq run --db, a process,
// kills times: each time it writes a backlog of transactions, starts the
// runner with a random batch size, waits for a random number of its
// steps (each step NOTIFYs), now and then cuts its connections at one
// step, SIGKILLs it at a later one, finishes the backlog with stepq run
// --once and compares every output with SQL.
func soakStepq(t *testing.T, r *rand.Rand, kills int, n *tally) {
	ctx := context.Background()
	bin := stepqbin.Build(t)
	pool, schema := pgtest.Schema(t)
	if _, err := pool.Exec(ctx, genDDL); err != nil {
		t.Fatal(err)
	}
	src, views := genProgram(r)
	file := filepath.Join(t.TempDir(), "generated.step")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	app := "stepq_" + schema
	dsn := pgtest.DSNWithSchema(schema) + "&application_name=" + app
	progSchema := "prog_" + schema
	prog, err := compile.Compile(ctx, file, src, pool)
	if err != nil {
		t.Fatal(err)
	}
	pg := &postgres.Runner{Pool: pool, Circuit: prog.Circuit, Schema: progSchema}
	t.Cleanup(func() {
		if err := pg.Drop(context.Background(), false); err != nil {
			t.Errorf("drop: %v", err)
		}
	})
	var h history
	var logs bytes.Buffer
	once := func(batch int) {
		t.Helper()
		out, err := exec.Command(bin, "run", "--db", dsn, "--schema", progSchema, "--once", "--batch", fmt.Sprint(batch), file).CombinedOutput()
		if err != nil {
			t.Fatalf("stepq run --once --batch %d: %v\n%s\nearlier runs:\n%s\nprogram:\n%s\nSQL:\n%s", batch, err, out, logs.String(), src, h.String())
		}
	}
	check := func(round, batch int) {
		t.Helper()
		for _, v := range views {
			table := "o_" + v.name
			d, err := textDiff(ctx, pool, table, v.sql)
			if err != nil {
				t.Fatalf("round %d: comparing %s: %v", round, table, err)
			}
			if len(d) > 0 {
				t.Fatalf("round %d (0: the first run --once; later: stepq SIGKILLed, then run --once), batch size %d: output %s (view %s = %s) differs from recomputation by SQL, by representation:\n  %s\noutput holds: %s\nSQL:\n%s\nprogram:\n%s\nSQL the program saw:\n%s\nrunner logs:\n%s",
					round, batch, table, v.name, v.src, strings.Join(d, "\n  "), contents(ctx, pool, table), v.sql, src, h.String(), logs.String())
			}
		}
	}
	if err := writeTxns(ctx, pool, r, 4, genStatement, &h, n); err != nil {
		t.Fatal(err)
	}
	once(10_000)
	n.programs.Add(1)
	check(0, 10_000)

	listen, err := pgx.Connect(ctx, pgtest.DSNWithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	defer listen.Close(ctx)
	if _, err := listen.Exec(ctx, "LISTEN "+pgx.Identifier{pg.StepChannel()}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= kills; round++ {
		if err := writeTxns(ctx, pool, r, 4+r.IntN(6), genStatement, &h, n); err != nil {
			t.Fatal(err)
		}
		batch := batchSizes[r.IntN(3)]
		pending, steps, err := stepsFor(ctx, pool, progSchema, batch)
		if err != nil {
			t.Fatal(err)
		}
		h.add("-- round %d: stepq run --batch %d over %d pending log rows", round, batch, pending)
		if steps >= 1 {
			killAt := 1 + r.IntN(max(1, steps-1))
			cutAt := 0
			if r.IntN(2) == 0 && killAt > 1 {
				cutAt = r.IntN(killAt-1) + 1
			}
			h.add("-- cut its connections at step %d of the run (0: never), SIGKILL at step %d", cutAt, killAt)
			from, err := pg.Steps(ctx)
			if err != nil {
				t.Fatal(err)
			}
			runAndKill(t, bin, listen, []string{"run", "--db", dsn, "--schema", progSchema, "--batch", fmt.Sprint(batch), file}, app, from, cutAt, killAt, &logs, n)
		}
		once(batch)
		n.rounds.Add(1)
		check(round, batch)
	}
}

// runAndKill starts stepq with args and SIGKILLs it when it has
// committed killAt steps after step from, as their notifications on
// listen tell; at step cutAt (when not 0) it first cuts its connections,
// which it must survive. An error it reports that no cut explains fails
// the test at once.
func runAndKill(t *testing.T, bin string, listen *pgx.Conn, args []string, app string, from int64, cutAt, killAt int, logs *bytes.Buffer, n *tally) {
	t.Helper()
	ctx := context.Background()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// A runner that stops stepping before killAt is stuck: fail rather
	// than hang.
	wait, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var cutDone atomic.Bool
	notes := make(chan error, 1)
	go func() {
		// Each step's notification carries its number: those of earlier
		// runs, still queued, are older than from.
		for {
			note, err := listen.WaitForNotification(wait)
			if err != nil {
				notes <- err
				return
			}
			step, _ := strconv.ParseInt(note.Payload, 10, 64)
			if step >= from+int64(killAt) {
				break
			}
			if cutAt > 0 && !cutDone.Load() && step >= from+int64(cutAt) {
				cutDone.Store(true)
				n.cuts.Add(1)
				// A connection of its own: listen is busy waiting.
				admin, err := pgx.Connect(wait, pgtest.DSN())
				if err != nil {
					notes <- err
					return
				}
				_, err = admin.Exec(wait, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app)
				admin.Close(wait)
				if err != nil {
					notes <- err
					return
				}
			}
		}
		notes <- nil
	}()
	// stop kills the runner and collects the rest of what it printed.
	stop := func() error {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		for line := range lines {
			logs.WriteString(line + "\n")
		}
		return cmd.Wait()
	}
	for {
		select {
		case err := <-notes:
			_ = stop()
			n.kills.Add(1)
			if err != nil {
				t.Fatalf("waiting for step %d of stepq run: %v\nlogs:\n%s", killAt, err, logs.String())
			}
			return
		case line, ok := <-lines:
			if !ok {
				err := cmd.Wait()
				cancel()
				<-notes
				t.Fatalf("stepq run exited on its own (%v) before step %d:\n%s", err, killAt, logs.String())
			}
			logs.WriteString(line + "\n")
			if strings.Contains(line, "error:") && !(cutDone.Load() && lostConnectionText(line)) {
				_ = stop()
				cancel()
				<-notes
				t.Fatalf("stepq run --batch reported an error no cut explains: %s\nlogs:\n%s", line, logs.String())
			}
		}
	}
}

// lostConnectionText reports whether a runner's error line is what a cut
// connection gives.
func lostConnectionText(line string) bool {
	for _, s := range []string{"terminating connection", "57P01", "conn closed", "EOF", "connection reset", "broken pipe", "closed network connection"} {
		if strings.Contains(line, s) {
			return true
		}
	}
	return false
}

// stepsFor returns how many log rows are pending and how many steps a
// runner with the given batch size takes over them: each step takes the
// transactions with a row among the oldest batch rows, whole.
func stepsFor(ctx context.Context, pool *pgxpool.Pool, progSchema string, batch int) (pending, steps int, err error) {
	rows, err := pool.Query(ctx, "SELECT xact::text FROM "+pgx.Identifier{progSchema, "_log"}.Sanitize()+" ORDER BY id")
	if err != nil {
		return 0, 0, err
	}
	xacts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, 0, err
	}
	for rest := xacts; len(rest) > 0; steps++ {
		taken := map[string]bool{}
		for _, x := range rest[:min(batch, len(rest))] {
			taken[x] = true
		}
		var left []string
		for _, x := range rest {
			if !taken[x] {
				left = append(left, x)
			}
		}
		rest = left
	}
	return len(xacts), steps, nil
}
