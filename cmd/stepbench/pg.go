package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/shopbench"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// runPG measures the shop workload on Postgres, in one run on one server:
// stepping keeping basket_totals as a table, the same view kept by
// REFRESH MATERIALIZED VIEW after each batch, and plain inserts with no
// view at all.
func runPG(ctx context.Context, url string, w shopbench.Workload, batches, changes int) error {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return err
	}
	defer pool.Close()
	const schema = "stepbench"
	exec := func(sql string, args ...any) error {
		_, err := pool.Exec(ctx, sql, args...)
		return err
	}
	if err := exec("DROP SCHEMA IF EXISTS stepbench CASCADE; DROP SCHEMA IF EXISTS stepbench_prog CASCADE; CREATE SCHEMA stepbench"); err != nil {
		return err
	}
	defer func() {
		_ = exec("DROP SCHEMA IF EXISTS stepbench CASCADE; DROP SCHEMA IF EXISTS stepbench_prog CASCADE")
	}()
	cfg := pool.Config()
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	spool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer spool.Close()
	sexec := func(sql string, args ...any) error {
		_, err := spool.Exec(ctx, sql, args...)
		return err
	}

	fmt.Printf("shop workload on Postgres: %d products, %d line items, %d baskets; then %d batches of 1,000 new line items and %d single price changes\n\n",
		w.Products, w.LineItems, w.Baskets, batches, changes)
	d := w.Generate()
	ddl := `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));
CREATE TABLE plain_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`
	if err := sexec(ddl); err != nil {
		return err
	}
	copyRows := func(table string, ls []shopbench.LineItem) error {
		rows := make([][]any, len(ls))
		for i, l := range ls {
			rows[i] = []any{l.Basket, l.Product, l.Qty}
		}
		_, err := spool.CopyFrom(ctx, pgx.Identifier{table}, []string{"basket_id", "product_name", "qty"}, pgx.CopyFromRows(rows))
		return err
	}
	prodRows := make([][]any, len(d.Products))
	for i, p := range d.Products {
		prodRows[i] = []any{p.Name, p.Price.String()}
	}
	if _, err := spool.CopyFrom(ctx, pgx.Identifier{"products"}, []string{"name", "price"}, pgx.CopyFromRows(prodRows)); err != nil {
		return err
	}
	if err := copyRows("line_items", d.LineItems); err != nil {
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
	pg := &postgres.Runner{Pool: spool, Circuit: prog.Circuit, Schema: "stepbench_prog", BatchSize: 50_000}
	initial, err := shopbench.Timed(func() error {
		if err := pg.Setup(ctx, false); err != nil {
			return err
		}
		_, err := pg.ApplyPending(ctx, nil)
		return err
	})
	if err != nil {
		return err
	}

	// The materialised view baseline over the same tables.
	mvInitial, err := shopbench.Timed(func() error {
		return sexec(`CREATE MATERIALIZED VIEW basket_totals_mv AS
SELECT li.basket_id, sum(p.price * li.qty) AS total, count(*) AS items
  FROM line_items li JOIN products p ON li.product_name = p.name GROUP BY li.basket_id`)
	})
	if err != nil {
		return err
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
	var stepT, refreshT, plainT time.Duration
	for range batches {
		b := newBatch()
		t, err := shopbench.Timed(func() error {
			if err := copyRows("line_items", b); err != nil {
				return err
			}
			_, err := pg.ApplyPending(ctx, nil)
			return err
		})
		if err != nil {
			return err
		}
		stepT += t
		t, err = shopbench.Timed(func() error { return sexec("REFRESH MATERIALIZED VIEW basket_totals_mv") })
		if err != nil {
			return err
		}
		refreshT += t
		t, err = shopbench.Timed(func() error { return copyRows("plain_items", b) })
		if err != nil {
			return err
		}
		plainT += t
	}
	var priceT, priceRefreshT []time.Duration
	for i := range changes {
		p := d.Products[(i*37)%len(d.Products)]
		t, err := shopbench.Timed(func() error {
			if err := sexec("UPDATE products SET price = price + 0.01 WHERE name = $1", p.Name); err != nil {
				return err
			}
			_, err := pg.ApplyPending(ctx, nil)
			return err
		})
		if err != nil {
			return err
		}
		priceT = append(priceT, t)
		if i < 5 {
			t, err = shopbench.Timed(func() error { return sexec("REFRESH MATERIALIZED VIEW basket_totals_mv") })
			if err != nil {
				return err
			}
			priceRefreshT = append(priceRefreshT, t)
		}
	}
	var mismatched int
	if err := spool.QueryRow(ctx, `SELECT count(*) FROM ((TABLE basket_totals EXCEPT ALL
  SELECT li.basket_id, sum(p.price * li.qty), count(*) FROM line_items li JOIN products p ON li.product_name = p.name GROUP BY li.basket_id)
  UNION ALL (SELECT li.basket_id, sum(p.price * li.qty), count(*) FROM line_items li JOIN products p ON li.product_name = p.name GROUP BY li.basket_id
  EXCEPT ALL TABLE basket_totals)) x`).Scan(&mismatched); err != nil {
		return err
	}

	rows := float64(batches * 1000)
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "measure\tstepping\tREFRESH MATERIALIZED VIEW\tplain inserts, no view\tstepping vs refresh\tstepping vs plain\t")
	fmt.Fprintf(tw, "initial load of %d line items\t%s\t%s\t\t%.2fx\t\t\n", w.LineItems,
		initial.Round(time.Millisecond), mvInitial.Round(time.Millisecond), ratio(mvInitial, initial))
	fmt.Fprintf(tw, "batches of 1,000 new line items (rows/s)\t%.0f\t%.0f\t%.0f\t%.1fx\t%.2fx\t\n",
		rows/stepT.Seconds(), rows/(plainT+refreshT).Seconds(), rows/plainT.Seconds(),
		ratio(plainT+refreshT, stepT), ratio(plainT, stepT))
	fmt.Fprintf(tw, "one price change, ~%d rows (median)\t%s\t%s\t\t%.0fx\t\t\n", w.LineItems/w.Products,
		median(priceT).Round(10*time.Microsecond), median(priceRefreshT).Round(time.Millisecond), ratio(median(priceRefreshT), median(priceT)))
	tw.Flush()
	fmt.Printf("\nbasket_totals rows differing from recomputation at the end: %d\n", mismatched)
	fmt.Println("stepping's times include the SQL write that changes the source table, the trigger capture and the step that applies it.")
	return nil
}

func mustExample() string {
	for _, p := range []string{"examples/shop.step", "../../examples/shop.step"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "examples/shop.step"
}
