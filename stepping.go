// Package stepping embeds the stepping interpreter in a Go program: compile
// a .step program, open an engine on a store, give it changes to its
// tables step by step, and read the views it keeps up to date.
//
//	prog, err := stepping.Compile("shop.step", src)
//	eng := prog.NewEngine(runtime.NewMemoryStore())
//	res, err := eng.Step(ctx, map[string][]runtime.Change{...})
//	rows, _ := eng.Contents("basket_totals")
//
// A program that reads the clock (now()) sees, in each step, the wall
// clock's time, or the time given with eng.StepAt(ctx, t, changes); a
// step with no changes at a later time moves its time windows.
//
// Compile errors are a lang.ErrorList: every diagnostic, positioned.
package stepping

import (
	"context"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/typecheck"
)

// Program is a compiled .step program. It is immutable and may be shared.
type Program struct {
	Filename string
	Source   string
	Checked  *typecheck.Program
	Circuit  *ir.Circuit
}

// Compile parses, checks and lowers a program. On errors in the program
// it returns a lang.ErrorList; format it with its Format method and the
// source for carets.
func Compile(filename, src string) (*Program, error) {
	return compile(context.Background(), filename, src, nil)
}

// CompileDB is Compile against a live database: the program's sources
// take their row types from the tables the catalog describes, and
// declared row types are checked against them.
func CompileDB(ctx context.Context, filename, src string, db typecheck.Querier) (*Program, error) {
	return compile(ctx, filename, src, db)
}

func compile(ctx context.Context, filename, src string, db typecheck.Querier) (*Program, error) {
	f, err := lang.Parse(filename, src)
	if err != nil {
		return nil, err
	}
	conf := &typecheck.Config{}
	if db != nil {
		if conf.Catalog, err = typecheck.LoadCatalog(ctx, db, f); err != nil {
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
