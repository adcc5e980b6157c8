package main

import (
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ivm is pg_ivm's side of the comparison: an incrementally maintained
// materialised view (IMMV) over copies of the inputs of its own.
//
// It is not exercised where pg_ivm is not installed (as on the machine
// this was written on): keep it small.
type ivm struct {
	r      *pgRun
	schema string // where pg_ivm's create_immv is: pgivm in recent versions
}

// newIVM installs pg_ivm if it can and loads its copies of the inputs.
// Without pg_ivm it says why on one line and returns nil.
func newIVM(r *pgRun, pool *pgxpool.Pool) (*ivm, error) {
	// On the pool without search_path, so that the extension's objects do
	// not land in the schema dropped at the end.
	if _, err := pool.Exec(r.ctx, "CREATE EXTENSION IF NOT EXISTS pg_ivm"); err != nil {
		fmt.Printf("pg_ivm: not measured (CREATE EXTENSION IF NOT EXISTS pg_ivm: %v)\n\n", err)
		return nil, nil
	}
	iv := &ivm{r: r}
	// pg_ivm 1.10 and later keep their functions in schema pgivm, earlier
	// versions in pg_catalog.
	if err := pool.QueryRow(r.ctx, `SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.proname = 'create_immv' ORDER BY n.nspname = 'pgivm' DESC LIMIT 1`).Scan(&iv.schema); err != nil {
		return nil, fmt.Errorf("pg_ivm: finding create_immv: %w", err)
	}
	err := r.exec(`CREATE TABLE ivm_products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE ivm_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`)
	if err == nil {
		err = r.copyProducts("ivm_products")
	}
	if err == nil {
		err = r.copyItems("ivm_items", r.d.LineItems)
	}
	return iv, err
}

// create makes the IMMV basket_totals_ivm from the loaded copies: its
// backfill.
func (iv *ivm) create() error {
	return iv.r.exec("SELECT "+pgx.Identifier{iv.schema, "create_immv"}.Sanitize()+"($1, $2)",
		"basket_totals_ivm", fmt.Sprintf(viewSQL, "ivm_items", "ivm_products"))
}
