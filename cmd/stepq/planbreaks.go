package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/pgcatalog"
	"github.com/stepping-io/stepping/runtime/postgres"
	"github.com/stepping-io/stepping/typecheck"
)

// sourceBreaks says, when a program does not compile against the
// catalog, which source columns the deployed program uses were dropped
// or retyped since, and which deployed views that breaks: the type error
// names the program's line, not the deployed views a fix must rebuild.
// It is empty when nothing is deployed with a lock, or no column the
// deployed views use changed.
func sourceBreaks(ctx context.Context, url, schema string) string {
	db, err := connect(ctx, url)
	if err != nil || db == nil {
		return ""
	}
	defer db.Close()
	dep, err := (&postgres.Runner{Pool: db, Schema: schema}).Deployed(ctx)
	if err != nil || dep.Lock == "" {
		return ""
	}
	lock, err := lockfile.Parse("the lock of the program in schema "+schema, dep.Lock)
	if err != nil {
		return ""
	}
	var lines []string
	for _, e := range lock.Entities {
		if e.Kind != "input" {
			continue
		}
		table := e.Name
		for _, l := range e.Lines {
			if t, ok := strings.CutPrefix(l, e.Key()+" source "); ok {
				table = t
			}
		}
		cat, err := pgcatalog.LoadTable(ctx, db, strings.Split(table, "."))
		if err != nil {
			return ""
		}
		for _, l := range e.Lines {
			rest, ok := strings.CutPrefix(l, e.Key()+" column ")
			if !ok {
				continue
			}
			col, typ, _ := strings.Cut(rest, " ")
			what := ""
			i := -1
			if cat != nil {
				i = slices.IndexFunc(cat.Columns, func(c typecheck.CatalogColumn) bool { return c.Name == col })
			}
			switch {
			case cat == nil:
				what = fmt.Sprintf("table %s no longer exists", table)
			case i < 0:
				what = fmt.Sprintf("column %s was dropped from table %s", col, table)
			case cat.Columns[i].Type.String() != typ:
				now := cat.Columns[i].Type.String()
				if cat.Columns[i].Unsupported != "" {
					now = cat.Columns[i].Unsupported
				}
				what = fmt.Sprintf("column %s of table %s was %s and is now %s", col, table, typ, now)
			default:
				continue
			}
			direct, downstream := lock.UsersOf(e.Name, col)
			if len(direct) == 0 {
				continue
			}
			line := fmt.Sprintf("  %s: it breaks deployed %s", what, views(direct))
			if len(downstream) > 0 {
				line += ", and downstream of them " + views(downstream)
			}
			if !slices.Contains(lines, line) {
				lines = append(lines, line)
			}
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return fmt.Sprintf("stepq: the sources changed under the program deployed in schema %s:\n%s\n", schema, strings.Join(lines, "\n"))
}

// views names one view or several.
func views(names []string) string {
	if len(names) == 1 {
		return "view " + names[0]
	}
	return "views " + strings.Join(names, ", ")
}
