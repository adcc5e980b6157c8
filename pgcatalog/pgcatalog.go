package pgcatalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
	"github.com/stepping-io/stepping/types"
)

// Querier runs a query; *pgxpool.Pool, *pgx.Conn and pgx.Tx satisfy it.
// Load asks for no more than Query so that a caller can read the catalog
// on a pool, or inside the transaction that goes on to use the tables.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Load reads from the database the tables that the file's sources and
// declared tables name (typecheck.CatalogNames): their columns, types,
// nullability and primary keys. A name that resolves to no table maps to
// nil, for typecheck.Check to report in place.
func Load(ctx context.Context, q Querier, f *lang.File) (typecheck.MapCatalog, error) {
	cat := typecheck.MapCatalog{}
	for _, parts := range typecheck.CatalogNames(f) {
		written := strings.Join(parts, ".")
		t, err := loadTable(ctx, q, parts)
		if err != nil {
			return nil, fmt.Errorf("reading table %s from the catalog: %w", written, err)
		}
		cat[written] = t
	}
	return cat, nil
}

// LoadTable reads one table, named by its parts as a program writes it
// (["orders"] or ["shop", "orders"]): nil when the database has none. A
// plan reads the tables of a deployed program with it, to say which
// columns its views use that changed.
func LoadTable(ctx context.Context, q Querier, parts []string) (*typecheck.CatalogTable, error) {
	t, err := loadTable(ctx, q, parts)
	if err != nil {
		return nil, fmt.Errorf("reading table %s from the catalog: %w", strings.Join(parts, "."), err)
	}
	return t, nil
}

// catalogQuery reads one table's columns and primary key. The table is
// found by to_regclass, so an unqualified name follows the search_path;
// the name is passed as a parameter, quoted as an identifier.
const catalogQuery = `
SELECT n.nspname, c.relname, a.attname, a.attnotnull, t.typname, a.atttypmod,
       coalesce(et.typname, ''),
       coalesce((SELECT array_agg(pa.attname::text ORDER BY k.ord)
                   FROM pg_index i
                   CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
                   JOIN pg_attribute pa ON pa.attrelid = i.indrelid AND pa.attnum = k.attnum
                  WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
 WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')
 ORDER BY a.attnum`

func loadTable(ctx context.Context, q Querier, parts []string) (*typecheck.CatalogTable, error) {
	rows, err := q.Query(ctx, catalogQuery, pgx.Identifier(parts).Sanitize())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var t *typecheck.CatalogTable
	for rows.Next() {
		var schema, table, col, typ, elem string
		var notNull bool
		var typmod int32
		var pk []string
		if err := rows.Scan(&schema, &table, &col, &notNull, &typ, &typmod, &elem, &pk); err != nil {
			return nil, err
		}
		if t == nil {
			t = &typecheck.CatalogTable{Schema: schema, Name: table, PrimaryKey: pk}
		}
		cc := typecheck.CatalogColumn{Name: col}
		if ty, ok := postgresType(typ, elem, typmod); ok {
			ty.Nullable = !notNull
			cc.Type = ty
		} else {
			cc.Unsupported = typ
			if elem != "" {
				cc.Unsupported = elem + "[]"
			}
		}
		t.Columns = append(t.Columns, cc)
	}
	return t, rows.Err()
}

// postgresType maps a Postgres type name (pg_type.typname) to a stepping
// type; for an array type, elem names the element type.
func postgresType(typname, elem string, typmod int32) (types.Type, bool) {
	if elem != "" {
		e, ok := postgresType(elem, "", typmod)
		if !ok {
			return types.Type{}, false
		}
		return types.ArrayOf(e), true
	}
	switch typname {
	case "bpchar", "name", "citext":
		typname = "text"
	case "json":
		return types.Type{}, false // json keeps text as written; only jsonb maps exactly
	}
	if strings.HasPrefix(typname, "_") {
		return types.Type{}, false
	}
	k, ok := types.LookupKind(typname)
	if !ok {
		return types.Type{}, false
	}
	t := types.Of(k)
	if k == types.Numeric && typmod >= 4 {
		t.Precision = int((typmod - 4) >> 16 & 0xffff)
		t.Scale = int((typmod - 4) & 0xffff)
	}
	return t, true
}
