// Package stepping embeds stepping in a Go program: compile a .step
// program, open an engine on a store (memory, or Postgres), give it
// changes to its tables, step, and read or subscribe to the views it
// keeps up to date.
//
//	prog, err := stepping.CompileFile("shop.step")  // stepping.Diagnostics(err) lists what is wrong
//	eng := prog.OpenMemory()                        // or prog.OpenPostgres(ctx, pool, opts)
//	defer eng.Close()
//	err = eng.Insert(ctx, "products", Product{Name: "tv", Price: decimal.RequireFromString("3.0")})
//	batches, err := eng.Step(ctx)                   // each view's changes, with weights
//	rows, err := eng.Read(ctx, "basket_totals")     // a view's contents now
//	var totals []BasketTotal
//	err = rows.ScanAll(&totals)                     // into structs, by `stepping:"col"` tags
//
// Values reach Go as the types package documents (int8 as int64, numeric
// as decimal.Decimal, ...). A Program is immutable and safe to share; an
// Engine is safe for concurrent use.
//
// A program that reads the clock (now()) sees, in each step, the wall
// clock's time.
package stepping

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/pgcatalog"
)

// Program is a compiled .step program. It is immutable and may be shared.
type Program struct {
	c *compile.Program
	// shapes holds, by shapeKey, how rows given for a table are read
	// (inputShape): worked out once, kept for every engine of the
	// program.
	shapes sync.Map
}

// Compile parses, checks and lowers a program. On errors in the program
// it returns an error holding every diagnostic: Diagnostics lists them,
// and Diagnostic.Format renders each with its source line and caret.
func Compile(filename, src string) (*Program, error) {
	return compileProgram(context.Background(), filename, src, nil)
}

// CompileFile reads and compiles the program in a file.
func CompileFile(filename string) (*Program, error) {
	src, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("reading the program: %w", err)
	}
	return Compile(filename, string(src))
}

// CompileDB is Compile against a live database: the program's sources
// take their row types from the tables the catalog describes, and
// declared row types are checked against them. The tables are read
// through db (a *pgxpool.Pool, *pgx.Conn or pgx.Tx) before checking.
func CompileDB(ctx context.Context, filename, src string, db pgcatalog.Querier) (*Program, error) {
	return compileProgram(ctx, filename, src, db)
}

// CompileDir compiles the program kept in a directory: its *.step files
// (not those of subdirectories), sorted by name, are one program, whose
// declarations may refer to one another across files in any order. Each
// diagnostic names the file it is in. The program's Filename is dir.
func CompileDir(dir string) (*Program, error) {
	return CompileDirDB(context.Background(), dir, nil)
}

// CompileDirDB is CompileDir against a live database, as CompileDB is
// Compile; db may be nil to compile without one.
func CompileDirDB(ctx context.Context, dir string, db pgcatalog.Querier) (*Program, error) {
	files, err := compile.ReadProgram(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the program: %w", err)
	}
	c, err := compile.CompileFiles(ctx, dir, files, db)
	if err != nil {
		return nil, err
	}
	return &Program{c: c}, nil
}

func compileProgram(ctx context.Context, filename, src string, db pgcatalog.Querier) (*Program, error) {
	c, err := compile.Compile(ctx, filename, src, db)
	if err != nil {
		return nil, err
	}
	return &Program{c: c}, nil
}

// Filename is the name the program was compiled under: for a program
// compiled by CompileDir, its directory.
func (p *Program) Filename() string { return p.c.Filename }

// Source is the program's text. For a program of many files it is their
// texts joined in name order, each ending in a newline: positions in
// diagnostics are positions in each file, not in this text, so to render
// them read the file each names.
func (p *Program) Source() string { return p.c.Source }

// Explain renders the program's circuit as text.
func (p *Program) Explain() string { return ir.Explain(p.c.Circuit) }

// Tables returns the names of the program's tables, in declaration order.
func (p *Program) Tables() []string {
	var out []string
	for _, in := range p.c.Circuit.Inputs {
		out = append(out, in.Name)
	}
	return out
}

// Views returns the names of the program's views, in dependency order.
func (p *Program) Views() []string {
	var out []string
	for _, v := range p.c.Circuit.Views {
		out = append(out, v.Name)
	}
	return out
}

// Outputs returns the names of the views the program outputs, or of
// every view when it declares no output.
func (p *Program) Outputs() []string {
	var out []string
	for _, v := range p.c.OutputViews() {
		out = append(out, v.Name)
	}
	return out
}

// Columns returns the columns of a table or view of the program.
func (p *Program) Columns(name string) ([]Column, error) {
	if v := p.c.View(name); v != nil {
		return columnsOf(v.Columns), nil
	}
	if in := p.c.Input(name); in != nil {
		return columnsOf(in.Columns), nil
	}
	return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "table or view", Name: name})
}

// view returns the view of the given name, or nil.
func (p *Program) view(name string) *ir.View { return p.c.View(name) }

// ExplainView renders one view's part of Explain's text: the view and its
// columns, its output clause if it is one, and its tree of operators,
// with what earlier views compute shown by reference to them.
func (p *Program) ExplainView(name string) (string, error) {
	text, ok := ir.ExplainView(p.c.Circuit, name)
	if !ok {
		return "", fmt.Errorf("stepping: %w", &NotFoundError{Kind: "view", Name: name})
	}
	return text, nil
}

// PrimaryKey returns the names of a table's primary key columns, in the
// key's order, or nil for a table declared without a primary key: what
// Delete and Update match rows by.
func (p *Program) PrimaryKey(table string) ([]string, error) {
	in := p.c.Input(table)
	if in == nil {
		return nil, fmt.Errorf("stepping: %w", &NotFoundError{Kind: "table", Name: table})
	}
	var key []string
	for _, k := range in.PrimaryKey {
		key = append(key, in.Columns[k].Name)
	}
	return key, nil
}
