package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/zset"
)

// CreateTableSQL returns the statement that creates a Postgres table for
// rows with the given columns and primary key (column indexes), with the
// Postgres types stepping's types map to.
func CreateTableSQL(table []string, cols []ir.Column, pk []int) string {
	var defs []string
	for _, c := range cols {
		def := ident(c.Name) + " " + pgTypeName(c.Type)
		if !c.Type.Nullable {
			def += " NOT NULL"
		}
		defs = append(defs, def)
	}
	if len(pk) > 0 {
		var names []string
		for _, i := range pk {
			names = append(names, ident(cols[i].Name))
		}
		defs = append(defs, "PRIMARY KEY ("+strings.Join(names, ", ")+")")
	}
	return "CREATE TABLE " + ident(table...) + " (\n  " + strings.Join(defs, ",\n  ") + "\n)"
}

// Execer runs a statement; pgx.Tx, *pgx.Conn and *pgxpool.Pool satisfy it.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// WriteChanges applies changes to a Postgres table with ordinary SQL, as
// an application would: insert, delete and update by primary key (a
// table without one deletes one copy of an equal row). In a table that
// stepping follows, its capture triggers then record the changes.
func WriteChanges(ctx context.Context, db Execer, table []string, in *ir.Input, changes []runtime.Change) error {
	name := ident(table...)
	cols := in.Columns
	match := func(idx []int, from int) string {
		var conds []string
		for n, i := range idx {
			op := " = "
			if cols[i].Type.Nullable {
				op = " IS NOT DISTINCT FROM "
			}
			conds = append(conds, fmt.Sprintf("%s%s$%d::%s", ident(cols[i].Name), op, from+n, pgTypeName(cols[i].Type)))
		}
		return strings.Join(conds, " AND ")
	}
	all := make([]int, len(cols))
	for i := range all {
		all[i] = i
	}
	key := in.PrimaryKey
	for _, c := range changes {
		vals := make([]any, len(cols))
		for i, v := range c.Row {
			vals[i] = toPG(v, cols[i].Type)
		}
		var err error
		switch c.Op {
		case runtime.Insert:
			var names, params []string
			for i, col := range cols {
				names = append(names, ident(col.Name))
				params = append(params, fmt.Sprintf("$%d::%s", i+1, pgTypeName(col.Type)))
			}
			_, err = db.Exec(ctx, "INSERT INTO "+name+" ("+strings.Join(names, ", ")+") VALUES ("+strings.Join(params, ", ")+")", vals...)
		case runtime.Delete:
			if len(key) > 0 {
				cond := match(key, 1)
				_, err = db.Exec(ctx, "DELETE FROM "+name+" WHERE "+cond, pick(vals, key)...)
			} else {
				cond := match(all, 1)
				_, err = db.Exec(ctx, "DELETE FROM "+name+" WHERE ctid = (SELECT ctid FROM "+name+" WHERE "+cond+" LIMIT 1)", vals...)
			}
		case runtime.Update:
			if len(key) == 0 {
				return fmt.Errorf("%s: update needs a primary key, and table %s has none", c.Where(0), in.Name)
			}
			var sets []string
			for i, col := range cols {
				sets = append(sets, fmt.Sprintf("%s = $%d::%s", ident(col.Name), i+1, pgTypeName(col.Type)))
			}
			cond := match(key, len(cols)+1)
			_, err = db.Exec(ctx, "UPDATE "+name+" SET "+strings.Join(sets, ", ")+" WHERE "+cond, append(vals, pick(vals, key)...)...)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.Where(0), err)
		}
	}
	return nil
}

func pick(vals []any, idx []int) []any {
	out := make([]any, len(idx))
	for n, i := range idx {
		out[n] = vals[i]
	}
	return out
}

// ReadTable reads a Postgres table's rows as a Z-set of rows with the
// given columns, converting each value exactly (as the change log does).
func ReadTable(ctx context.Context, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, table []string, cols []ir.Column) (*zset.ZSet, error) {
	rows, err := db.Query(ctx, "SELECT to_json(t.*)::text FROM "+ident(table...)+" t")
	if err != nil {
		return nil, err
	}
	texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	in := &ir.Input{Name: strings.Join(table, "."), Columns: cols}
	p := &Runner{Circuit: &ir.Circuit{Inputs: []*ir.Input{in}}}
	batch := make([]logRow, len(texts))
	for i, t := range texts {
		batch[i] = logRow{id: int64(i + 1), source: in.Name, weight: 1, row: []byte(t)}
	}
	deltas, err := p.decode(batch)
	if err != nil {
		return nil, err
	}
	if z, ok := deltas[in.Name]; ok {
		return z, nil
	}
	return zset.New(), nil
}
