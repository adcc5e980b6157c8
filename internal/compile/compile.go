// Package compile runs the front end: a .step program's text parsed,
// checked (against a database's catalog when one is given) and lowered to
// its circuit. The root package wraps the result in its immutable
// Program; this module's commands and tests, which drive the runtime
// themselves, use it as it is.
package compile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/pgcatalog"
	"github.com/stepping-io/stepping/runtime"
	"github.com/stepping-io/stepping/typecheck"
)

// Program is a compiled program.
type Program struct {
	Filename string             // the name it was compiled under: a file, or a directory
	Source   string             // its text; for many files, their texts joined in order
	Files    []lang.SourceFile  // the files it was compiled from, one for a single file
	Checked  *typecheck.Program // the typed program
	Circuit  *ir.Circuit        // the incremental circuit it runs as
}

// Compile parses, checks and lowers a program. With db, its sources take
// their row types from the tables the database's catalog describes. On
// errors in the program it returns a lang.ErrorList holding every one.
// A panic in the front end, a bug, is returned as an error rather than
// ending the host program.
func Compile(ctx context.Context, filename, src string, db pgcatalog.Querier) (prog *Program, err error) {
	return CompileFiles(ctx, filename, []lang.SourceFile{{Name: filename, Text: src}}, db)
}

// CompileFiles is Compile of a program kept in many files, named name
// (its directory): their declarations form one program and may refer to
// one another whatever file they are in.
func CompileFiles(ctx context.Context, name string, files []lang.SourceFile, db pgcatalog.Querier) (prog *Program, err error) {
	defer func() {
		if p := recover(); p != nil {
			prog, err = nil, fmt.Errorf("%s: internal error while compiling: %v", name, p)
		}
	}()
	var f *lang.File
	if len(files) == 1 && files[0].Name == name {
		f, err = lang.Parse(name, files[0].Text)
	} else {
		f, err = lang.ParseFiles(name, files)
	}
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
	return &Program{Filename: name, Source: joinTexts(files), Files: files, Checked: checked, Circuit: c}, nil
}

// joinTexts joins the files' texts, each ending in a newline so that no
// two files share a line.
func joinTexts(files []lang.SourceFile) string {
	if len(files) == 1 {
		return files[0].Text
	}
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.Text)
		if !strings.HasSuffix(f.Text, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// ReadProgram reads the program at path: a .step file, or a directory
// whose *.step files (not those of its subdirectories), sorted by name,
// are one program. It returns the files; a directory without a .step
// file is an error.
func ReadProgram(path string) ([]lang.SourceFile, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		text, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return []lang.SourceFile{{Name: path, Text: string(text)}}, nil
	}
	names, err := filepath.Glob(filepath.Join(path, "*.step"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var files []lang.SourceFile
	for _, n := range names {
		if fi, err := os.Stat(n); err != nil || fi.IsDir() {
			continue
		}
		text, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		files = append(files, lang.SourceFile{Name: n, Text: string(text)})
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: no .step files in the directory", path)
	}
	return files, nil
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
