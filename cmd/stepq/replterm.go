package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/peterh/liner"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/stdlib"
	"github.com/stepping-io/stepping/types"
)

const (
	prompt     = "stepq> "
	contPrompt = "  ...> "
)

func cmdRepl(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("repl", "repl [--db URL] [--echo] [FILE]", stderr)
	dbURL := fs.String("db", "", "Postgres connection URL: sources come from its catalog, their rows from its tables")
	echo := fs.Bool("echo", false, "when reading a script from standard input, print each line after the prompt, as a transcript")
	files, err := parseArgs(fs, args, 0, 1, "[FILE]")
	if err != nil {
		return err
	}
	db, err := connect(ctx, *dbURL)
	if err != nil {
		return err
	}
	if db != nil {
		defer db.Close()
	}
	s := newSession(ctx, stdout, stderr, db)
	if len(files) == 1 {
		if err := s.load(files[0]); err != nil {
			var re *replError
			if errors.As(err, &re) {
				return &exitError{code: 1, msg: re.format()}
			}
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
	}
	if f, ok := stdin.(*os.File); ok && isTerminal(f) {
		return interactive(s, stdout)
	}
	scripted(s, stdin, *echo)
	if s.failed {
		return &exitError{code: 1}
	}
	return nil
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// scripted runs statements read from r, with no prompt unless echo asks
// for a transcript.
func scripted(s *session, r io.Reader, echo bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	acc := accumulator{lookahead: true}
	for !s.quit && sc.Scan() {
		line := sc.Text()
		p := prompt
		if acc.continues(line) {
			p = contPrompt
		}
		for _, stmt := range acc.release(line) {
			if s.run(stmt); s.quit {
				return
			}
		}
		if echo {
			fmt.Fprintln(s.out, strings.TrimRight(p+line, " "))
		}
		for _, stmt := range acc.feed(line) {
			if s.run(stmt); s.quit {
				return
			}
		}
	}
	if stmt, ok := acc.flush(); ok && !s.quit {
		s.run(stmt)
	}
}

// interactive runs the REPL on a terminal with line editing, history and
// completion.
func interactive(s *session, stdout io.Writer) error {
	ln := liner.NewLiner()
	defer ln.Close()
	ln.SetCtrlCAborts(true)
	ln.SetTabCompletionStyle(liner.TabPrints)
	ln.SetWordCompleter(s.complete)
	hist := historyFile()
	if hist != "" {
		if f, err := os.Open(hist); err == nil {
			_, _ = ln.ReadHistory(f)
			f.Close()
		}
	}
	fmt.Fprintln(stdout, "stepq: type :help for the statements and commands, :quit or Ctrl-D to leave")
	s.edit = func(text string) (string, error) { return edit(editorCommand(), text) }
	terminal, _ := stdout.(*os.File)
	if terminal != nil {
		s.width = func() int { return terminalColumns(terminal) }
	}
	run := func(stmt string) {
		// Each statement's output is held, then paged when it is longer
		// than the terminal, as psql pages.
		var held bytes.Buffer
		s.out = &held
		s.run(stmt)
		s.out = stdout
		pager, rows := pagerCommand(), 0
		if terminal != nil && !s.noPager {
			rows = terminalRows(terminal) - 1
		}
		_ = page(stdout, held.Bytes(), rows, pager)
	}
	var acc accumulator
	for !s.quit {
		p := prompt
		if acc.pending() {
			p = contPrompt
		}
		line, err := ln.Prompt(p)
		switch {
		case errors.Is(err, liner.ErrPromptAborted):
			acc.reset()
			continue
		case errors.Is(err, io.EOF):
			fmt.Fprintln(stdout)
			return nil
		case err != nil:
			return err
		}
		for _, stmt := range acc.feed(line) {
			if h := historyEntry(stmt); h != "" {
				ln.AppendHistory(h)
				saveHistory(ln, hist)
			}
			if run(stmt); s.quit {
				break
			}
		}
	}
	return nil
}

// historyFile is where the REPL keeps its history across sessions:
// stepping/history in the user's configuration directory.
func historyFile() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "stepping", "history")
}

func saveHistory(ln *liner.State, path string) {
	if path == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	_, _ = ln.WriteHistory(f)
	f.Close()
}

// historyEntry is a statement as one line of history: comments removed
// (a line's comment would swallow the lines joined after it) and lines
// joined by spaces.
func historyEntry(stmt string) string {
	var parts []string
	for _, l := range strings.Split(stripComments(stmt), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// accumulator gathers lines until they form a complete input.
//
// A line that starts with | continues a pipeline. Reading a script, the
// accumulator looks ahead: a complete statement is held until the next
// line shows whether it goes on. At a terminal, where nothing can be held
// back, such a line continues the last view definition or query, which
// runs again with the stage added.
type accumulator struct {
	lines     []string
	lookahead bool   // hold complete statements for the next line
	held      string // a complete statement held back (lookahead)
	last      string // the last view definition or query (at a terminal)
}

func (a *accumulator) pending() bool { return len(a.lines) > 0 }
func (a *accumulator) reset()        { a.lines = nil }

// feed adds a line and returns the inputs it completes, in order: a
// :command on a line of its own; text whose brackets and strings are
// closed, that does not end in the middle of an expression or a
// pipeline, and that parses as far as it goes; text ending with ; or an
// empty line after pending text, which ends it whatever it holds.
func (a *accumulator) feed(line string) []string {
	out := a.release(line)
	t := strings.TrimSpace(line)
	if !a.pending() {
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			return out
		case strings.HasPrefix(t, ":"):
			return append(out, t)
		case strings.HasPrefix(t, "|") && a.held != "":
			a.lines = []string{a.held}
			a.held = ""
		case strings.HasPrefix(t, "|") && a.last != "":
			a.lines = []string{a.last}
		}
	}
	if t == "" {
		if text, ok := a.flush(); ok {
			out = append(out, text)
		}
		return out
	}
	a.lines = append(a.lines, line)
	text := strings.Join(a.lines, "\n")
	if !complete(text) {
		return out
	}
	a.lines = nil
	if a.lookahead && !strings.HasSuffix(strings.TrimRight(stripComments(text), " \t\r\n"), ";") {
		a.held = text
		return out
	}
	a.remember(text)
	return append(out, text)
}

// release returns the statement held back, if line does not continue it:
// only a line starting with | does, so a blank line or a comment ends it.
func (a *accumulator) release(line string) []string {
	t := strings.TrimSpace(line)
	if a.held == "" || strings.HasPrefix(t, "|") {
		return nil
	}
	held := a.held
	a.held = ""
	a.remember(held)
	return []string{held}
}

// continues reports whether line goes on with pending or held text.
func (a *accumulator) continues(line string) bool {
	return a.pending() || a.held != "" && strings.HasPrefix(strings.TrimSpace(line), "|")
}

// remember keeps a view definition or query for a later | line.
func (a *accumulator) remember(text string) {
	a.last = ""
	tok := &tokenizer{text: text}
	switch first, _ := tok.next(); first {
	case "view":
		a.last = text
	case "table", "source", "output", "fn", "insert", "delete", "update", ":":
	default:
		a.last = text
	}
}

// flush returns what is pending or held, complete or not. Trailing
// comment lines are left out, so that an error about a missing end
// points at the code.
func (a *accumulator) flush() (string, bool) {
	for len(a.lines) > 0 && strings.HasPrefix(strings.TrimSpace(a.lines[len(a.lines)-1]), "#") {
		a.lines = a.lines[:len(a.lines)-1]
	}
	text := strings.Join(a.lines, "\n")
	if a.held != "" {
		text, a.held = a.held, ""
	}
	a.lines = nil
	return text, strings.TrimSpace(text) != ""
}

// continuing are words after which a statement cannot end.
var continuing = map[string]bool{
	"and": true, "or": true, "not": true, "where": true, "join": true, "on": true, "by": true,
	"set": true, "into": true, "from": true, "select": true, "group": true, "union": true,
	"except": true, "intersect": true, "values": true, "as": true, "if": true, "then": true,
	"else": true, "is": true, "to": true, "index": true, "key": true, "primary": true,
	"top": true, "per": true, "flatten": true, "table": true, "view": true, "source": true,
	"output": true, "insert": true, "delete": true, "update": true, "all": true,
	"left": true, "right": true, "full": true, "semi": true, "anti": true, "cross": true,
}

// complete reports whether text is a complete input (see feed).
func complete(text string) bool {
	st := scan(text)
	switch {
	case st.openString || st.depth > 0:
		return false
	case st.depth < 0:
		return true // more closing brackets than opening: an error to show now
	}
	code := strings.TrimRight(stripComments(text), " \t\r\n")
	if strings.HasSuffix(code, ";") {
		return true
	}
	if code == "" {
		return false
	}
	if strings.ContainsRune("|,=+-*/%<>!.", rune(code[len(code)-1])) {
		return false
	}
	tok := &tokenizer{text: code}
	var first, last string
	for {
		t, _ := tok.next()
		if t == "" {
			break
		}
		if first == "" {
			first = t
		}
		last = t
	}
	if continuing[last] {
		return false
	}
	switch first {
	case "insert", "delete", "update":
		return true
	case "table", "source", "view", "output", "fn":
		return !endsEarly(code)
	}
	return !endsEarly("view `<query>` = " + code)
}

// endsEarly reports whether text fails to parse only because it ends
// too soon.
func endsEarly(text string) bool {
	_, err := lang.Parse("", text)
	var list lang.ErrorList
	return errors.As(err, &list) && len(list) > 0 && strings.Contains(list[0].Msg, "unexpected end of file")
}

// Words completion offers, by where the cursor is.
var (
	// statementWords begin a statement.
	statementWords = []string{"table", "source", "view", "output", "fn", "insert", "delete", "update", "values"}
	// stageWords follow a |.
	stageWords = []string{"where", "select", "join", "left", "right", "full", "semi", "anti", "cross", "group", "distinct",
		"union", "except", "intersect", "top", "window", "tumble", "hop", "session", "stamp", "flatten"}
	// expressionWords may appear in an expression.
	expressionWords = []string{"and", "or", "not", "if", "then", "else", "true", "false", "null", "is", "as", "by", "on", "all"}
	// relationAfter are the words a table or view name follows.
	relationAfter = map[string]bool{"join": true, "union": true, "except": true, "intersect": true, "all": true,
		"into": true, "from": true, "update": true, "table": true, "output": true}
)

// argCommands are the : commands that take an argument: completed with
// a space after them.
var argCommands = map[string]bool{"describe": true, "explain": true, "load": true, "drop": true, "null": true, "format": true, "timing": true, "x": true}

// complete offers completions of the word before the cursor, by what
// comes before it: after "name." the columns of that table or view;
// after ":" the commands; after :describe, :explain or :drop the
// declared names; after :load files; after | the stages; after :: or in
// a table's column list the types; where a table or view is named the
// declared names (with --db, the database's tables too); at the start
// of a statement its keywords; in an expression the columns of the
// relations the statement names, functions and expression words.
func (s *session) complete(line string, pos int) (string, []string, string) {
	pos = min(pos, len(line))
	start := pos
	for start > 0 && (isWordByte(line[start-1]) || line[start-1] == '`') {
		start--
	}
	head, word, tail := line[:start], line[start:pos], line[pos:]
	trimmed := strings.TrimLeft(head, " \t")
	before := strings.TrimRight(head, " \t")
	var last string // the word before the cursor's
	if fields := strings.Fields(before); len(fields) > 0 {
		last = fields[len(fields)-1]
	}
	var cands []string
	switch {
	case strings.HasPrefix(trimmed, ":load "):
		return s.completeFile(line, pos)
	case trimmed == ":":
		for _, c := range metaCommands {
			if argCommands[c] {
				c += " "
			}
			cands = append(cands, c)
		}
	case strings.HasPrefix(trimmed, ":describe ") || strings.HasPrefix(trimmed, ":explain ") || strings.HasPrefix(trimmed, ":drop "):
		cands = s.relationNames()
	case strings.HasPrefix(trimmed, ":format "):
		cands = []string{"aligned", "csv", "json"}
	case strings.HasPrefix(trimmed, ":timing ") || strings.HasPrefix(trimmed, ":x "):
		cands = []string{"on", "off"}
	case strings.HasSuffix(head, "."):
		q := head[:len(head)-1]
		qs := len(q)
		for qs > 0 && (isWordByte(q[qs-1]) || q[qs-1] == '`') {
			qs--
		}
		cands = s.columnsOf(unquote(q[qs:]))
	case strings.HasSuffix(before, "::") || inColumnList(trimmed):
		cands = types.TypeNames()
	case strings.HasSuffix(before, "|"):
		cands = stageWords
	case before == "" || strings.HasSuffix(before, ";"):
		cands = append(append(cands, statementWords...), s.relationNames()...)
	case relationAfter[last] || strings.HasSuffix(before, "=") && isDeclaration(trimmed, "view"):
		cands = append(append(cands, s.relationNames()...), s.databaseTables()...)
		cands = append(cands, "values")
	default:
		cands = append(cands, expressionWords...)
		cands = append(cands, stdlib.Names()...)
		cands = append(cands, s.relationNames()...)
		cands = append(cands, s.columnsNamedIn(head)...)
	}
	return head, matching(cands, word), tail
}

// inColumnList reports whether text is a table or source declaration
// whose column list is open, just after a column's name: where its type
// goes.
func inColumnList(text string) bool {
	if !isDeclaration(text, "table") && !isDeclaration(text, "source") {
		return false
	}
	open := strings.LastIndexByte(text, '(')
	if open < 0 || strings.LastIndexByte(text, ')') > open {
		return false
	}
	item := text[open+1:]
	if i := strings.LastIndexByte(item, ','); i >= 0 {
		item = item[i+1:]
	}
	return len(strings.Fields(item)) == 1 && strings.HasSuffix(item, " ")
}

// isDeclaration reports whether text begins with the keyword kw.
func isDeclaration(text, kw string) bool {
	f := strings.Fields(text)
	return len(f) > 0 && f[0] == kw
}

// columnsNamedIn returns the columns of the tables and views text
// names, or of every one when it names none.
func (s *session) columnsNamedIn(text string) []string {
	var out []string
	names := map[string]bool{}
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r > 127 || !isWordByte(byte(r)) && r != '`' }) {
		names[unquote(f)] = true
	}
	for _, n := range s.relationNames() {
		if names[n] {
			out = append(out, s.columnsOf(n)...)
		}
	}
	if len(out) == 0 {
		return s.allColumns()
	}
	return out
}

// databaseTables returns, with --db, the names of the tables the
// database's search path shows, read once: a source or table declared
// on the REPL names one.
func (s *session) databaseTables() []string {
	if s.db == nil {
		return nil
	}
	if s.dbTables == nil {
		rows, err := s.db.Query(s.ctx, `SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND pg_table_is_visible(c.oid)
  AND c.relnamespace NOT IN (SELECT oid FROM pg_namespace WHERE nspname IN ('pg_catalog', 'information_schema')) ORDER BY 1`)
		if err != nil {
			return nil
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil
		}
		s.dbTables = append([]string{}, names...)
	}
	return s.dbTables
}

// matching returns the distinct candidates that start with word, sorted.
func matching(cands []string, word string) []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, word) && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func (s *session) relationNames() []string {
	var out []string
	for _, d := range s.decls {
		if d.kind != "output" {
			out = append(out, d.name)
		}
	}
	return out
}

func (s *session) columnsOf(name string) []string {
	if s.prog == nil {
		return nil
	}
	cols, err := s.prog.Columns(name)
	if err != nil {
		return nil
	}
	return columnNames(cols)
}

func (s *session) allColumns() []string {
	var out []string
	for _, n := range s.relationNames() {
		out = append(out, s.columnsOf(n)...)
	}
	return out
}

// completeFile completes a file name after :load: directories and .step
// files.
func (s *session) completeFile(line string, pos int) (string, []string, string) {
	start := strings.LastIndexByte(line[:pos], ' ') + 1
	word := line[start:pos]
	matches, _ := filepath.Glob(word + "*")
	var out []string
	for _, m := range matches {
		st, err := os.Stat(m)
		switch {
		case err != nil:
		case st.IsDir():
			out = append(out, m+string(filepath.Separator))
		case strings.HasSuffix(m, ".step"):
			out = append(out, m)
		}
	}
	sort.Strings(out)
	return line[:start], out, line[pos:]
}
