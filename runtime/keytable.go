package runtime

import "hash/maphash"

// keyTable finds an overlay's keys by a 64-bit hash of each rather than
// through a Go map of strings: a probe compares hashes held in the
// table, and reads a key's string only to confirm a match, so finding
// one of a fixpoint's many classes costs one cache miss the fewer. Keys
// whose hashes collide are chained through overlayKey.next.
type keyTable struct {
	at map[uint64]*overlayKey // the last key made of each hash
	n  int                    // the number of keys
}

// keySeed hashes overlay keys; the hashes live only in memory.
var keySeed = maphash.MakeSeed()

// collideKeys, set by a test, hashes every key alike, so that every
// lookup goes down the chain of colliding keys.
var collideKeys bool

// hashKey returns the hash of key k.
func hashKey(k string) uint64 {
	if collideKeys {
		return 0
	}
	return maphash.String(keySeed, k)
}

// hashKeyBytes returns the hash of the key spelled by b, the same as
// hashKey's of the string.
func hashKeyBytes(b []byte) uint64 {
	if collideKeys {
		return 0
	}
	return maphash.Bytes(keySeed, b)
}

// find returns the key k, of hash h, or nil.
func (t *keyTable) find(h uint64, k string) *overlayKey {
	for kv := t.at[h]; kv != nil; kv = kv.next {
		if kv.key == k {
			return kv
		}
	}
	return nil
}

// findBytes returns the key spelled by b, of hash h, or nil.
func (t *keyTable) findBytes(h uint64, b []byte) *overlayKey {
	for kv := t.at[h]; kv != nil; kv = kv.next {
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
	kv.next = t.at[h]
	t.at[h] = kv
	t.n++
}
