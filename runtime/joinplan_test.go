package runtime

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stepping-io/stepping/ir"
)

// TestJoinPlans checks which joins make their rows with only the
// columns the projection reading them keeps: a join read only by a
// select of plain columns, and no other; and which make them in arenas:
// a join read only by an aggregate.
func TestJoinPlans(t *testing.T) {
	const tables = "table a (k int8, x int8)\ntable b (k int8, y int8)\ntable c (kc int8, z int8)\n"
	for _, tc := range []struct {
		name, src string
		want      []string // per picked join: the columns kept
		arenas    int      // joins making their rows in arenas
	}{
		{"select of a join", "view v = a | join b on a.k == b.k | select { y, x }", []string{"[3 1]"}, 0},
		{"select of every column", "view v = a | join b on a.k == b.k | select { ka = a.k, x, kb = b.k, y }", []string{"[0 1 2 3]"}, 0},
		{"an expression", "view v = a | join b on a.k == b.k | select { s = x + y }", nil, 0},
		{"a view that selects from a join", "view j = a | join b on a.k == b.k | select { ka = a.k, x, kb = b.k, y }\nview v = j | join a on j.ka == a.k | select { y }", []string{"[0 1 2 3]", "[3]"}, 0},
		{"the join is a view", "view j = a | join c on a.k == c.kc\nview v = j | select { x, z }", nil, 0},
		{"no select", "view v = a | join b on a.k == b.k | group by x { n = count() }", nil, 1},
		{"a select before the group", "view v = a | join b on a.k == b.k | select { x, y } | group by x { n = sum(y) }", []string{"[1 3]"}, 0},
		{"a group of a join view", "view j = a | join c on a.k == c.kc\nview v = j | group by x { n = count() }", nil, 0},
		{"a top through the join", "view v = a | join b on a.k == b.k | select { x, y } | top 1 by y per x", []string{"[1 3]"}, 0},
		{"in a recursive view", "view r = a | select { k, x } | union (r | join b on r.x == b.k | select { k = r.k, x = b.y })", nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := lower(t, tables+tc.src+"\n")
			picks, passes, arenas := joinPlans(c, bodyNodes(c))
			if n := len(slices.DeleteFunc(slices.Clone(arenas), func(b bool) bool { return !b })); n != tc.arenas {
				t.Errorf("%d joins make their rows in arenas, want %d", n, tc.arenas)
			}
			var got []string
			for id, p := range picks {
				if p != nil {
					got = append(got, fmt.Sprint(p))
					if reader := readerOf(c, id); reader < 0 || !passes[reader] {
						t.Errorf("join n%d keeps %v, but its projection does not pass its rows", id, p)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("joins keep %v, want %v", got, tc.want)
			}
		})
	}
}

// readerOf returns the ID of the node that reads node id, -1 for none.
func readerOf(c *ir.Circuit, id int) int {
	for _, n := range c.Nodes {
		for _, in := range n.Inputs {
			if in.ID == id {
				return n.ID
			}
		}
	}
	return -1
}

// TestStepOnly checks which nodes' changes may be joined up in an arena:
// those that only joins, aggregates and integrals read, and never a
// view's.
func TestStepOnly(t *testing.T) {
	const tables = "table a (k int8, x int8)\ntable b (k int8, y int8)\n"
	for _, tc := range []struct {
		name, src string
		want      []string // the marked nodes' operators, sorted
	}{
		// Each table's node is read by its integral and the join, and
		// each integral's delay (which makes no changes) by the join.
		{"a join an aggregate reads", "view v = a | join b on a.k == b.k | group by x { n = count() }", []string{"delay", "delay", "join", "source", "source"}},
		{"a join a select reads", "view v = a | join b on a.k == b.k | select { x, y }", []string{"delay", "delay", "source", "source"}},
		{"the join's select is a view", "view j = a | join b on a.k == b.k | select { k = a.k, x, y }\nview v = j | group by x { n = count() }", []string{"delay", "delay", "source", "source"}},
		{"two joins of the same tables", "view v = a | join b on a.k == b.k | group by x { n = count() }\nview w = a | join b on a.k == b.k | select { x }", []string{"delay", "delay", "delay", "delay", "join", "source", "source"}},
		{"a table a view is", "view v = a\nview w = a | join b on a.k == b.k | group by y { n = count() }", []string{"delay", "delay", "join", "source"}},
		{"in a recursive view", "view r = a | select { k, x } | union (r | join b on r.x == b.k | select { k = r.k, x = b.y })", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := lower(t, tables+tc.src+"\n")
			var got []string
			for id, marked := range stepOnly(c, bodyNodes(c)) {
				if marked {
					got = append(got, c.Nodes[id].Op.Name())
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("marked %v, want %v", got, tc.want)
			}
		})
	}
}
