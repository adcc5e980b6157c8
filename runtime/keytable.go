package runtime

import "hash/maphash"

// keyTable finds an overlay's keys by a 64-bit hash of each, in an
// open-addressed table of hashes and keys rather than a Go map of
// either: a probe compares hashes held in the slot it lands on, which a
// map reaches only past its control word, and reads a key's string only
// to confirm a match, so that finding one of a fixpoint's many classes
// costs one cache miss, not two or three. Keys whose hashes collide take
// the next free slots.
type keyTable struct {
	slots []keySlot // a power of two of them, nil until the first key
	n     int       // the number of keys
}

// keySlot is a key of the table with its hash; kv is nil in a free slot.
type keySlot struct {
	h  uint64
	kv *overlayKey
}

// collideHashes, set by a test, folds every hash an overlay files keys
// or rows by into one, so that every lookup goes past keys and rows of
// the same hash that are not the one it looks for.
var collideHashes bool

// fold returns what an overlay files a key or row of hash h under: h
// itself, but for a test (see collideHashes).
func fold(h uint64) uint64 {
	if collideHashes {
		return 0
	}
	return h
}

// hashKey returns the hash of key k. Keys are hashed with rowSeed, as a
// memory index hashes row keys: a class of a fixpoint's support spelled
// as its row (see spelledAsClass) has the row's hash, computed once.
func hashKey(k string) uint64 { return maphash.String(rowSeed, k) }

// hashKeyBytes returns the hash of the key spelled by b, the same as
// hashKey's of the string.
func hashKeyBytes(b []byte) uint64 { return maphash.Bytes(rowSeed, b) }

// find returns the key k, of hash h, or nil.
func (t *keyTable) find(h uint64, k string) *overlayKey { return findKey(t, h, k) }

// findBytes returns the key spelled by b, of hash h, or nil.
func (t *keyTable) findBytes(h uint64, b []byte) *overlayKey { return findKey(t, h, b) }

// findKey is find, for a key as a string or as its bytes.
func findKey[K ~string | ~[]byte](t *keyTable, h uint64, k K) *overlayKey {
	if t.slots == nil {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := fold(h) & mask; t.slots[i].kv != nil; i = (i + 1) & mask {
		if s := &t.slots[i]; fold(s.h) == fold(h) && s.kv.key == string(k) {
			return s.kv
		}
	}
	return nil
}

// add files kv, whose key, of hash h, the table does not hold. The
// table doubles when more than seven eighths full: a probe's slots are
// small and read in order, four to a cache line, so a longer run costs
// less than the misses of a sparser table (GraphLoad ~2% faster than at
// three quarters). It
// starts small rather than sized for the keys a step might make: growing
// costs a pass over the slots, and a table kept no larger than its keys
// need takes fewer cache misses to probe, as a fixpoint's joins do of
// their integrals' keys every iteration (GraphLoad ~4% faster than
// with room made for twice the step's input rows).
func (t *keyTable) add(h uint64, kv *overlayKey) {
	if t.slots == nil {
		t.slots = make([]keySlot, firstSlots)
	} else if 8*(t.n+1) > 7*len(t.slots) {
		old := t.slots
		t.slots = make([]keySlot, 2*len(old))
		for _, s := range old {
			if s.kv != nil {
				t.place(s)
			}
		}
	}
	t.place(keySlot{h, kv})
	t.n++
}

// place puts s in the first free slot from its hash's.
func (t *keyTable) place(s keySlot) {
	mask := uint64(len(t.slots) - 1)
	i := fold(s.h) & mask
	for t.slots[i].kv != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = s
}

// firstSlots is the number of slots a table is made with.
const firstSlots = 8
