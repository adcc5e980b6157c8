package lockfile_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stepping-io/stepping/internal/golden"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/typecheck"
)

func lower(t *testing.T, name, src string) *ir.Circuit {
	t.Helper()
	f, err := lang.Parse(name, src)
	if err != nil {
		t.Fatal(err)
	}
	p, err := typecheck.Check(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ir.Lower(p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func lock(t *testing.T, name, src string) *lockfile.Lock {
	t.Helper()
	l, err := lockfile.Parse(name+".lock", lockfile.Render(lower(t, name, src)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestShopLock is the lock of examples/shop.step, against
// testdata/shop.step.lock.
func TestShopLock(t *testing.T) {
	src := golden.Read(t, filepath.Join("..", "..", "examples", "shop.step"))
	golden.Check(t, filepath.Join("testdata", "shop.step.lock"), lockfile.Render(lower(t, "shop.step", src)))
}

// TestRenderDeterministic renders every example twice from separate
// compilations and parses the result back.
func TestRenderDeterministic(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.step"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src := golden.Read(t, file)
			a := lockfile.Render(lower(t, file, src))
			b := lockfile.Render(lower(t, file, src))
			if a != b {
				t.Fatalf("two renderings differ:\n%s\n---\n%s", a, b)
			}
			l, err := lockfile.Parse(file+".lock", a)
			if err != nil {
				t.Fatal(err)
			}
			if d := lockfile.Compare(l, l); d.Differs() {
				t.Errorf("a lock differs from itself: %+v", d.Changes)
			}
		})
	}
}

// base is a three-view program: totals reads the tables, receipts reads
// totals, and big reads only line_items.
const base = `table products (name text, price numeric, primary key (name))
table line_items (basket_id int8, product_name text, qty int4, primary key (basket_id, product_name))

# per basket
view totals =
  line_items
  | join products on line_items.product_name == products.name
  | group by line_items.basket_id { total = sum(products.price * line_items.qty) }

view receipts =
  totals | select { receipt = format("Basket %s: %s", basket_id, total) }

view big = line_items | where qty > 10

output totals primary key (basket_id)
output receipts
output big to table big_items
`

// TestPlan compares edited programs with the lock of base, as stepq
// plan prints the result, against testdata/plan/NAME.txt and .json.
func TestPlan(t *testing.T) {
	tests := []struct {
		name string
		old  string
		new  string
	}{
		{"changed", `sum(products.price * line_items.qty)`, `sum(products.price * line_items.qty * 2)`},
		{"added", "output totals primary key", "view small = line_items | where qty < 2\n\noutput totals primary key"},
		{"removed", "view big = line_items | where qty > 10\n", ""},
		{"leaf", "where qty > 10", "where qty > 20"},
		// A column added: only big, whose rows carry every column, is
		// rebuilt; when totals starts to use it, totals and receipts,
		// downstream of it, are too.
		{"input", "qty int4, primary key (basket_id", "qty int4, note text, primary key (basket_id"},
		{"input_used", "qty int4, primary key (basket_id", "qty int4, note text, primary key (basket_id"},
		{"comment", "# per basket", "# per basket, summed over its lines"},
		{"output", "output big to table big_items", "output big to table big_items index (qty)"},
	}
	// A second edit, old and new text, of some tests.
	more := map[string][2]string{
		"input_used": {"line_items\n  | join", "line_items\n  | where note != \"gift\"\n  | join"},
	}
	old := lock(t, "p.step", base)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.Replace(base, tt.old, tt.new, 1)
			if m, ok := more[tt.name]; ok {
				edited := strings.Replace(src, m[0], m[1], 1)
				if edited == src {
					t.Fatal("the second edit changes nothing")
				}
				src = edited
			}
			if src == base {
				t.Fatal("the edit changes nothing")
			}
			if tt.name == "removed" {
				src = strings.Replace(src, "output big to table big_items\n", "", 1)
			}
			d := lockfile.Compare(old, lock(t, "p.step", src))
			var txt bytes.Buffer
			if err := d.WriteText(&txt, true); err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "plan", tt.name+".txt"), txt.String())
			js, err := json.MarshalIndent(d, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", "plan", tt.name+".json"), string(js)+"\n")
			if tt.name == "comment" && d.Differs() {
				t.Errorf("a comment-only edit differs")
			}
		})
	}
}

// TestParseErrors checks the position of a malformed line.
func TestParseErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"view v\n", "x.lock:1:6: "},
		{lockfile.Header + "\n\nfrob x y\n", "x.lock:3:1: "},
		{"# stepping lock 2: from the future\n", "x.lock:1:17: "},
	}
	for _, tt := range tests {
		_, err := lockfile.Parse("x.lock", tt.text)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error beginning %q", tt.text, err, tt.want)
		}
	}
}

// TestPlanWatermark checks that a watermark declared, changed or taken
// away changes its input, and rebuilds nothing: the state holds the rows
// that came on time whatever the watermark.
func TestPlanWatermark(t *testing.T) {
	const src = "table e (id int8, at timestamp, primary key (id))%s\nview v = e | group by day = date_trunc(\"day\", at) { n = count() }\noutput v\n"
	marks := []string{"", ` watermark at - interval "1 hour"`, ` watermark at`}
	for _, from := range marks {
		for _, to := range marks {
			if from == to {
				continue
			}
			d := lockfile.Compare(lock(t, "p.step", fmt.Sprintf(src, from)), lock(t, "p.step", fmt.Sprintf(src, to)))
			if len(d.Rebuild) > 0 || len(d.Replaced) > 0 {
				t.Errorf("%q to %q rebuilds %v, replaces %v", from, to, d.Rebuild, d.Replaced)
			}
			if d.Changes[0].Kind != "input" || d.Changes[0].Status != lockfile.Changed {
				t.Errorf("%q to %q: input %+v, want changed", from, to, d.Changes[0])
			}
		}
	}
}
