package stepping

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// ReadTable reads the rows a table of the program holds in the database
// now, typed as the program types them: a snapshot of the live table,
// read once, for a caller that runs the program elsewhere (stepq repl
// --db runs it in memory over what it reads). The program must have been
// compiled with CompileDB, which finds its tables in the database's
// catalog; a program compiled without one has no table there.
func (p *Program) ReadTable(ctx context.Context, pool *pgxpool.Pool, table string) (*Rows, error) {
	in := p.c.Input(table)
	if in == nil {
		return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "table", Name: table})
	}
	if in.Postgres == nil {
		return nil, fmt.Errorf("stepping: table %s is not read from a database: compile the program with CompileDB", table)
	}
	z, err := postgres.ReadSource(ctx, pool, in)
	if err != nil {
		return nil, fmt.Errorf("stepping: reading %s: %w", table, err)
	}
	return newRows(columnsOf(in.Columns), z), nil
}
