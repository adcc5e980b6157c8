package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mattn/go-runewidth"
	stepping "github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/internal/suggest"
	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/zset"
)

// decl is one declaration the session holds, as the user wrote it.
type decl struct {
	kind string // table, source, view, output
	name string // the declared name; for an output, its view
	text string
	// file, line and col are where text starts in the file :load read
	// it from; empty for a declaration typed at the prompt.
	file      string
	line, col int
}

func (d *decl) label() string { return d.kind + " " + d.name }

// session is the REPL's state: the declarations typed so far, the
// program they compile to, and an engine holding the tables' rows and
// the views' contents. A change of declarations compiles the whole
// program again and replays the tables' rows into a fresh engine; a
// change of rows is one step of the engine, whose changes are shown.
type session struct {
	ctx   context.Context
	out   io.Writer
	errw  io.Writer
	db    *pgxpool.Pool
	decls []*decl
	prog  *stepping.Program // nil while there are no declarations
	// syn maps positions in prog's text to the declarations they come
	// from, to place errors of the steps eng runs.
	syn    *synth
	eng    *stepping.Engine
	failed bool // some statement failed
	quit   bool
	// extended counts the declarations that computed only their new
	// views (see extend), for tests.
	extended int
	// print is how rows are printed (:format, :x, :null); timing says
	// whether each statement's time is printed after it (:timing), as
	// clock, which tests replace, measures it.
	print  stepping.PrintOptions
	timing bool
	clock  func() time.Time
	// dbTables are the database's visible tables, read once for
	// completion and :tables (with --db).
	dbTables []string
	// last is the last statement run, which :e edits; edit opens a text
	// in the user's editor, nil off a terminal; noPager turns paging off
	// (:pager).
	last    string
	edit    func(text string) (string, error)
	noPager bool
	// autoExpand (:x auto) prints rows expanded when they are wider than
	// width, the terminal's columns (nil off a terminal).
	autoExpand bool
	width      func() int
}

func newSession(ctx context.Context, out, errw io.Writer, db *pgxpool.Pool) *session {
	return &session{ctx: ctx, out: out, errw: errw, db: db, clock: time.Now}
}

// printRows prints rows as the session's settings say: with :x auto,
// expanded when the table would be wider than the terminal.
func (s *session) printRows(rows *stepping.Rows) error {
	if !s.autoExpand || s.width == nil || s.print.Expanded || s.print.Format != "" && s.print.Format != "aligned" {
		return rows.Print(s.out, s.print)
	}
	var table bytes.Buffer
	if err := rows.Print(&table, s.print); err != nil {
		return err
	}
	if width := s.width(); width > 0 {
		for _, line := range strings.Split(table.String(), "\n") {
			if runewidth.StringWidth(line) > width {
				wide := s.print
				wide.Expanded = true
				return rows.Print(s.out, wide)
			}
		}
	}
	_, err := s.out.Write(table.Bytes())
	return err
}

// run executes the statements of one complete input, separated by
// top-level semicolons, reporting each error and going on.
func (s *session) run(text string) {
	st := scan(text)
	start := 0
	for _, end := range append(st.semis, len(text)) {
		stmt := text[start:end]
		start = end + 1
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		began := s.clock()
		if !strings.HasPrefix(strings.TrimSpace(stripComments(stmt)), ":") {
			s.last = strings.TrimSpace(stmt)
		}
		err := s.exec(stmt)
		took := s.clock().Sub(began)
		if err != nil {
			s.failed = true
			var re *replError
			if errors.As(err, &re) {
				fmt.Fprint(s.errw, re.format())
			} else {
				fmt.Fprintf(s.errw, "error: %v\n", err)
			}
		}
		if s.timing && !strings.HasPrefix(strings.TrimSpace(stripComments(stmt)), ":") {
			// As psql's \timing: after the statement, failed or not.
			fmt.Fprintf(s.out, "Time: %.3f ms\n", float64(took.Microseconds())/1000)
		}
		if s.quit {
			return
		}
	}
}

// stripComments removes # comments outside strings.
func stripComments(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch c {
		case '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
			if i < len(text) {
				b.WriteByte('\n')
			}
			continue
		case '"', '`':
			j := i + 1
			for j < len(text) && text[j] != c && text[j] != '\n' {
				if c == '"' && text[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j, len(text)-1)
			b.WriteString(text[i : j+1])
			i = j
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// exec runs one statement. A panic inside is a bug; it becomes the
// statement's error, and the session goes on.
func (s *session) exec(stmt string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v (the session goes on; please report this)", p)
		}
	}()
	o := &origin{text: stmt}
	tok := &tokenizer{text: stmt}
	first, at := tok.next()
	switch first {
	case ":":
		return s.meta(stmt[at+1:])
	case "table", "source", "view", "output", "fn":
		return s.declare(o)
	case "insert", "delete", "update":
		save := tok.pos
		second, _ := tok.next()
		third, _ := tok.next()
		fourth, _ := tok.next()
		tok.pos = save
		switch {
		case first == "insert" && second == "into":
			return s.insert(o, tok)
		case first == "delete" && second == "from":
			return s.delete(o, tok)
		case first == "update" && isName(second) && third == "set":
			return s.update(o, tok)
		case first == "update" && isName(second) && fourth == "set":
			// update t as x set ...: say what is wrong rather than
			// reading it as a query.
			return errorAt(o, span{at, len(strings.TrimRight(stmt, " \t\r\n"))}, "update t set col = expr where cond", "an update names a table and then set")
		}
	}
	return s.query(o)
}

// ---- declarations

// declare adds the declarations of a statement to the session: a view
// or output of a name already declared replaces it; a table or source
// must be new.
func (s *session) declare(o *origin) error {
	f, err := lang.Parse("", o.text)
	if err != nil {
		return parseError(o, span{0, len(o.text)}, err)
	}
	decls := append([]*decl(nil), s.decls...)
	var added []*decl
	for _, d := range f.Decls {
		pos, end := d.Span()
		nd := &decl{text: o.text[pos.Offset:end.Offset]}
		var id *lang.Ident
		switch d := d.(type) {
		case *lang.TableDecl:
			nd.kind, id = "table", d.Name
		case *lang.SourceDecl:
			nd.kind, id = "source", d.Name
		case *lang.ViewDecl:
			nd.kind, id = "view", d.Name
		case *lang.OutputDecl:
			nd.kind, id = "output", d.Name
		case *lang.FuncDecl:
			nd.kind, id = "fn", d.Name
		}
		nd.name = id.Name
		replaced := false
		for i, old := range decls {
			switch {
			case old.kind == nd.kind && old.name == nd.name && (nd.kind == "view" || nd.kind == "output"):
				decls[i], replaced = nd, true
			case old.kind != "output" && nd.kind != "output" && old.name == nd.name:
				return errorAt(o, span{id.Pos.Offset, id.End.Offset}, "redefine views freely; :drop "+nd.name+" first to declare it anew",
					"%s is already declared as a %s", nd.name, old.kind)
			}
		}
		if !replaced {
			decls = append(decls, nd)
		}
		added = append(added, nd)
	}
	prog, syn, err := s.compile(decls, func(*synth) {}, o)
	if err != nil {
		return syn.mapError(err)
	}
	if err := s.extend(decls, prog, syn); err != nil {
		return err
	}
	for _, d := range added {
		s.describeNew(d)
	}
	return nil
}

// compile compiles the given declarations, with more text that extra
// appends, against the database when there is one. The statement o, if
// any of its text is compiled, is where errors in it are placed.
func (s *session) compile(decls []*decl, extra func(*synth), o *origin) (*stepping.Program, *synth, error) {
	syn := synthOf(decls, o)
	extra(syn)
	if s.db != nil {
		prog, err := stepping.CompileDB(s.ctx, "", syn.String(), s.db)
		return prog, syn, err
	}
	prog, err := stepping.Compile("", syn.String())
	return prog, syn, err
}

// synthOf is the text of declarations, one a line, mapped to each
// declaration, or to the statement o for those of its text.
func synthOf(decls []*decl, o *origin) *synth {
	syn := &synth{}
	for _, d := range decls {
		do := &origin{name: d.label(), text: d.text, file: d.file, line: d.line, col: d.col}
		if d.text == "" {
			continue
		}
		if o != nil && strings.Contains(o.text, d.text) {
			// A declaration of this very statement: errors point into it.
			i := strings.Index(o.text, d.text)
			syn.copy(o, span{i, i + len(d.text)})
		} else {
			syn.copy(do, span{0, len(d.text)})
		}
		syn.lit("\n", do, len(d.text))
	}
	return syn
}

// install makes prog the session's program: a fresh engine given, in one
// step, the rows of every table it keeps (from the old engine, or with a
// database from the table itself). syn is what prog was compiled from,
// which places an error of that step; nil places it in the declarations.
func (s *session) install(decls []*decl, prog *stepping.Program, syn *synth) error {
	if syn == nil {
		syn = synthOf(decls, nil)
	}
	eng, err := s.replay(prog, syn)
	if err != nil {
		return err
	}
	s.setEngine(eng)
	// Later steps fail in declarations, not in the statement that made
	// them, which is gone.
	s.decls, s.prog, s.syn = decls, prog, synthOf(decls, nil)
	return nil
}

// setEngine makes eng the session's engine, closing the one it replaces.
func (s *session) setEngine(eng *stepping.Engine) {
	if s.eng != nil && s.eng != eng {
		_ = s.eng.Close()
	}
	s.eng = eng
}

// extend makes prog the session's program as install does, but when
// prog only adds views to the session's program it computes just those,
// from what they read, keeping every other view as it is (see
// stepping.Engine.Extend): declaring a view costs what the view reads,
// not a replay of every table.
func (s *session) extend(decls []*decl, prog *stepping.Program, syn *synth) error {
	if s.eng == nil {
		return s.install(decls, prog, syn)
	}
	_, err := s.eng.Extend(s.ctx, prog)
	if errors.Is(err, stepping.ErrNotExtension) {
		return s.install(decls, prog, syn)
	}
	if err != nil {
		return stepFailure(err, syn)
	}
	s.extended++
	s.decls, s.prog, s.syn = decls, prog, synthOf(decls, nil)
	return nil
}

// replay runs prog, compiled from syn, on a fresh engine over the
// session's current rows, given in one step.
func (s *session) replay(prog *stepping.Program, syn *synth) (*stepping.Engine, error) {
	eng := prog.OpenMemory()
	for _, t := range prog.Tables() {
		rows, err := s.rowsOf(prog, t)
		if err == nil && len(rows) > 0 {
			err = eng.Insert(s.ctx, t, rows...)
		}
		if err != nil {
			_ = eng.Close()
			return nil, err
		}
	}
	if _, err := eng.Step(s.ctx); err != nil {
		_ = eng.Close()
		return nil, stepFailure(err, syn)
	}
	return eng, nil
}

// rowsOf returns the rows table of a new program starts with: those the
// session's table of that name holds, or, with a database, the live
// table's when the session has none yet.
func (s *session) rowsOf(prog *stepping.Program, table string) ([]any, error) {
	if s.eng != nil && sameColumns(s.prog, prog, table) {
		rows, err := s.eng.Read(s.ctx, table)
		if err != nil {
			return nil, err
		}
		return anyRows(rows.Rows), nil
	}
	if s.db != nil {
		rows, err := prog.ReadTable(s.ctx, s.db, table)
		if err != nil {
			return nil, errorf("%s", strings.TrimPrefix(err.Error(), "stepping: "))
		}
		return anyRows(rows.Rows), nil
	}
	return nil, nil
}

// anyRows lists rows as the arguments of Engine.Insert and Delete.
func anyRows(rows []stepping.Row) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r
	}
	return out
}

// sameColumns reports whether old has a table named table with the
// columns of nu's.
func sameColumns(old, nu *stepping.Program, table string) bool {
	if !slices.Contains(old.Tables(), table) {
		return false
	}
	a, err := old.Columns(table)
	if err != nil {
		return false
	}
	b, err := nu.Columns(table)
	return err == nil && slices.EqualFunc(a, b, func(x, y stepping.Column) bool {
		return x.Name == y.Name && x.Type == y.Type && x.Nullable == y.Nullable
	})
}

// describeNew tells what a new declaration made: a table's columns, a
// view's contents.
func (s *session) describeNew(d *decl) {
	switch d.kind {
	case "view":
		rows, err := s.eng.Read(s.ctx, d.name)
		if err != nil {
			return
		}
		fmt.Fprintf(s.out, "%s\n", d.name)
		_ = s.printRows(rows)
	case "table", "source":
		in := s.input(d.name)
		n := s.count(d.name)
		desc := d.kind + " " + d.name + " " + colList(in.cols)
		if len(in.key) > 0 {
			var key []string
			for _, k := range in.key {
				key = append(key, in.cols[k].Name)
			}
			desc += " primary key (" + strings.Join(key, ", ") + ")"
		}
		if s.db != nil {
			desc += fmt.Sprintf(": %d %s read", n, plural(n, "row", "rows"))
		}
		fmt.Fprintln(s.out, desc)
	case "output":
		fmt.Fprintf(s.out, "output %s\n", d.name)
	}
}

func colList(cols []stepping.Column) string {
	var parts []string
	for _, c := range cols {
		parts = append(parts, c.Name+" "+typeText(c))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// typeText is a column's type as a program writes it, with the ? of a
// nullable one.
func typeText(c stepping.Column) string {
	if c.Nullable {
		return c.Type + "?"
	}
	return c.Type
}

// count is the number of rows of a table or view of the session's
// engine, copies counted.
func (s *session) count(name string) int64 {
	rows, err := s.eng.Read(s.ctx, name)
	if err != nil {
		return 0
	}
	return int64(rows.Len())
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// table is a table of the session's program: its name, columns and the
// indexes of its primary key's columns.
type table struct {
	name string
	cols []stepping.Column
	key  []int
}

// input returns the session's table of the name, or nil.
func (s *session) input(name string) *table {
	if s.prog == nil || !slices.Contains(s.prog.Tables(), name) {
		return nil
	}
	cols, err := s.prog.Columns(name)
	if err != nil {
		return nil
	}
	in := &table{name: name, cols: cols}
	key, _ := s.prog.PrimaryKey(name)
	for _, k := range key {
		in.key = append(in.key, columnIndex(cols, k))
	}
	return in
}

// isView reports whether the session's program has a view of the name.
func (s *session) isView(name string) bool {
	return s.prog != nil && slices.Contains(s.prog.Views(), name)
}

// ---- queries

// query evaluates a pipeline typed on its own and shows its rows,
// declaring nothing.
func (s *session) query(o *origin) error {
	if t := strings.TrimLeft(o.text, " \t\r\n"); strings.HasPrefix(t, "|") {
		at := len(o.text) - len(t)
		return errorAt(o, span{at, at + 1}, "a line starting with | continues the view definition or query just before it",
			"a pipeline starts with a table, view or values, not a stage")
	}
	prog, syn, err := s.compile(s.decls, func(syn *synth) {
		syn.lit("view `<query>` =\n", o, 0)
		syn.copy(o, span{0, len(o.text)})
	}, nil)
	if err != nil {
		err = syn.mapError(err)
		var re *replError
		if errors.As(err, &re) && len(re.diags) > 0 && strings.HasPrefix(re.diags[0].e.Msg, "syntax error") && len(s.decls) == 0 {
			re.diags[0].e.Hint = hintFor(re.diags[0].e.Hint, "type :help for the statements")
		}
		return err
	}
	eng, err := s.replay(prog, syn)
	if err != nil {
		return err
	}
	defer eng.Close()
	rows, err := eng.Read(s.ctx, "<query>")
	if err != nil {
		return err
	}
	return s.printRows(rows)
}

func hintFor(old, h string) string {
	if old != "" {
		return old
	}
	return h
}

// ---- changes to tables

// table reads the table name after insert into / delete from / update
// and checks the session may change it.
func (s *session) table(o *origin, tok *tokenizer) (*table, *decl, error) {
	name, at := tok.next()
	sp := span{at, at + len(name)}
	if !isName(name) {
		return nil, nil, errorAt(o, sp, "", "want a table name, got %q", name)
	}
	name = unquote(name)
	in := s.input(name)
	if in == nil {
		hint := ""
		if s.isView(name) {
			hint = "views change when their tables do"
		}
		return nil, nil, errorAt(o, sp, hint, "no table %s", name)
	}
	if s.db != nil {
		return nil, nil, errorAt(o, sp, "change it with SQL, then :refresh", "%s is a table of the database", name)
	}
	for _, d := range s.decls {
		if d.name == name && (d.kind == "table" || d.kind == "source") {
			return in, d, nil
		}
	}
	return in, nil, errorAt(o, sp, "", "no table %s", name)
}

// insert runs insert into T {..}, {..}.
func (s *session) insert(o *origin, tok *tokenizer) error {
	tok.next() // into
	in, _, err := s.table(o, tok)
	if err != nil {
		return err
	}
	rest := trimSpan(o.text, span{tok.pos, len(o.text)})
	if rest.start == rest.end {
		return errorAt(o, span{len(o.text), len(o.text)}, "insert into t {a = 1, b = \"x\"}", "want the rows to insert, as records")
	}
	if after := trimSpan(o.text, span{rest.start, len(o.text)}); strings.HasPrefix(after.of(o.text), "values") {
		// insert into t values [{..}, {..}], as a values term is written.
		inner := trimSpan(o.text, span{after.start + len("values"), after.end})
		if !strings.HasPrefix(inner.of(o.text), "[") || !strings.HasSuffix(inner.of(o.text), "]") {
			return errorAt(o, inner, "insert into t values [{a = 1}, {a = 2}]", "want [ records ] after values")
		}
		rest = span{inner.start + 1, inner.end - 1}
	}
	var recs []span
	for _, r := range splitTop(o.text, rest, ',') {
		if r.start == r.end {
			continue
		}
		recs = append(recs, r)
	}
	rows, err := s.records(o, in, recs)
	if err != nil {
		return err
	}
	if err := s.eng.Insert(s.ctx, in.name, anyRows(rows)...); err != nil {
		return errorf("%s", strings.TrimPrefix(err.Error(), "stepping: "))
	}
	n := int64(len(rows))
	return s.step(fmt.Sprintf("inserted %d %s into %s", n, plural(n, "row", "rows"), in.name))
}

// records evaluates record literals as rows of table in: each field names
// a column; columns left out are NULL; values are converted to the
// columns' types as in assignment (stepping.FromGo: numbers widen, text
// is read in the column type's text form).
func (s *session) records(o *origin, in *table, recs []span) ([]stepping.Row, error) {
	type field struct {
		col  int
		sp   span
		null bool
	}
	fields := make([][]field, len(recs))
	syn := &synth{}
	for k, r := range recs {
		x, err := lang.ParseExpr("", r.of(o.text))
		if err != nil {
			return nil, parseError(o, r, err)
		}
		rec, ok := x.(*lang.RecordLit)
		if !ok {
			return nil, errorAt(o, r, "insert into t {a = 1, b = \"x\"}", "want a record {column = value, ...}")
		}
		seen := map[int]bool{}
		var parts []span
		for _, f := range rec.Fields {
			pos, end := f.Span()
			fsp := span{r.start + pos.Offset, r.start + end.Offset}
			if f.Name == nil {
				return nil, errorAt(o, fsp, "name the column: {col = value}", "a value needs a column name")
			}
			col := columnIndex(in.cols, f.Name.Name)
			nsp := span{r.start + f.Name.Pos.Offset, r.start + f.Name.End.Offset}
			if col < 0 {
				return nil, errorAt(o, nsp, suggest.DidYouMean(f.Name.Name, columnNames(in.cols)), "table %s has no column %s", in.name, f.Name.Name)
			}
			if seen[col] {
				return nil, errorAt(o, nsp, "", "column %s is given twice", f.Name.Name)
			}
			seen[col] = true
			lit, isLit := f.Value.(*lang.Literal)
			null := isLit && lit.Kind == lang.NullLit
			fields[k] = append(fields[k], field{col: col, sp: fsp, null: null})
			if !null {
				parts = append(parts, fsp)
			}
		}
		for i, c := range in.cols {
			if !seen[i] && !c.Nullable {
				return nil, errorAt(o, r, "", "column %s of %s is not nullable and has no value", c.Name, in.name)
			}
		}
		if len(parts) == 0 {
			continue
		}
		syn.lit(fmt.Sprintf("view `<row %d>` = values [{", k), o, r.start)
		for j, p := range parts {
			if j > 0 {
				syn.lit(", ", o, p.start)
			}
			syn.copy(o, p)
		}
		syn.lit("}]\n", o, r.end)
	}
	vals, err := s.values(syn, len(recs))
	if err != nil {
		return nil, err
	}
	rows := make([]stepping.Row, len(recs))
	for k := range recs {
		row := make(stepping.Row, len(in.cols))
		j := 0
		for _, f := range fields[k] {
			if f.null {
				if !in.cols[f.col].Nullable {
					return nil, errorAt(o, f.sp, "", "column %s of %s is not nullable", in.cols[f.col].Name, in.name)
				}
				continue
			}
			v, err := assignValue(vals[k].Rows[0][j], vals[k].Columns[j], in.cols[f.col])
			if err != nil {
				return nil, errorAt(o, f.sp, "", "%v", err)
			}
			row[f.col] = v
			j++
		}
		rows[k] = row
	}
	return rows, nil
}

// values evaluates the views `<row K>` = values [{...}] that syn holds,
// for K below n, each the one row of a record typed into the session:
// their contents, by K, nil for a record with no views (all NULL).
func (s *session) values(syn *synth, n int) ([]*stepping.Rows, error) {
	out := make([]*stepping.Rows, n)
	if syn.b.Len() == 0 {
		return out, nil
	}
	prog, err := stepping.Compile("", syn.String())
	if err != nil {
		return nil, syn.mapError(err)
	}
	eng := prog.OpenMemory()
	defer eng.Close()
	if _, err := eng.Step(s.ctx); err != nil {
		return nil, stepFailure(err, syn)
	}
	for k := range out {
		name := fmt.Sprintf("<row %d>", k)
		if !slices.Contains(prog.Views(), name) {
			continue
		}
		rows, err := eng.Read(s.ctx, name)
		if err != nil {
			return nil, err
		}
		if rows.Len() != 1 {
			return nil, errorf("internal error: a record evaluates to %d rows", rows.Len())
		}
		out[k] = rows
	}
	return out, nil
}

// assignValue converts a value of column from to a column's type, as an
// insert or update assigns it.
func assignValue(v any, from, col stepping.Column) (any, error) {
	if v == nil {
		if !col.Nullable {
			return nil, fmt.Errorf("column %s is not nullable", col.Name)
		}
		return nil, nil
	}
	x, err := stepping.FromGo(v, col)
	if err != nil {
		return nil, fmt.Errorf("a %s value does not fit column %s %s: %v", from.Type, col.Name, typeText(col), err)
	}
	return x, nil
}

func columnIndex(cols []stepping.Column, name string) int {
	for i, c := range cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

func columnNames(cols []stepping.Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Name
	}
	return out
}

// delete runs delete from T [where cond | {key}, ...].
func (s *session) delete(o *origin, tok *tokenizer) error {
	tok.next() // from
	in, d, err := s.table(o, tok)
	if err != nil {
		return err
	}
	rest := trimSpan(o.text, span{tok.pos, len(o.text)})
	var rows []stepping.Row
	switch {
	case rest.start == rest.end:
		all, err := s.eng.Read(s.ctx, in.name)
		if err != nil {
			return err
		}
		rows = all.Rows
	case strings.HasPrefix(rest.of(o.text), "where") && (rest.end-rest.start == 5 || !isWordByte(o.text[rest.start+5])):
		sel, err := s.selectRows(o, d, &span{rest.start + 5, rest.end}, nil)
		if err != nil {
			return err
		}
		rows = sel.Rows
	default:
		var recs []span
		for _, r := range splitTop(o.text, rest, ',') {
			if r.start != r.end {
				recs = append(recs, r)
			}
		}
		if rows, err = s.keyRecords(o, in, recs); err != nil {
			return err
		}
	}
	n := s.count(in.name)
	if err := s.eng.Delete(s.ctx, in.name, anyRows(rows)...); err != nil {
		return errorf("%s", strings.TrimPrefix(err.Error(), "stepping: "))
	}
	return s.stepCounted(func(after int64) string {
		k := n - after
		return fmt.Sprintf("deleted %d %s from %s", k, plural(k, "row", "rows"), in.name)
	}, in.name)
}

// keyRecords reads the records of delete from T {..}: a table with a
// primary key needs only the key columns; one without needs whole rows.
func (s *session) keyRecords(o *origin, in *table, recs []span) ([]stepping.Row, error) {
	if len(in.key) == 0 {
		return s.records(o, in, recs)
	}
	keyOnly := &table{name: in.name, cols: append([]stepping.Column(nil), in.cols...), key: in.key}
	for i := range keyOnly.cols {
		keyOnly.cols[i].Nullable = !slices.Contains(in.key, i) || in.cols[i].Nullable
	}
	return s.records(o, keyOnly, recs)
}

// selectRows evaluates the table's rows through | where cond (when cond
// is not nil; cond is o.text[*cond]) and the stages sel appends.
func (s *session) selectRows(o *origin, d *decl, cond *span, sel func(*synth)) (*stepping.Rows, error) {
	prog, syn, err := s.compile([]*decl{d}, func(syn *synth) {
		syn.lit("view `<rows>` = "+quote(d.name), o, 0)
		if cond != nil {
			c := trimSpan(o.text, *cond)
			if c.start == c.end {
				syn.lit(" | where", o, c.start)
			} else {
				syn.lit(" | where (", o, c.start)
				syn.copy(o, c)
				syn.lit("\n)", o, c.end)
			}
		}
		if sel != nil {
			sel(syn)
		}
		syn.lit("\n", o, len(o.text))
	}, nil)
	if err != nil {
		return nil, syn.mapError(err)
	}
	eng, err := s.replay(prog, syn)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return eng.Read(s.ctx, "<rows>")
}

// update runs update T set col = expr, ... [where cond].
func (s *session) update(o *origin, tok *tokenizer) error {
	in, d, err := s.table(o, tok)
	if err != nil {
		return err
	}
	tok.next() // set
	rest := span{tok.pos, len(o.text)}
	var cond span
	w := findWord(o.text, rest, "where")
	hasWhere := w >= 0
	if hasWhere {
		rest.end = w
		cond = span{w + len("where"), len(o.text)}
	}
	sets := map[int]span{}
	for _, a := range splitTop(o.text, rest, ',') {
		eq := strings.IndexByte(a.of(o.text), '=')
		if a.start == a.end || eq < 0 {
			return errorAt(o, a, "update t set col = expr, ... where cond", "want col = value")
		}
		name := trimSpan(o.text, span{a.start, a.start + eq})
		col := columnIndex(in.cols, unquote(name.of(o.text)))
		if col < 0 {
			return errorAt(o, name, suggest.DidYouMean(unquote(name.of(o.text)), columnNames(in.cols)), "table %s has no column %s", in.name, name.of(o.text))
		}
		if _, dup := sets[col]; dup {
			return errorAt(o, name, "", "column %s is set twice", in.cols[col].Name)
		}
		val := trimSpan(o.text, span{a.start + eq + 1, a.end})
		if val.start == val.end {
			return errorAt(o, span{a.end, a.end}, "", "want a value after =")
		}
		sets[col] = val
	}
	// One row per matching row: the old columns, then the new values.
	sel := func(syn *synth) {
		syn.lit("\n| select {", o, rest.start)
		for i, c := range in.cols {
			syn.lit(fmt.Sprintf("`<old %d>` = %s, ", i, quote(c.Name)), o, rest.start)
		}
		for i, c := range in.cols {
			if i > 0 {
				syn.lit(", ", o, rest.start)
			}
			if val, ok := sets[i]; ok {
				syn.lit(quote(c.Name)+" = (", o, val.start)
				syn.copy(o, val)
				syn.lit("\n)", o, val.end)
			} else {
				syn.lit(quote(c.Name)+" = "+quote(c.Name), o, rest.start)
			}
		}
		syn.lit("}", o, rest.end)
	}
	var where *span
	if hasWhere {
		where = &cond
	}
	rows, err := s.selectRows(o, d, where, sel)
	if err != nil {
		return err
	}
	cols := in.cols
	var dels, ins []any
	for _, row := range rows.Rows {
		nu := make(stepping.Row, len(cols))
		for i, c := range cols {
			x, err := stepping.FromGo(row[len(cols)+i], c)
			if err != nil {
				return errorAt(o, sets[i], "", "column %s: %v", c.Name, err)
			}
			nu[i] = x
		}
		dels = append(dels, row[:len(cols)])
		ins = append(ins, nu)
	}
	// The deletes and inserts are given together and applied as one
	// step; the new rows are converted already, so giving them cannot
	// fail half way.
	if err := s.eng.Delete(s.ctx, in.name, dels...); err != nil {
		return errorf("%s", strings.TrimPrefix(err.Error(), "stepping: "))
	}
	if err := s.eng.Insert(s.ctx, in.name, ins...); err != nil {
		return errorf("%s", strings.TrimPrefix(err.Error(), "stepping: "))
	}
	n := int64(len(ins))
	return s.step(fmt.Sprintf("updated %d %s of %s", n, plural(n, "row", "rows"), in.name))
}

// step applies the changes given to the engine as one step and shows
// what changed.
func (s *session) step(summary string) error {
	return s.stepCounted(func(int64) string { return summary }, "")
}

// stepCounted is step with a summary that knows the size after of the
// table changed.
func (s *session) stepCounted(summary func(after int64) string, table string) error {
	batches, err := s.eng.Step(s.ctx)
	if err != nil {
		return stepFailure(err, s.syn)
	}
	var after int64
	if table != "" {
		after = s.count(table)
	}
	fmt.Fprintln(s.out, summary(after))
	s.showChanges(batches)
	return nil
}

// stepFailure is the error of a failed step of an engine running the
// program compiled from syn: placed in what the user wrote when the
// engine says where (an expression that failed on a row), with the
// cause alone; otherwise the cause without the step number, which means
// nothing in the REPL (its engine is replaced whenever declarations
// change), with the view unless it is one of the REPL's own.
func stepFailure(err error, syn *synth) error {
	var se *stepping.StepError
	if !errors.As(err, &se) {
		return errorf("%s", err)
	}
	why := se.Err.Error()
	if ds := stepping.Diagnostics(err); len(ds) > 0 && syn != nil {
		d := ds[0]
		return syn.mapError(lang.ErrorList{{
			Pos: lang.Pos{Line: d.Line, Column: d.Col, Offset: d.Offset},
			End: lang.Pos{Line: d.End.Line, Column: d.End.Col, Offset: d.End.Offset},
			Msg: why,
		}})
	}
	if se.View != "" && !strings.HasPrefix(se.View, "<") {
		why = "view " + se.View + ": " + why
	}
	return errorf("%s", why)
}

// showChanges prints each view's changes with their weights.
func (s *session) showChanges(batches []stepping.Batch) {
	for _, b := range batches {
		fmt.Fprintf(s.out, "%s changed:\n", b.View)
		_, _ = b.WriteTo(s.out)
	}
}

// ---- meta-commands

const replHelp = `Statements (end a line with | , = or an open bracket to go on; ; ends one early):
  table t (a int4, b text, primary key (a))     declare a table
  source s = table public.orders                a database table (with --db)
  view v = t | where a > 1                      define (or redefine) a view and show it
  t | group by b { n = count() }                evaluate a pipeline and show its rows
  insert into t {a = 1, b = "x"}, {a = 2}       add rows (columns left out are null)
  delete from t where a > 1                     remove the rows a condition selects
  delete from t {a = 1}                         remove rows by primary key
  update t set b = upper(b) where a == 1        change rows
After a change every view that changed is shown with weights (+1 in, -1 out).

Commands:
  :help                 this text
  :tables               tables and views, with their row counts
  :describe NAME        a table's or view's columns and definition
  :explain [VIEW]       the incremental circuit of a view (or of everything)
  :load FILE            declarations from a .step file, and its data files
  :drop NAME            forget a table, source, view or output
  :refresh              read the database's tables again (with --db)
  :timing [on|off]      print each statement's time after it
  :x [on|off|auto]      expanded display: a record per row, a line per column (auto:
                        when a table is wider than the terminal)
  :null TEXT            show NULL as TEXT (empty by default, as psql)
  :format F             print rows aligned (the default), as csv, or as json lines
  :pager [on|off]       on a terminal, long output goes through $PAGER (less by default)
  :e                    edit the last statement in $EDITOR, then run it
  :quit                 leave (Ctrl-D does too; Ctrl-C abandons the input)
`

// metaCommands are the names :help lists, for completion.
var metaCommands = []string{"help", "tables", "describe", "explain", "load", "drop", "refresh", "timing", "x", "null", "format", "pager", "e", "quit"}

// setting switches a boolean setting: on or off as args say, or the
// other way with no argument; it says what it is now.
func setting(v *bool, args []string, out io.Writer, what string) error {
	switch {
	case len(args) == 0:
		*v = !*v
	case len(args) == 1 && args[0] == "on":
		*v = true
	case len(args) == 1 && args[0] == "off":
		*v = false
	default:
		return errorf("want on or off, or nothing to switch it")
	}
	state := "off"
	if *v {
		state = "on"
	}
	fmt.Fprintf(out, "%s is %s\n", what, state)
	return nil
}

// meta runs a :command.
func (s *session) meta(text string) error {
	fields := strings.Fields(stripComments(text))
	if len(fields) == 0 {
		return errorf("want a command after : (try :help)")
	}
	cmd, args := fields[0], fields[1:]
	arg := func() (string, error) {
		if len(args) != 1 {
			return "", errorf(":%s wants one name", cmd)
		}
		return unquote(args[0]), nil
	}
	switch cmd {
	case "help", "h", "?":
		fmt.Fprint(s.out, replHelp)
	case "quit", "q", "exit":
		s.quit = true
	case "tables", "t":
		s.listTables()
	case "describe", "d":
		name, err := arg()
		if err != nil {
			return err
		}
		return s.describe(name)
	case "explain":
		return s.explain(args)
	case "load":
		name, err := arg()
		if err != nil {
			return err
		}
		return s.load(name)
	case "drop":
		name, err := arg()
		if err != nil {
			return err
		}
		return s.drop(name)
	case "refresh":
		return s.refresh()
	case "timing":
		return setting(&s.timing, args, s.out, "timing")
	case "pager":
		paging := !s.noPager
		err := setting(&paging, args, s.out, "pager")
		s.noPager = !paging
		return err
	case "e", "edit":
		if s.edit == nil {
			return errorf(":e opens the last statement in $EDITOR, on a terminal")
		}
		text, err := s.edit(s.last)
		if err != nil || strings.TrimSpace(text) == "" {
			return err
		}
		fmt.Fprintln(s.out, text)
		s.run(text)
	case "x":
		if len(args) == 1 && args[0] == "auto" {
			s.print.Expanded, s.autoExpand = false, true
			fmt.Fprintln(s.out, "expanded display is used automatically")
			return nil
		}
		s.autoExpand = false
		return setting(&s.print.Expanded, args, s.out, "expanded display")
	case "null":
		// As psql's \pset null: the rest of the line, empty by default.
		s.print.Null = unquote(strings.Join(args, " "))
		fmt.Fprintf(s.out, "NULL is shown as %q\n", s.print.Null)
	case "format":
		if len(args) != 1 || !slices.Contains([]string{"aligned", "csv", "json"}, args[0]) {
			return errorf(":format wants aligned, csv or json")
		}
		s.print.Format = args[0]
		fmt.Fprintf(s.out, "output format is %s\n", args[0])
	default:
		return &replError{msg: fmt.Sprintf("unknown command :%s (%s)", cmd, hintFor(suggest.DidYouMean(cmd, metaCommands), "try :help"))}
	}
	return nil
}

func (s *session) listTables() {
	if s.prog == nil && len(s.databaseTables()) == 0 {
		fmt.Fprintln(s.out, "no tables or views yet")
		return
	}
	outputs := map[string]bool{}
	if s.prog != nil {
		for _, o := range s.prog.Graph().Outputs {
			outputs[o.View] = true
		}
	}
	var rows [][]string
	for _, d := range s.decls {
		kind := d.kind
		switch d.kind {
		case "table", "source":
		case "view":
			if outputs[d.name] {
				kind = "view (output)"
			}
		default:
			continue
		}
		cols, _ := s.prog.Columns(d.name)
		rows = append(rows, []string{d.name, kind, strconv.FormatInt(s.count(d.name), 10), strings.Join(columnNames(cols), ", ")})
	}
	// With --db, the database's tables not declared yet: what a source
	// may read.
	declared := map[string]bool{}
	for _, r := range rows {
		declared[r[0]] = true
	}
	for _, name := range s.databaseTables() {
		if !declared[name] {
			rows = append(rows, []string{name, "database table", "", ""})
		}
	}
	// In order of name, as the rows of a relation are.
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	_ = tablefmt.Cells(s.out, []string{"name", "kind", "rows", "columns"}, []bool{false, false, true, false}, rows)
}

func (s *session) describe(name string) error {
	d := s.find(name)
	if d == nil {
		return errorf("no table or view %s", name)
	}
	var cols []stepping.Column
	var key []int
	if in := s.input(name); in != nil {
		cols, key = in.cols, in.key
	} else {
		cols, _ = s.prog.Columns(name)
	}
	var rows [][]string
	for i, c := range cols {
		k := ""
		for _, j := range key {
			if j == i {
				k = "primary key"
			}
		}
		rows = append(rows, []string{c.Name, typeText(c), k})
	}
	fmt.Fprintf(s.out, "%s\n", d.label())
	_ = tablefmt.Cells(s.out, []string{"column", "type", "key"}, []bool{false, false, false}, rows)
	if d.kind == "view" || d.kind == "source" {
		fmt.Fprintf(s.out, "%s\n", d.text)
	}
	return nil
}

func (s *session) find(name string) *decl {
	for _, d := range s.decls {
		if d.name == name && d.kind != "output" {
			return d
		}
	}
	return nil
}

func (s *session) explain(args []string) error {
	if s.prog == nil {
		return errorf("nothing to explain yet")
	}
	if len(args) == 0 {
		fmt.Fprint(s.out, s.prog.Explain())
		return nil
	}
	name := unquote(args[0])
	text, err := s.prog.ExplainView(name)
	if err != nil {
		return errorf("no view %s", name)
	}
	fmt.Fprint(s.out, text)
	if !strings.HasSuffix(text, "\n") {
		fmt.Fprintln(s.out)
	}
	return nil
}

// load reads the declarations of a .step file, or of every .step file of
// a directory, into the session and, when its data directory exists (FILE
// without .step; a directory's own), applies its change files step by
// step, as stepq run does.
func (s *session) load(file string) error {
	files, err := compile.ReadProgram(file)
	if err != nil {
		return errorf("%v", err)
	}
	decls := append([]*decl(nil), s.decls...)
	var parseErrs error
	n := 0
	for _, sf := range files {
		o := &origin{name: sf.Name, text: sf.Text}
		f, err := lang.Parse(sf.Name, sf.Text)
		if err != nil {
			parseErrs = joinReplErrors(parseErrs, s.fileError(o, err))
			continue
		}
		n += len(f.Decls)
		for _, d := range fileDecls(f, sf.Text) {
			d.file = sf.Name
			decls = append(decls, d)
		}
	}
	if parseErrs != nil {
		return parseErrs
	}
	prog, syn, err := s.compile(decls, func(*synth) {}, nil)
	if err != nil {
		return syn.mapError(err)
	}
	if err := s.install(decls, prog, syn); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "loaded %d %s from %s\n", n, plural(int64(n), "declaration", "declarations"), file)
	dir := dataDirOf(file)
	if s.db != nil {
		return nil
	}
	steps, err := prog.ReadChangeDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		steps, err = nil, nil // no data files
	}
	if err != nil {
		return errorf("%s", strings.TrimPrefix(err.Error(), "stepping: "))
	}
	for _, step := range steps {
		if _, err := s.eng.Apply(s.ctx, step); err != nil {
			return stepFailure(err, s.syn)
		}
	}
	if len(steps) > 0 {
		fmt.Fprintf(s.out, "applied %d %s of changes from %s/\n", len(steps), plural(int64(len(steps)), "step", "steps"), dir)
	}
	return nil
}

// fileDecls is the session's form of a parsed file's declarations,
// each with its text.
func fileDecls(f *lang.File, src string) []*decl {
	var decls []*decl
	for _, d := range f.Decls {
		pos, end := d.Span()
		nd := &decl{text: src[pos.Offset:end.Offset], line: pos.Line, col: pos.Column}
		switch d := d.(type) {
		case *lang.TableDecl:
			nd.kind, nd.name = "table", d.Name.Name
		case *lang.SourceDecl:
			nd.kind, nd.name = "source", d.Name.Name
		case *lang.ViewDecl:
			nd.kind, nd.name = "view", d.Name.Name
		case *lang.OutputDecl:
			nd.kind, nd.name = "output", d.Name.Name
		case *lang.FuncDecl:
			nd.kind, nd.name = "fn", d.Name.Name
		}
		decls = append(decls, nd)
	}
	return decls
}

// joinReplErrors gathers the syntax errors of the files of a directory
// into one, so that all are shown; a file's error that is not a
// *replError ends the gathering.
func joinReplErrors(acc, err error) error {
	a, ok1 := acc.(*replError)
	b, ok2 := err.(*replError)
	switch {
	case acc == nil:
		return err
	case ok1 && ok2:
		a.diags = append(a.diags, b.diags...)
		return a
	}
	return acc
}

// fileError places a parse error of a loaded file in it.
func (s *session) fileError(o *origin, err error) error {
	var list lang.ErrorList
	if !errors.As(err, &list) {
		return err
	}
	out := &replError{}
	for _, e := range list {
		out.diags = append(out.diags, diag{o: o, e: e})
	}
	return out
}

// drop forgets a declaration (and a view's output); whatever still reads
// it is an error, and nothing changes.
func (s *session) drop(name string) error {
	var decls []*decl
	found := false
	for _, d := range s.decls {
		if d.name == name {
			found = true
			continue
		}
		decls = append(decls, d)
	}
	if !found {
		return errorf("no table, source or view %s", name)
	}
	if len(decls) == 0 {
		s.setEngine(nil)
		s.decls, s.prog, s.syn = nil, nil, nil
		fmt.Fprintf(s.out, "dropped %s\n", name)
		return nil
	}
	prog, syn, err := s.compile(decls, func(*synth) {}, nil)
	if err != nil {
		return syn.mapError(err)
	}
	if err := s.install(decls, prog, syn); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "dropped %s\n", name)
	return nil
}

// refresh reads every table from the database again.
func (s *session) refresh() error {
	if s.db == nil {
		return errorf(":refresh reads the database's tables again, and there is no database (start with --db URL)")
	}
	if s.prog == nil {
		return nil
	}
	before := s.viewRows()
	s.setEngine(nil)
	if err := s.install(s.decls, s.prog, nil); err != nil {
		return err
	}
	var names []string
	for _, t := range s.prog.Tables() {
		names = append(names, fmt.Sprintf("%s (%d)", t, s.count(t)))
	}
	sort.Strings(names)
	fmt.Fprintf(s.out, "read %s\n", strings.Join(names, ", "))
	// What the tables' changes did to the views, as an insert shows it.
	after := s.viewRows()
	var batches []stepping.Batch
	for _, d := range s.decls {
		if d.kind != "view" || after[d.name] == nil {
			continue
		}
		if b := rowChanges(d.name, before[d.name], after[d.name]); len(b.Changes) > 0 {
			batches = append(batches, b)
		}
	}
	s.showChanges(batches)
	return nil
}

// viewRows reads the rows of every view, by name.
func (s *session) viewRows() map[string]*stepping.Rows {
	out := map[string]*stepping.Rows{}
	if s.eng == nil {
		return out
	}
	for _, d := range s.decls {
		if d.kind == "view" {
			if rows, err := s.eng.Read(s.ctx, d.name); err == nil {
				out[d.name] = rows
			}
		}
	}
	return out
}

// rowChanges is the batch of changes that takes a view's rows from old
// (nil: none) to new: each row with its count in new less its count in
// old, by representation, in ascending order.
func rowChanges(view string, old, new *stepping.Rows) stepping.Batch {
	z := zset.New()
	for _, r := range new.Rows {
		z.Add(zset.Row(r), 1)
	}
	if old != nil {
		for _, r := range old.Rows {
			z.Add(zset.Row(r), -1)
		}
	}
	b := stepping.Batch{View: view, Columns: new.Columns}
	for _, e := range z.Entries() {
		b.Changes = append(b.Changes, stepping.Weighted{Row: stepping.Row(e.Row), Weight: e.Weight})
	}
	return b
}
