package stepping

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// ReadTable reads the rows a source of the program (source s = table
// public.orders) holds in the database now, typed as the program types
// them: a snapshot of the live table, read once, for a caller that runs
// the program elsewhere (stepq repl --db runs it in memory over what it
// reads). A table the program declares itself is not in the database and
// is an error.
func (p *Program) ReadTable(ctx context.Context, pool *pgxpool.Pool, table string) (*Rows, error) {
	in := p.c.Input(table)
	if in == nil {
		return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "table", Name: table})
	}
	if in.Postgres == nil {
		return nil, fmt.Errorf("stepping: table %s is declared by the program, not read from the database", table)
	}
	z, err := postgres.ReadSource(ctx, pool, in)
	if err != nil {
		return nil, fmt.Errorf("stepping: reading %s: %w", table, err)
	}
	return newRows(columnsOf(in.Columns), z), nil
}
