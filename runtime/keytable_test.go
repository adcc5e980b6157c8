package runtime

import (
	"fmt"
	"testing"
)

// withCollidingKeys runs f with every overlay key and row filed under
// one hash when collide is set.
func withCollidingKeys(t *testing.T, collide bool, f func()) {
	t.Helper()
	old := collideHashes
	collideHashes = collide
	defer func() { collideHashes = old }()
	f()
}

// TestKeyTable finds keys made in a table, by string and by bytes, with
// their hashes distinct and with every hash alike, when each is found
// only past keys that share it; and finds no key not made. Enough keys
// are made that the table, made small, grows and places them again.
func TestKeyTable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		collide bool
		keys    int
	}{
		{"distinct", false, 50},
		{"colliding", true, 1},
		{"colliding chain", true, 50},
		{"distinct, grown", false, 5000},
		{"colliding, grown", true, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			withCollidingKeys(t, tc.collide, func() {
				ix := &overlayIndex{}
				made := map[string]*overlayKey{}
				for i := range tc.keys {
					k := fmt.Sprint("k", i)
					if ix.keys.find(hashKey(k), k) != nil {
						t.Fatalf("key %s found before it was made", k)
					}
					made[k] = ix.slot(k)
				}
				if ix.keys.n != tc.keys {
					t.Fatalf("the table counts %d keys, want %d", ix.keys.n, tc.keys)
				}
				for k, kv := range made {
					if got := ix.slot(k); got != kv || got.key != k {
						t.Fatalf("slot(%s) is the key %q, not the one made", k, got.key)
					}
					if got := ix.keys.findBytes(hashKeyBytes([]byte(k)), []byte(k)); got != kv {
						t.Fatalf("findBytes(%s) is not the key made", k)
					}
				}
				for _, k := range []string{"k", "x", fmt.Sprint("k", tc.keys)} {
					if ix.keys.find(hashKey(k), k) != nil {
						t.Fatalf("key %s found, never made", k)
					}
				}
			})
		})
	}
}

// CollideKeys files every overlay key and row under one hash until the
// returned func is called, for the tests outside the package.
func CollideKeys() (restore func()) {
	old := collideHashes
	collideHashes = true
	return func() { collideHashes = old }
}
