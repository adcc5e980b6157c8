package runtime

import "hash/maphash"

// keyTable finds an overlay's keys by a 64-bit hash of each rather than
// through a Go map of strings: a probe compares hashes held in the
// table, and reads a key's string only to confirm a match, so finding
// one of a fixpoint's many classes costs one cache miss the fewer. Keys
// whose hashes collide are chained through overlayKey.next.
type keyTable struct {
	at map[uint64]*overlayKey // the last key made of each (folded) hash
	n  int                    // the number of keys
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
func (t *keyTable) find(h uint64, k string) *overlayKey {
	for kv := t.at[fold(h)]; kv != nil; kv = kv.next {
		if kv.key == k {
			return kv
		}
	}
	return nil
}

// findBytes returns the key spelled by b, of hash h, or nil.
func (t *keyTable) findBytes(h uint64, b []byte) *overlayKey {
	for kv := t.at[fold(h)]; kv != nil; kv = kv.next {
		if kv.key == string(b) {
			return kv
		}
	}
	return nil
}

// add files kv, whose key, of hash h, the table does not hold; hint is
// the room to make for keys when the table is first used.
func (t *keyTable) add(h uint64, kv *overlayKey, hint int) {
	if t.at == nil {
		t.at = make(map[uint64]*overlayKey, hint)
	}
	kv.next = t.at[fold(h)]
	t.at[fold(h)] = kv
	t.n++
}
