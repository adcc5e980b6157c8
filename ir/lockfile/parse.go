package lockfile

import (
	"fmt"
	"strings"
)

// Lock is a parsed lock file: the lines of each input, view and output,
// by the entity they describe.
type Lock struct {
	// Entities are the inputs, the clock, views and outputs in the
	// order of the file, each with its lines.
	Entities []*Entity
	byKey    map[string]*Entity
}

// versionPrefix begins the header line, before the format's version.
const versionPrefix = "# stepping lock "

// Entity is what a group of lock lines describes.
type Entity struct {
	Kind  string   // "input", "clock", "view" or "output"
	Name  string   // empty for the clock
	Lines []string // its lines, whole, in the order of the file
}

// Key is the entity's kind and name as its lines begin: "view receipts".
func (e *Entity) Key() string {
	if e.Name == "" {
		return e.Kind
	}
	return e.Kind + " " + e.Name
}

// fact returns the rest of the entity's first line whose fact is word
// ("version", "table", "reads"), and whether there is one.
func (e *Entity) fact(word string) (string, bool) {
	prefix := e.Key() + " " + word + " "
	for _, l := range e.Lines {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			return rest, true
		}
	}
	return "", false
}

// Reads returns the keys of what a view reads ("input t", "view v",
// "clock"), from its reads line.
func (e *Entity) Reads() []string {
	s, ok := e.fact("reads")
	if !ok {
		return nil
	}
	return strings.Split(s, ", ")
}

// Entity returns the entity of a key ("view receipts"), nil when the lock
// has none.
func (l *Lock) Entity(key string) *Entity { return l.byKey[key] }

// Parse reads a lock file's text. Blank lines and lines beginning with #
// are skipped; every other line must begin with the kind of an entity
// and, but for the clock, its name. The error of a malformed line is
// filename:line:col: message.
func Parse(filename, text string) (*Lock, error) {
	l := &Lock{byKey: map[string]*Entity{}}
	for i, line := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(line, versionPrefix); ok {
			// A lock of another format would compare as all changed:
			// better to say why.
			if !strings.HasPrefix(v, "1:") {
				return nil, fmt.Errorf("%s:%d:%d: lock file of format %q; this stepq reads format 1", filename, i+1, len(versionPrefix)+1, strings.SplitN(v, ":", 2)[0])
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		kind, name := fields[0], ""
		switch kind {
		case "input", "view", "output":
			if len(fields) < 3 {
				return nil, fmt.Errorf("%s:%d:%d: lock line %q: want %s NAME FACT", filename, i+1, len(kind)+2, line, kind)
			}
			name = fields[1]
		case "clock":
		default:
			return nil, fmt.Errorf("%s:%d:1: lock line %q: want input, clock, view or output first", filename, i+1, line)
		}
		e := &Entity{Kind: kind, Name: name}
		if old, ok := l.byKey[e.Key()]; ok {
			e = old
		} else {
			l.byKey[e.Key()] = e
			l.Entities = append(l.Entities, e)
		}
		e.Lines = append(e.Lines, line)
	}
	return l, nil
}

// UsersOf returns the views that use a column of an input, by their uses
// lines (a view that reads the input without one, as in a lock written
// before them, is taken to use every column), and the views downstream
// of them, each in the lock's order: the views a dropped or retyped
// source column breaks.
func (l *Lock) UsersOf(input, column string) (direct, downstream []string) {
	key := "input " + input
	broken := map[string]bool{}
	for _, e := range l.Entities {
		if e.Kind != "view" {
			continue
		}
		uses, after := false, false
		for _, r := range e.Reads() {
			uses = uses || r == key && usesAny(e, key, []string{column})
			after = after || broken[r]
		}
		switch {
		case uses:
			direct = append(direct, e.Name)
		case after:
			downstream = append(downstream, e.Name)
		default:
			continue
		}
		broken[e.Key()] = true
	}
	return direct, downstream
}
