package stepping_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/pgtest"
)

// The API's errors can be told apart with errors.Is and errors.As, in
// memory and on Postgres alike.
func TestErrorsMemory(t *testing.T) {
	ctx := context.Background()
	prog, err := stepping.Compile("shop.step", shopSrc)
	if err != nil {
		t.Fatal(err)
	}
	eng := prog.OpenMemory()
	var nf *stepping.NotFoundError
	if err := eng.Insert(ctx, "nothere", Product{"tv", decimal.RequireFromString("1")}); !errors.Is(err, stepping.ErrNotFound) || !errors.As(err, &nf) || nf.Kind != "table" {
		t.Errorf("insert into an unknown table: %v", err)
	}
	if _, err := eng.Read(ctx, "nothere"); !errors.Is(err, stepping.ErrNotFound) || !errors.As(err, &nf) || nf.Kind != "view" || nf.Name != "nothere" {
		t.Errorf("read of an unknown view: %v", err)
	}
	if _, err := eng.Subscribe(ctx, "nothere"); !errors.Is(err, stepping.ErrNotFound) {
		t.Errorf("subscribe to an unknown view: %v", err)
	}
	if err := eng.Insert(ctx, "products", Product{"tv", decimal.RequireFromString("1")}, Product{"tv", decimal.RequireFromString("2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Step(ctx); !errors.Is(err, stepping.ErrDuplicateKey) {
		t.Errorf("a step inserting a key twice: %v", err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if err := eng.Insert(ctx, "products", Product{"tv", decimal.RequireFromString("1")}); !errors.Is(err, stepping.ErrClosed) {
		t.Errorf("insert into a closed engine: %v", err)
	}
}

func TestErrorsPostgres(t *testing.T) {
	pool, schema := pgtest.Schema(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE products (name text PRIMARY KEY, price numeric NOT NULL);
CREATE TABLE line_items (basket_id bigint, product_name text NOT NULL, qty int NOT NULL, PRIMARY KEY (basket_id, product_name));`); err != nil {
		t.Fatal(err)
	}
	progSchema := schema + "_api"
	t.Cleanup(func() {
		_, _ = pool.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{progSchema}.Sanitize()+" CASCADE")
	})
	prog, err := stepping.CompileDB(ctx, "shop.step", shopSrc, pool)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := prog.OpenPostgres(ctx, pool, stepping.PostgresOptions{Schema: progSchema})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Insert(ctx, "products", Product{"tv", decimal.RequireFromString("1")}); err != nil {
		t.Fatal(err)
	}
	err = eng.Insert(ctx, "products", Product{"tv", decimal.RequireFromString("2")})
	var pgErr *pgconn.PgError
	if !errors.Is(err, stepping.ErrDuplicateKey) || !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Errorf("a duplicate key on Postgres: %v", err)
	}
	if _, err := eng.Read(ctx, "nothere"); !errors.Is(err, stepping.ErrNotFound) {
		t.Errorf("read of an unknown view: %v", err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	changed, err := stepping.CompileDB(ctx, "shop.step", shopSrc+"\nview extra = products | select { name }\n", pool)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := changed.OpenPostgres(ctx, pool, stepping.PostgresOptions{Schema: progSchema}); !errors.Is(err, stepping.ErrVersion) {
		t.Errorf("a changed program opened against old state: %v", err)
	}
	// With Apply, the change is applied and the old state kept.
	applied, err := changed.OpenPostgres(ctx, pool, stepping.PostgresOptions{Schema: progSchema, Apply: true})
	if err != nil {
		t.Fatalf("a changed program opened with Apply: %v", err)
	}
	defer applied.Close()
	if err := applied.Insert(ctx, "line_items", LineItem{1, "tv", 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := applied.Step(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := applied.Read(ctx, "basket_totals")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(rows.Rows); got != "[[1 3 1]]" {
		t.Errorf("basket_totals after the apply: %s, want [[1 3 1]]", got)
	}
}
