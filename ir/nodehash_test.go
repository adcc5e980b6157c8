package ir_test

import (
	"strings"
	"testing"

	"github.com/stepping-io/stepping/ir"
)

// viewHashes returns the hash of each view's node.
func viewHashes(c *ir.Circuit) map[string]string {
	hashes := ir.NodeHashes(c)
	out := map[string]string{}
	for _, v := range c.Views {
		out[v.Name] = hashes[v.Node.ID]
	}
	return out
}

// TestNodeHashes checks that a node's hash follows what it computes,
// not where it sits: an edit changes the hashes of the view it edits and
// of the views downstream, and of nothing else, even when it renumbers
// every node.
func TestNodeHashes(t *testing.T) {
	const base = `table orders (id int4, customer int4, amount int8)
table customers (id int4, name text)
view big = orders | where amount > 100
view totals = orders | group by customer { total = sum(amount) }
view named = totals | join customers on totals.customer == customers.id | select { name, total }
view chain = orders | select { x = id, y = customer } | union (chain | join orders on chain.y == orders.id | select { x = chain.x, y = orders.customer })
`
	tests := []struct {
		name    string
		src     string
		changed []string
	}{
		{"comment", "# c\n" + base, nil},
		{"a view moved first", "view big = orders | where amount > 100\n" + strings.Replace(base, "view big = orders | where amount > 100\n", "", 1), nil},
		{"a view added first", "table extra (z int4)\nview first = extra | where z > 1\n" + base, nil},
		{"filter", strings.Replace(base, "amount > 100", "amount > 200", 1), []string{"big"}},
		{"aggregate", strings.Replace(base, "sum(amount)", "max(amount)", 1), []string{"named", "totals"}},
		{"downstream only", strings.Replace(base, "select { name, total }", "select { total, name }", 1), []string{"named"}},
		{"recursive", strings.Replace(base, "y = orders.customer })", "y = orders.customer } | where x > 0)", 1), []string{"chain"}},
		{"input type", strings.Replace(base, "name text", "name int8", 1), []string{"named"}},
	}
	want := viewHashes(lowerSrc(t, base))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := viewHashes(lowerSrc(t, tt.src))
			var changed []string
			for _, name := range []string{"big", "chain", "named", "totals"} {
				if got[name] != want[name] {
					changed = append(changed, name)
				}
			}
			if strings.Join(changed, ",") != strings.Join(tt.changed, ",") {
				t.Errorf("views whose hash changed: %v, want %v", changed, tt.changed)
			}
		})
	}
}

// TestNodeHashesComplete checks that every node of every example-like
// circuit gets a hash, fixpoint bodies included.
func TestNodeHashesComplete(t *testing.T) {
	c := lowerSrc(t, `table e (a int4, b int4)
view reach = e | select { a, b } | union (reach | join e on reach.b == e.a | select { a = reach.a, b = e.b })
view n = reach | group by a { c = count() }
`)
	for id, h := range ir.NodeHashes(c) {
		if h == "" {
			t.Errorf("node n%d has no hash", id)
		}
	}
}
