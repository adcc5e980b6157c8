package main

import (
	"context"
	"fmt"
	"os"
	goruntime "runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/shopbench"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// viewSQL is basket_totals in SQL over line items table %s and products
// table %s, as the materialised view and pg_ivm's view keep it.
const viewSQL = `SELECT li.basket_id, sum(p.price * li.qty) AS total, count(*) AS items
  FROM %s li JOIN %s p ON li.product_name = p.name GROUP BY li.basket_id`

// pgRun is one run of the shop workload on Postgres: spool's connections
// use the run's schema (-schema), where the inputs and the baselines live.
type pgRun struct {
	ctx   context.Context
	spool *pgxpool.Pool
	d     *shopbench.Data
}

func (r *pgRun) exec(sql string, args ...any) error {
	_, err := r.spool.Exec(r.ctx, sql, args...)
	return err
}

func (r *pgRun) copyItems(table string, ls []shopbench.LineItem) error {
	rows := make([][]any, len(ls))
	for i, l := range ls {
		rows[i] = []any{l.Basket, l.Product, l.Qty}
	}
	_, err := r.spool.CopyFrom(r.ctx, pgx.Identifier{table}, []string{"basket_id", "product_name", "qty"}, pgx.CopyFromRows(rows))
	return err
}

func (r *pgRun) copyProducts(table string) error {
	rows := make([][]any, len(r.d.Products))
	for i, p := range r.d.Products {
		rows[i] = []any{p.Name, p.Price.String()}
	}
	_, err := r.spool.CopyFrom(r.ctx, pgx.Identifier{table}, []string{"name", "price"}, pgx.CopyFromRows(rows))
	return err
}

// mismatched counts the rows of view (basket_id, total, items) that differ
// from basket_totals recomputed over items and products.
func (r *pgRun) mismatched(view, items, products string) (int, error) {
	q := fmt.Sprintf(viewSQL, items, products)
	v := "SELECT basket_id, total, items FROM " + view
	var n int
	err := r.spool.QueryRow(r.ctx, "SELECT count(*) FROM (("+v+" EXCEPT ALL "+q+") UNION ALL ("+q+" EXCEPT ALL "+v+")) x").Scan(&n)
	return n, err
}

// pgTimes are one system's figures; a zero duration is one not measured.
type pgTimes struct {
	initial time.Duration // the first state, from the loaded inputs
	batches time.Duration // all the batches of 1,000 line items
	price   time.Duration // the median price change
}

// runPG measures the shop workload on Postgres, in one run on one server:
// stepping keeping basket_totals as a table, the same view kept by pg_ivm
// (when installed), by REFRESH MATERIALIZED VIEW after each batch, and
// plain inserts with no view at all.
func runPG(ctx context.Context, url, schema string, w shopbench.Workload, batches, changes int) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	progSchema := schema + "_prog"
	drop := "DROP SCHEMA IF EXISTS " + pgx.Identifier{schema}.Sanitize() + " CASCADE; DROP SCHEMA IF EXISTS " + pgx.Identifier{progSchema}.Sanitize() + " CASCADE"
	if _, err := pool.Exec(ctx, drop+"; CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return err
	}
	defer func() { _, _ = pool.Exec(ctx, drop) }()
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	spool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer spool.Close()

	fmt.Printf("shop workload on Postgres: %d products, %d line items, %d baskets; then %d batches of 1,000 new line items and %d single price changes\n\n",
		w.Products, w.LineItems, w.Baskets, batches, changes)
	r := &pgRun{ctx: ctx, spool: spool, d: w.Generate()}
	d := r.d
	ddl := `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));
CREATE TABLE plain_products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE plain_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`
	if err := r.exec(ddl); err != nil {
		return err
	}
	for _, t := range []string{"products", "plain_products"} {
		if err := r.copyProducts(t); err != nil {
			return err
		}
	}
	if err := r.copyItems("line_items", d.LineItems); err != nil {
		return err
	}
	iv, err := newIVM(r, pool)
	if err != nil {
		return err
	}

	// stepping: install, backfill and apply the initial load.
	src, err := os.ReadFile(mustExample())
	if err != nil {
		return err
	}
	prog, err := compile.Compile(ctx, "shop.step", string(src), spool)
	if err != nil {
		return err
	}
	pg := &postgres.Runner{Pool: spool, Circuit: prog.Circuit, Schema: progSchema, BatchSize: 50_000}
	var step, ivmT, mv, plain pgTimes
	heapBefore, heapPeak, err := peakHeap(func() error {
		t, err := shopbench.Timed(func() error {
			if err := pg.Setup(ctx, false); err != nil {
				return err
			}
			_, err := pg.ApplyPending(ctx, nil)
			return err
		})
		step.initial = t
		return err
	})
	if err != nil {
		return err
	}

	afterLoad, err := outputSizes(ctx, spool, progSchema)
	if err != nil {
		return err
	}

	// The materialised view baseline over the same tables.
	mv.initial, err = shopbench.Timed(func() error {
		return r.exec("CREATE MATERIALIZED VIEW basket_totals_mv AS " + fmt.Sprintf(viewSQL, "line_items", "products"))
	})
	if err != nil {
		return err
	}
	if iv != nil {
		if ivmT.initial, err = shopbench.Timed(iv.create); err != nil {
			return err
		}
	}

	next := int64(w.Baskets + 1)
	newBatch := func() []shopbench.LineItem {
		out := make([]shopbench.LineItem, 1000)
		for i := range out {
			out[i] = shopbench.LineItem{Basket: next + int64(i/10), Product: d.Products[(i*7)%len(d.Products)].Name, Qty: 1 + int64(i%3)}
		}
		next += 100
		return out
	}
	var refreshT time.Duration
	for range batches {
		b := newBatch()
		err := add(&step.batches, func() error {
			if err := r.copyItems("line_items", b); err != nil {
				return err
			}
			_, err := pg.ApplyPending(ctx, nil)
			return err
		})
		if err == nil {
			err = add(&refreshT, func() error { return r.exec("REFRESH MATERIALIZED VIEW basket_totals_mv") })
		}
		if err == nil {
			err = add(&plain.batches, func() error { return r.copyItems("plain_items", b) })
		}
		if err == nil && iv != nil {
			// pg_ivm maintains its view inside the insert's statement.
			err = add(&ivmT.batches, func() error { return r.copyItems("ivm_items", b) })
		}
		if err != nil {
			return err
		}
	}
	mv.batches = plain.batches + refreshT

	var stepPrice, refreshPrice, plainPrice, ivmPrice []time.Duration
	for i := range changes {
		p := d.Products[(i*37)%len(d.Products)]
		update := func(table string) func() error {
			return func() error { return r.exec("UPDATE "+table+" SET price = price + 0.01 WHERE name = $1", p.Name) }
		}
		err := appendTimed(&stepPrice, func() error {
			if err := update("products")(); err != nil {
				return err
			}
			_, err := pg.ApplyPending(ctx, nil)
			return err
		})
		if err == nil {
			err = appendTimed(&plainPrice, update("plain_products"))
		}
		if err == nil && iv != nil {
			err = appendTimed(&ivmPrice, update("ivm_products"))
		}
		if err == nil && i < 5 {
			err = appendTimed(&refreshPrice, func() error { return r.exec("REFRESH MATERIALIZED VIEW basket_totals_mv") })
		}
		if err != nil {
			return err
		}
	}
	step.price, plain.price = median(stepPrice), median(plainPrice)
	if len(refreshPrice) > 0 {
		mv.price = median(refreshPrice)
	}
	if iv != nil {
		ivmT.price = median(ivmPrice)
	}

	printTable(w, batches, step, ivmT, mv, plain)
	mismatched, err := r.mismatched("basket_totals", "line_items", "products")
	if err != nil {
		return err
	}
	fmt.Printf("\nbasket_totals rows differing from recomputation at the end: %d\n", mismatched)
	if iv != nil {
		n, err := r.mismatched("basket_totals_ivm", "ivm_items", "ivm_products")
		if err != nil {
			return err
		}
		fmt.Printf("basket_totals_ivm (pg_ivm) rows differing from recomputation at the end: %d\n", n)
	}
	fmt.Println(`stepping's times include the SQL write that changes the source table, the trigger capture and the step that applies it.
pg_ivm keeps its view over copies of the inputs of its own (ivm_items, ivm_products), written with the same rows and
updates, so each system's writes pay for its own triggers only: stepping's times are the write to products or
line_items plus ApplyPending, pg_ivm's the write to its copy (it maintains the view inside the writing statement).
REFRESH reads stepping's inputs, which its times do not write: a batch's REFRESH time is the plain insert plus the
refresh, a price change's the refresh alone (the first 5 changes only). Plain inserts and updates go to copies with
no view and no trigger at all: the floor of any view kept on write.
Ratios are the other system's time over stepping's: above 1x stepping is faster.`)

	fmt.Printf("\nGo heap in use during stepping's initial load (sampled every 20ms): peak %.0f MiB, %.0f MiB before it (the generated data).\n",
		mib(heapPeak), mib(heapBefore))
	fmt.Printf("The runner computes up to Runner.BackfillRows source rows in memory (default postgres.DefaultBackfillRows, %d), then goes on in Postgres; this load has %d.\n",
		postgres.DefaultBackfillRows, len(d.Products)+len(d.LineItems))
	atEnd, err := outputSizes(ctx, spool, progSchema)
	if err != nil {
		return err
	}
	printOutputSizes(afterLoad, atEnd)
	if err := printSizes(ctx, spool, progSchema, iv != nil); err != nil {
		return err
	}
	return measureApply(ctx, spool, progSchema, string(src), r)
}

// add adds the time f takes to total.
func add(total *time.Duration, f func() error) error {
	t, err := shopbench.Timed(f)
	*total += t
	return err
}

// appendTimed appends the time f takes to ts.
func appendTimed(ts *[]time.Duration, f func() error) error {
	t, err := shopbench.Timed(f)
	*ts = append(*ts, t)
	return err
}

// printTable prints one row per measure, one column per system, and
// each system's time over stepping's.
func printTable(w shopbench.Workload, batches int, step, ivm, mv, plain pgTimes) {
	others := []pgTimes{ivm, mv, plain}
	rows := float64(batches * 1000)
	measures := []struct {
		name string
		of   func(pgTimes) time.Duration
		show func(time.Duration) string
	}{
		{fmt.Sprintf("initial load of %d line items", w.LineItems),
			func(t pgTimes) time.Duration { return t.initial },
			func(d time.Duration) string { return d.Round(time.Millisecond).String() }},
		{"batches of 1,000 new line items (rows/s)",
			func(t pgTimes) time.Duration { return t.batches },
			func(d time.Duration) string { return fmt.Sprintf("%.0f", rows/d.Seconds()) }},
		{fmt.Sprintf("one price change, ~%d rows (median)", w.LineItems/max(w.Products, 1)),
			func(t pgTimes) time.Duration { return t.price },
			func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }},
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\tstepping\tpg_ivm\tREFRESH MATERIALIZED VIEW\tplain, no view\tpg_ivm / stepping\tREFRESH / stepping\tplain / stepping\t")
	for _, m := range measures {
		s := m.of(step)
		line := m.name + "\t" + m.show(s) + "\t"
		for _, o := range others {
			line += cell(m.of(o), m.show) + "\t"
		}
		for _, o := range others {
			if t := m.of(o); t > 0 && s > 0 {
				line += fmt.Sprintf("%.2fx\t", ratio(t, s))
			} else {
				line += "-\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

func cell(d time.Duration, show func(time.Duration) string) string {
	if d == 0 {
		return "-"
	}
	return show(d)
}

// peakHeap runs f while sampling the Go heap in use every 20ms, and
// returns the heap in use before f and the most seen while it ran.
func peakHeap(f func() error) (before, peak uint64, err error) {
	heap := func() uint64 {
		var m goruntime.MemStats
		goruntime.ReadMemStats(&m)
		return m.HeapInuse
	}
	goruntime.GC()
	before = heap()
	done, result := make(chan struct{}), make(chan uint64)
	go func() {
		peak := before
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			peak = max(peak, heap())
			select {
			case <-done:
				result <- peak
				return
			case <-tick.C:
			}
		}
	}()
	err = f()
	close(done)
	return before, <-result, err
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// printSizes prints the space on disk of stepping's state and outputs,
// of the views kept by the baselines and of the inputs.
func printSizes(ctx context.Context, spool *pgxpool.Pool, progSchema string, ivm bool) error {
	size := func(where string) (float64, error) {
		var b int64
		err := spool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm', 'S') AND (`+where+`)`).Scan(&b)
		return float64(b) / 1e6, err
	}
	// The output tables are wherever their names put them: receipts in
	// the program's schema, basket_totals in the search_path's.
	here := "n.nspname = ANY (current_schemas(false)) AND c.relname IN "
	parts := []struct{ name, where string }{
		{"stepping: state and outputs (schema " + progSchema + ", basket_totals, receipts)",
			"n.nspname = '" + strings.ReplaceAll(progSchema, "'", "''") + "' OR " + here + "('basket_totals', 'receipts')"},
		{"pg_ivm's view (basket_totals_ivm)", here + "('basket_totals_ivm')"},
		{"the materialised view (basket_totals_mv)", here + "('basket_totals_mv')"},
		{"inputs (products + line_items)", here + "('products', 'line_items')"},
	}
	mb := make([]float64, len(parts))
	for i, p := range parts {
		var err error
		if mb[i], err = size(p.where); err != nil {
			return err
		}
	}
	// The indexes the runner made on the inputs, for its integrals that
	// read them (named stepping_...), are state: counted with it, not
	// with the inputs.
	var made int64
	if err := spool.QueryRow(ctx, `SELECT coalesce(sum(pg_relation_size(i.indexrelid)), 0)::int8
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE c.relname LIKE 'stepping\_%' AND n.nspname = ANY (current_schemas(false)) AND t.relname IN ('products', 'line_items')`).Scan(&made); err != nil {
		return err
	}
	mb[0] += float64(made) / 1e6
	mb[len(mb)-1] -= float64(made) / 1e6
	parts[0].name += fmt.Sprintf(", with %.1f MB of indexes it made on the inputs", float64(made)/1e6)
	inputs := mb[len(mb)-1]
	fmt.Println("\non disk after the run (pg_total_relation_size):")
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "relations\tMB\tover inputs\t")
	for i, p := range parts {
		if i == 1 && !ivm {
			fmt.Fprintf(tw, "%s\t-\t-\t\n", p.name)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.2fx\t\n", p.name, mb[i], mb[i]/inputs)
	}
	return tw.Flush()
}

func mustExample() string {
	for _, p := range []string{"examples/shop.step", "../../examples/shop.step"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "examples/shop.step"
}

// outputSize is an output table's heap beside the same rows written
// once into a new table.
type outputSize struct {
	table       string
	heap, fresh int64
}

// outputSizes measures stepping's output tables against their rows
// written once: the backfill must write no row twice, and steps must
// leave no more than vacuum reclaims.
func outputSizes(ctx context.Context, spool *pgxpool.Pool, progSchema string) ([]outputSize, error) {
	var out []outputSize
	for _, t := range []string{pgx.Identifier{"basket_totals"}.Sanitize(), pgx.Identifier{progSchema, "receipts"}.Sanitize()} {
		o := outputSize{table: t}
		err := pgx.BeginFunc(ctx, spool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "CREATE TEMP TABLE stepbench_once ON COMMIT DROP AS TABLE "+t); err != nil {
				return err
			}
			return tx.QueryRow(ctx, "SELECT pg_relation_size($1::regclass), pg_relation_size('stepbench_once')", t).Scan(&o.heap, &o.fresh)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// printOutputSizes prints outputSizes taken after the initial load and
// at the end of the run.
func printOutputSizes(afterLoad, atEnd []outputSize) {
	fmt.Println("\noutput tables' heap beside the same rows written once (pg_relation_size):")
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\tafter the initial load\twritten once\tat the end\twritten once\t")
	for i, a := range afterLoad {
		e := atEnd[i]
		fmt.Fprintf(tw, "%s\t%.1f MB\t%.1f MB\t%.1f MB\t%.1f MB\t\n", a.table, float64(a.heap)/1e6, float64(a.fresh)/1e6, float64(e.heap)/1e6, float64(e.fresh)/1e6)
	}
	_ = tw.Flush()
	fmt.Println("At the end the heap also holds the versions the steps replaced, until vacuum reclaims them.")
}
