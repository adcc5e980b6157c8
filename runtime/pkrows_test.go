package runtime

import (
	"math/rand/v2"
	"testing"

	"github.com/stepping-io/stepping/zset"
)

// TestPKRows drives pkRows and a map side by side with random sets and
// deletes, with the full hash over enough keys to fill several chunks of
// slots, and with hashes cut to two bits, so that most keys collide.
func TestPKRows(t *testing.T) {
	for _, mask := range []uint64{^uint64(0), 3} {
		r := rand.New(rand.NewPCG(3, uint64(mask)))
		p := newPKRows([]int{0})
		p.mask = mask
		model := map[string]zset.Row{}
		keys := 200
		if mask == ^uint64(0) {
			keys = 3000 // past the first chunks of slots
		}
		for step := range 10000 {
			k := int64(r.IntN(keys))
			row := zset.Row{k, int64(step)}
			key := string(p.appendKey(nil, row))
			if r.IntN(3) == 0 {
				p.del(key)
				delete(model, key)
			} else {
				p.set(key, row)
				model[key] = row
			}
			if p.len() != len(model) {
				t.Fatalf("mask %x step %d: %d rows, want %d", mask, step, p.len(), len(model))
			}
		}
		for k, want := range model {
			if got := p.get(k); got == nil || got[1] != want[1] {
				t.Fatalf("mask %x: row of %q is %v, want %v", mask, k, got, want)
			}
		}
		n := 0
		p.each(func(zset.Row) { n++ })
		if n != len(model) {
			t.Fatalf("mask %x: each gave %d rows, want %d", mask, n, len(model))
		}
		for k := range keys {
			key := string(p.appendKey(nil, zset.Row{int64(k)}))
			if _, in := model[key]; !in && p.get(key) != nil {
				t.Fatalf("mask %x: key %d found, not in the model", mask, k)
			}
		}
	}
}
