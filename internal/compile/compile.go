// Package compile runs the front end: a .step program's text parsed,
// checked (against a database's catalog when one is given) and lowered to
// its circuit. The root package wraps the result in its immutable
// Program; this module's commands and tests, which drive the runtime
// themselves, use it as it is.
package compile

import (
	"context"
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/pgcatalog"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/typecheck"
)

// Program is a compiled program.
type Program struct {
	Filename string             // the name it was compiled under
	Source   string             // its text
	Checked  *typecheck.Program // the typed program
	Circuit  *ir.Circuit        // the incremental circuit it runs as
}

// Compile parses, checks and lowers a program. With db, its sources take
// their row types from the tables the database's catalog describes. On
// errors in the program it returns a lang.ErrorList holding every one.
// A panic in the front end, a bug, is returned as an error rather than
// ending the host program.
func Compile(ctx context.Context, filename, src string, db pgcatalog.Querier) (prog *Program, err error) {
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

// View returns the view of the given name, or nil.
func (p *Program) View(name string) *ir.View {
	for _, v := range p.Circuit.Views {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Input returns the table of the given name, or nil.
func (p *Program) Input(name string) *ir.Input {
	for _, in := range p.Circuit.Inputs {
		if in.Name == name {
			return in
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

// NewEngine returns the runtime's engine running the program on store.
func (p *Program) NewEngine(store runtime.Store) *runtime.Engine {
	return runtime.New(p.Circuit, store)
}
