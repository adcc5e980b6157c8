package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	"github.com/stepping-io/stepping"
	"github.com/stepping-io/stepping/gen/gogen"
	"github.com/stepping-io/stepping/internal/compile"
)

const genSynopsis = "gen go [--db URL] [--package NAME] -o DIR FILE"

// cmdGen writes code for a program; go is the one language so far.
func cmdGen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: stepq %s\n", genSynopsis)
		return &exitError{code: 2, msg: "stepq gen: want a language (go)\n"}
	}
	switch {
	case isHelp(args[0]):
		return cmdGenGo(ctx, []string{"--help"}, stderr)
	case args[0] != "go":
		return usageError("gen: unknown language %q (want go)", args[0])
	}
	return cmdGenGo(ctx, args[1:], stderr)
}

// cmdGenGo writes the typed Go code of a program (package gogen) into a
// directory.
func cmdGenGo(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("gen go", genSynopsis, stderr)
	dir := fs.String("o", "", "the directory to write the package into (made if missing)")
	pkg := fs.String("package", "", "the package name; default: the program file's base name")
	dbURL := fs.String("db", "", "Postgres connection URL: type sources from its catalog")
	file, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *dir == "" {
		fs.Usage()
		return &exitError{code: 2, msg: "stepq gen go: -o DIR is needed\n"}
	}
	name := *pkg
	if name == "" {
		name = packageName(file)
	}
	prog, err := compileForGen(ctx, file, *dbURL)
	if err != nil {
		return err
	}
	files, err := gogen.Generate(prog, name)
	if err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq gen go: %v\n", err)}
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq gen go: %v\n", err)}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(*dir, n), files[n], 0o644); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq gen go: %v\n", err)}
		}
	}
	return nil
}

// compileForGen compiles a program through the public API, printing its
// diagnostics as check does when it has errors.
func compileForGen(ctx context.Context, file, dbURL string) (*stepping.Program, error) {
	files, err := compile.ReadProgram(file)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	db, err := connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	if db != nil {
		defer db.Close()
	}
	prog, err := compilePublic(ctx, file, files, db)
	if diags := stepping.Diagnostics(err); len(diags) > 0 {
		var b strings.Builder
		for _, d := range diags {
			b.WriteString(d.Format(textOf(files, d.File)))
		}
		if len(diags) > 1 {
			fmt.Fprintf(&b, "%d errors\n", len(diags))
		}
		return nil, &exitError{code: 1, msg: b.String()}
	}
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return nil, err
		}
		return nil, &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	return prog, nil
}

// packageName makes a Go package name of a program file's base name:
// lower-case letters and digits, starting with a letter.
func packageName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if s == "" || !unicode.IsLetter([]rune(s)[0]) {
		s = "program" + s
	}
	return s
}
