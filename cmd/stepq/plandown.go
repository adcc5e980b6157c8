package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// What becomes, in a plan, of an output table another program reads.
const (
	effectReplaced = "replaced" // rebuilt: created anew and swapped in
	effectDropped  = "dropped"  // a removed output's, or one that moved
)

// downstreamRead is an installed program that reads, as a source, an
// output table of the planned program that the plan replaces or drops.
// An apply refuses to replace or drop a table another program's capture
// triggers are on (they would go with it, and the reading program would
// silently stop following it), and leaves a removed output's table
// unmaintained: either way the reading program must be dropped and
// installed again, or changed.
type downstreamRead struct {
	Schema string `json:"schema"` // the reading program's schema
	Source string `json:"source"` // its name for the table
	// Views are its views that read the table, directly or through
	// other views, in its lock's order; null when its lock is unknown
	// (installed by a stepq that did not record it).
	Views   []string `json:"views"`
	Table   string   `json:"table"`  // the output table, schema-qualified
	Output  string   `json:"output"` // the planned program's output writing it
	Effect  string   `json:"effect"` // effectReplaced or effectDropped
	movedTo string   // the output's new table, when it moved
}

// findDownstream finds the installed programs that read the output
// tables the plan replaces or drops. old is the deployed lock the plan
// compared with and lock the program's own; pg names the deployed
// program's schema. It only reads.
func findDownstream(ctx context.Context, pg *postgres.Runner, diff *lockfile.Diff, old, lock string) ([]downstreamRead, error) {
	out := []downstreamRead{}
	oldTables, newTables := outputTables(old), outputTables(lock)
	owned, err := pg.DeployedOutputs(ctx)
	if err != nil {
		return nil, err
	}
	type affected struct{ output, effect, movedTo string }
	byTable := map[string]affected{} // by quoted name
	var names []string
	for _, c := range diff.Changes {
		if c.Kind != "output" {
			continue
		}
		table, ok := oldTables[c.Name]
		if !ok {
			continue // added: nothing reads it yet
		}
		effect, movedTo := "", ""
		switch {
		case c.Status == lockfile.Removed:
			effect = effectDropped
		case newTables[c.Name] != table:
			effect, movedTo = effectDropped, newTables[c.Name]
		case slices.Contains(diff.Replaced, table):
			effect = effectReplaced
		default:
			continue // live, untouched
		}
		name := deployedTable(pg.Schema, c.Name, table, owned)
		byTable[name] = affected{c.Name, effect, movedTo}
		names = append(names, name)
	}
	if len(names) == 0 {
		return out, nil
	}
	readers, err := postgres.ReadersOf(ctx, pg.Pool, names)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		for _, r := range readers[name] {
			if r.Program.Schema == pg.Schema {
				continue
			}
			a := byTable[name]
			out = append(out, downstreamRead{
				Schema: r.Program.Schema, Source: r.Input, Views: readingViews(r.Program.Lock, r.Input),
				Table: r.Table, Output: a.output, Effect: a.effect, movedTo: a.movedTo,
			})
		}
	}
	return out, nil
}

// outputTables maps each output of a lock to its table, as the lock
// names it (`output V table T`).
func outputTables(lock string) map[string]string {
	tables := map[string]string{}
	for _, line := range strings.Split(lock, "\n") {
		rest, ok := strings.CutPrefix(line, "output ")
		if !ok {
			continue
		}
		if view, table, ok := strings.Cut(rest, " table "); ok && !strings.Contains(view, " ") {
			tables[view] = table
		}
	}
	return tables
}

// deployedTable is the quoted name of the table a deployed output
// writes: the lock names it as written in the program (`to table T`, or
// the view's name for the table in the program's own schema), and the
// program's _meta records the quoted name of each table it created,
// which tells the two apart. A program that recorded none is taken to
// have put an output named after its view in its own schema.
func deployedTable(schema, view, table string, owned map[string]uint32) string {
	var candidates []string
	if table == view {
		candidates = append(candidates, pgx.Identifier{schema, view}.Sanitize())
	}
	candidates = append(candidates, pgx.Identifier(strings.Split(table, ".")).Sanitize())
	for _, c := range candidates {
		if _, ok := owned[c]; ok {
			return c
		}
	}
	return candidates[0]
}

// readingViews lists the views of a program's lock that read its input,
// directly or through other views, in the lock's (dependency) order;
// nil when the lock is unknown.
func readingViews(lock, input string) []string {
	if lock == "" {
		return nil
	}
	l, err := lockfile.Parse("the lock of a downstream program", lock)
	if err != nil {
		return nil
	}
	reads := map[string]bool{"input " + input: true}
	views := []string{}
	for _, e := range l.Entities {
		if e.Kind != "view" {
			continue
		}
		for _, r := range e.Reads() {
			if reads[r] {
				reads[e.Key()] = true
				views = append(views, e.Name)
				break
			}
		}
	}
	return views
}

// writeDownstream prints the installed programs that read an output
// table the plan replaces or drops, and on stderr a warning for each
// that reads a table the plan drops.
func writeDownstream(w, stderr io.Writer, reads []downstreamRead) error {
	var b strings.Builder
	if len(reads) == 0 {
		b.WriteString("downstream programs affected: none\n")
	} else {
		b.WriteString("downstream programs affected:\n")
	}
	for _, r := range reads {
		what := "which this plan replaces (output " + r.Output + " is rebuilt)"
		then := "run --apply refuses to replace a table another program reads (its capture triggers would go with it): drop that program with its outputs (stepq drop --outputs) before applying, and run it again after"
		prefix := ""
		if r.Effect == effectDropped {
			prefix = "warning: "
			what = "which this plan drops (output " + r.Output + " is removed)"
			if r.movedTo != "" {
				what = "which this plan drops (output " + r.Output + " moves to table " + r.movedTo + ")"
			}
			then = "run --apply leaves the table as it is, no longer maintained, and --drop-removed refuses while another program reads it: that program would read a table that no longer changes; change it first, or keep the output"
			fmt.Fprintf(stderr, "stepq: warning: program in schema %s reads table %s, which this plan drops\n", r.Schema, r.Table)
		}
		fmt.Fprintf(&b, "  %sprogram in schema %s reads %s as source %s (%s), %s; %s\n",
			prefix, r.Schema, r.Table, r.Source, viewList(r.Views), what, then)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// viewList says which views of a downstream program read a table.
func viewList(views []string) string {
	switch len(views) {
	case 0:
		if views == nil {
			return "its views unknown: installed without its lock"
		}
		return "no view reads it"
	case 1:
		return "view " + views[0]
	}
	return "views " + strings.Join(views, ", ")
}
