package lockfile

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// Status is how an entity of a program compares with its lock.
type Status string

// The statuses of Compare.
const (
	Unchanged Status = "unchanged"
	Changed   Status = "changed"
	Added     Status = "added"
	Removed   Status = "removed"
)

// Change is one entity's comparison.
type Change struct {
	Kind   string `json:"kind"` // "input", "clock", "view" or "output"
	Name   string `json:"name,omitempty"`
	Status Status `json:"status"`
	// Removed and Added are the lines of the lock that the program no
	// longer has and the lines it has that the lock does not: the part of
	// the definition that changed. Empty unless Status is Changed.
	Removed []string `json:"removed,omitempty"`
	Added   []string `json:"added,omitempty"`
	// Rebuild says that a view must be computed again: it is changed or
	// added, or it reads something that is.
	Rebuild bool `json:"rebuild,omitempty"`
	// Because names the changed or added inputs and views a view is
	// rebuilt for, when it is not changed itself.
	Because []string `json:"because,omitempty"`
}

// Diff is the comparison of a program's lock (the new) with a lock file
// (the old).
type Diff struct {
	// Changes has one entry per input, clock, view and output: those of
	// the new lock in its order, then those only the old one has.
	Changes []Change `json:"changes"`
	// Rebuild lists the views to compute again, in dependency order.
	Rebuild []string `json:"rebuild"`
	// Replaced lists the output tables that are rebuilt (their view is,
	// or their declaration changed); Created the tables of added outputs;
	// Dropped those of removed outputs; Live the tables kept as they are.
	Replaced []string `json:"replaced"`
	Created  []string `json:"created"`
	Dropped  []string `json:"dropped"`
	Live     []string `json:"live"`
}

// Differs reports whether anything differs between the two locks.
func (d *Diff) Differs() bool {
	for _, c := range d.Changes {
		if c.Status != Unchanged || c.Rebuild {
			return true
		}
	}
	return false
}

// Compare compares a program's lock with the lock file it is checked
// against. A view whose only changed line is its version, because
// something it reads changed, is unchanged but rebuilt; a view whose
// version alone changed while nothing it reads did (the body of a
// function it calls changed) is changed, its version line the part shown.
//
// An input that only gained columns is changed, but rebuilds only the
// views whose uses lines name one of the new columns: a view that does
// not use them computes what it did, though its version changed with
// the input's (it is unchanged, and so are the views downstream of it).
func Compare(old, new *Lock) *Diff {
	d := &Diff{Rebuild: []string{}, Replaced: []string{}, Created: []string{}, Dropped: []string{}, Live: []string{}}
	dirty := map[string]bool{} // keys of changed or added inputs, clock and views
	// moved holds the keys of inputs and views whose version changed
	// although nothing that reads them need be rebuilt for it: inputs
	// given columns no view uses, and the views reading them.
	moved := map[string]bool{}
	added := map[string][]string{} // columns added to inputs, by key
	for _, e := range new.Entities {
		c := Change{Kind: e.Kind, Name: e.Name, Status: Unchanged}
		o := old.Entity(e.Key())
		switch {
		case o == nil:
			c.Status = Added
		default:
			c.Removed, c.Added = lineDiff(o.Lines, withoutUses(e, o))
			if definitionChanged(e, c.Removed, c.Added, dirty, moved) {
				c.Status = Changed
			} else {
				if len(c.Removed)+len(c.Added) > 0 {
					moved[e.Key()] = true
				}
				c.Removed, c.Added = nil, nil
			}
		}
		if cols, ok := addedColumns(e, c); ok {
			added[e.Key()] = cols
			moved[e.Key()] = true
		} else if watermarkOnly(e, c) {
			// The state holds the rows that came on time, whatever the
			// watermark: nothing downstream is rebuilt.
		} else if c.Status != Unchanged && e.Kind != "output" {
			dirty[e.Key()] = true
		}
		if e.Kind == "view" {
			for _, r := range e.Reads() {
				if c.Status == Unchanged && (dirty[r] || usesAny(e, r, added[r])) {
					c.Because = append(c.Because, r)
				}
			}
			if c.Status != Unchanged || len(c.Because) > 0 {
				c.Rebuild = true
				dirty[e.Key()] = true
				d.Rebuild = append(d.Rebuild, e.Name)
			}
		}
		d.Changes = append(d.Changes, c)
	}
	for _, e := range old.Entities {
		if new.Entity(e.Key()) == nil {
			d.Changes = append(d.Changes, Change{Kind: e.Kind, Name: e.Name, Status: Removed})
		}
	}
	d.outputs(old, new, dirty)
	return d
}

// outputs sorts the output tables into replaced, created, dropped and
// live.
func (d *Diff) outputs(old, new *Lock, dirty map[string]bool) {
	for _, c := range d.Changes {
		if c.Kind != "output" {
			continue
		}
		switch c.Status {
		case Added:
			d.Created = append(d.Created, table(new, c.Name))
		case Removed:
			d.Dropped = append(d.Dropped, table(old, c.Name))
		case Changed:
			d.Replaced = append(d.Replaced, table(new, c.Name))
		default:
			if dirty["view "+c.Name] {
				d.Replaced = append(d.Replaced, table(new, c.Name))
			} else {
				d.Live = append(d.Live, table(new, c.Name))
			}
		}
	}
}

func table(l *Lock, view string) string {
	if e := l.Entity("output " + view); e != nil {
		if t, ok := e.fact("table"); ok {
			return t
		}
	}
	return view
}

// definitionChanged reports whether an entity's own definition changed:
// a line other than its version, or its version while nothing it reads
// changed.
func definitionChanged(e *Entity, removed, added []string, dirty, moved map[string]bool) bool {
	version := e.Key() + " version "
	for _, l := range slices.Concat(removed, added) {
		if !strings.HasPrefix(l, version) {
			return true
		}
	}
	if len(removed)+len(added) == 0 {
		return false
	}
	for _, r := range e.Reads() {
		if dirty[r] || moved[r] {
			return false
		}
	}
	return true
}

// watermarkOnly reports whether all that changed of an input is its
// watermark.
func watermarkOnly(e *Entity, c Change) bool {
	if e.Kind != "input" || c.Status != Changed {
		return false
	}
	prefix := e.Key() + " watermark "
	for _, l := range append(slices.Clone(c.Removed), c.Added...) {
		if !strings.HasPrefix(l, prefix) {
			return false
		}
	}
	return true
}

// addedColumns returns the names of the columns a changed input gained,
// when gaining columns is all that changed of it: a view that uses none
// of them computes what it did.
func addedColumns(e *Entity, c Change) ([]string, bool) {
	if e.Kind != "input" || c.Status != Changed || len(c.Removed) > 0 {
		return nil, false
	}
	prefix := e.Key() + " column "
	var cols []string
	for _, l := range c.Added {
		rest, ok := strings.CutPrefix(l, prefix)
		if !ok {
			return nil, false
		}
		cols = append(cols, strings.Fields(rest)[0])
	}
	return cols, len(cols) > 0
}

// usesAny reports whether a view uses one of the columns of the input
// read: true when its lock says nothing of the input's columns it uses.
func usesAny(e *Entity, read string, cols []string) bool {
	if len(cols) == 0 {
		return false
	}
	s, ok := e.fact("uses " + read)
	if !ok {
		return true
	}
	used := strings.Split(strings.Trim(s, "()"), ", ")
	for _, c := range cols {
		if slices.Contains(used, c) {
			return true
		}
	}
	return false
}

// withoutUses returns the new entity's lines, without its uses lines
// when the old one has none: a lock written before they were is not
// made to show every view as changed.
func withoutUses(e, old *Entity) []string {
	uses := e.Key() + " uses "
	for _, l := range old.Lines {
		if strings.HasPrefix(l, uses) {
			return e.Lines
		}
	}
	var keep []string
	for _, l := range e.Lines {
		if !strings.HasPrefix(l, uses) {
			keep = append(keep, l)
		}
	}
	return keep
}

// lineDiff returns the lines of old missing from new and those of new
// missing from old, each in its file's order, counting repeats.
func lineDiff(old, new []string) (removed, added []string) {
	return missing(old, new), missing(new, old)
}

// missing returns the lines of from that in lacks, in from's order: a
// line from holds k times more often than in shows up k times.
func missing(from, in []string) []string {
	count := map[string]int{}
	for _, l := range in {
		count[l]++
	}
	var out []string
	for _, l := range from {
		if count[l] > 0 {
			count[l]--
		} else {
			out = append(out, l)
		}
	}
	return out
}

// WriteText prints the differences as check --locked does: each entity
// that is not unchanged, with its changed lines, and the views rebuilt
// downstream. With all (as plan prints it) it lists every entity and
// then the views to rebuild and what becomes of each output table.
func (d *Diff) WriteText(w io.Writer, all bool) error {
	var b strings.Builder
	for _, c := range d.Changes {
		if !all && c.Status == Unchanged && !c.Rebuild {
			continue
		}
		name := c.Kind
		if c.Name != "" {
			name += " " + c.Name
		}
		fmt.Fprintf(&b, "%s: %s", name, c.Status)
		if len(c.Because) > 0 {
			fmt.Fprintf(&b, ", rebuilt: reads %s", strings.Join(c.Because, ", "))
		}
		b.WriteString("\n")
		for _, l := range c.Removed {
			fmt.Fprintf(&b, "  - %s\n", l)
		}
		for _, l := range c.Added {
			fmt.Fprintf(&b, "  + %s\n", l)
		}
	}
	if all {
		list := func(what string, xs []string) {
			if len(xs) == 0 {
				fmt.Fprintf(&b, "%s: none\n", what)
				return
			}
			fmt.Fprintf(&b, "%s: %s\n", what, strings.Join(xs, ", "))
		}
		list("rebuild views", d.Rebuild)
		list("replace output tables", d.Replaced)
		list("create output tables", d.Created)
		list("drop output tables", d.Dropped)
		list("live output tables, untouched", d.Live)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
