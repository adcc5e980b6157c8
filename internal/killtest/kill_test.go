package killtest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stepping-io/stepping/internal/pgtest"
	"github.com/stepping-io/stepping/internal/stepqbin"
)

const shopSQL = `SELECT li.basket_id, sum(p.price * li.qty) AS total, count(*) AS items
  FROM line_items li JOIN products p ON li.product_name = p.name GROUP BY li.basket_id`

// TestKillAndRestart runs stepq run --db while a writer changes the shop
// tables, SIGKILLs it at random points (and cuts its connections) several
// times, restarts it each time, and finally checks the output tables
// against Postgres's own recomputation: nothing lost, nothing applied twice.
func TestKillAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test runs processes for several seconds")
	}
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));
INSERT INTO products SELECT 'p' || i, (i || '.5')::numeric FROM generate_series(1, 20) i;
INSERT INTO line_items SELECT i % 50, 'p' || (1 + i % 20), 1 + i % 3 FROM generate_series(1, 600) i ON CONFLICT DO NOTHING;`); err != nil {
		t.Fatal(err)
	}
	bin := stepqbin.Build(t)
	src, err := os.ReadFile("../../examples/shop.step")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "shop.step")
	if err := os.WriteFile(file, src, 0o644); err != nil {
		t.Fatal(err)
	}
	app := "stepq_" + schema
	dsn := pgtest.DSNWithSchema(schema) + "&application_name=" + app
	progSchema := "prog_" + schema
	args := []string{"run", "--db", dsn, "--schema", progSchema, "--batch", "25", file}
	t.Cleanup(func() {
		out, err := exec.Command(bin, "drop", "--db", dsn, "--schema", progSchema, file).CombinedOutput()
		if err != nil {
			t.Errorf("stepq drop: %v\n%s", err, out)
		}
	})

	// The writer: ordinary SQL changes, in small transactions.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(7, 11))
		for i := 0; i < 400; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var q string
			switch r.IntN(5) {
			case 0:
				q = fmt.Sprintf("UPDATE products SET price = %d.%d WHERE name = 'p%d'", 1+r.IntN(30), r.IntN(10), 1+r.IntN(20))
			case 1:
				q = fmt.Sprintf("DELETE FROM line_items WHERE basket_id = %d", r.IntN(50))
			case 2:
				q = fmt.Sprintf("UPDATE line_items SET qty = qty + 1 WHERE basket_id = %d", r.IntN(50))
			default:
				q = fmt.Sprintf("INSERT INTO line_items SELECT %d, 'p' || g, %d FROM generate_series(1, %d) g ON CONFLICT DO NOTHING", r.IntN(60), 1+r.IntN(4), 1+r.IntN(20))
			}
			if _, err := pool.Exec(ctx, q); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			time.Sleep(time.Duration(r.IntN(4)) * time.Millisecond)
		}
	}()

	r := rand.New(rand.NewPCG(3, 5))
	var logs bytes.Buffer
	for kill := 0; kill < 8; kill++ {
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+r.IntN(400)) * time.Millisecond)
		if kill%3 == 1 {
			// Cut its connections first: it must retry and carry on.
			if _, err := pool.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(100+r.IntN(300)) * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	wg.Wait()
	close(stop)

	out, err := exec.Command(bin, "run", "--db", dsn, "--schema", progSchema, "--once", file).CombinedOutput()
	if err != nil {
		t.Fatalf("final stepq run --once: %v\n%s\nearlier runs:\n%s", err, out, logs.String())
	}
	var pending int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+progSchema+"._log").Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("%d changes still pending (%v)", pending, err)
	}
	for table, query := range map[string]string{
		"basket_totals":          shopSQL,
		progSchema + ".receipts": "SELECT format('Basket id: %s total: $%s', basket_id, total) FROM (" + shopSQL + ") s",
	} {
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM ((TABLE %s EXCEPT ALL (%s)) UNION ALL ((%s) EXCEPT ALL TABLE %s)) d", table, query, query, table)
		if err := pool.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s differs from recomputation in %d rows after kills and restarts\nlogs:\n%s", table, n, logs.String())
		}
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Logf("no connection loss was observed by a runtime this run (timing); logs:\n%s", logs.String())
	}
}
