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
// Lower-level access stays available: Program.NewEngine returns the
// runtime's engine over any runtime.Store, stepping changes given as
// runtime.Change values and reading Z-sets.
//
// A program that reads the clock (now()) sees, in each step, the wall
// clock's time, or the time given with the runtime engine's StepAt; a
// step with no changes at a later time moves its time windows.
package stepping

import (
	"context"
	"fmt"
	"os"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/pgcatalog"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/typecheck"
)

// Program is a compiled .step program. It is immutable and may be shared.
type Program struct {
	Filename string             // the name it was compiled under
	Source   string             // its text
	Checked  *typecheck.Program // the typed program
	Circuit  *ir.Circuit        // the incremental circuit it runs as
}

// Compile parses, checks and lowers a program. On errors in the program
// it returns an error holding every diagnostic: Diagnostics lists them,
// and it is a lang.ErrorList whose Format method renders them with the
// source lines and carets.
func Compile(filename, src string) (*Program, error) {
	return compile(context.Background(), filename, src, nil)
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
	return compile(ctx, filename, src, db)
}

func compile(ctx context.Context, filename, src string, db pgcatalog.Querier) (prog *Program, err error) {
	// A panic in the front end is a bug; report it as an error rather
	// than end the host program.
	defer func() {
		if p := recover(); p != nil {
			prog, err = nil, fmt.Errorf("%s: internal error while compiling: %v", filename, p)
		}
	}()
	f, err := lang.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	conf := &typecheck.Config{}
	if db != nil {
		if conf.Catalog, err = pgcatalog.Load(ctx, db, f); err != nil {
			return nil, err
		}
	}
	checked, err := typecheck.Check(f, conf)
	if err != nil {
		return nil, err
	}
	c, err := ir.Lower(checked)
	if err != nil {
		return nil, err
	}
	return &Program{Filename: filename, Source: src, Checked: checked, Circuit: c}, nil
}

// NewEngine returns an engine running the program on store.
func (p *Program) NewEngine(store runtime.Store) *runtime.Engine {
	return runtime.New(p.Circuit, store)
}

// Explain renders the program's circuit as text.
func (p *Program) Explain() string { return ir.Explain(p.Circuit) }

// View returns the view of the given name, or nil.
func (p *Program) View(name string) *ir.View {
	for _, v := range p.Circuit.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// OutputViews returns the views the program outputs, or every view when
// it declares no output.
func (p *Program) OutputViews() []*ir.View {
	if len(p.Circuit.Outputs) == 0 {
		return p.Circuit.Views
	}
	var out []*ir.View
	for _, o := range p.Circuit.Outputs {
		out = append(out, o.View)
	}
	return out
}
