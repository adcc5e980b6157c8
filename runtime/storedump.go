package runtime

import (
	"iter"

	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// StateEntry is one entry of an integral as a store keeps it: the index
// key and the row key it is filed under (types.RowKey encodings; for an
// ordered integral the key is a types.OrderKey), the row, and its
// weight.
type StateEntry struct {
	Key, RowKey string
	Row         zset.Row
	Weight      int64
}

// IndexEntries returns the entries of the index of node id, in no
// particular order. A backfill computes a circuit's first state in a
// MemoryStore and copies it out through these to a database-backed
// store in bulk.
func (s *MemoryStore) IndexEntries(id int) iter.Seq[StateEntry] {
	if s.parts != nil {
		return func(yield func(StateEntry) bool) {
			for _, part := range s.parts {
				for e := range part.IndexEntries(id) {
					if !yield(e) {
						return
					}
				}
			}
		}
	}
	return func(yield func(StateEntry) bool) {
		ix, ok := s.indexes[id]
		if !ok {
			return
		}
		for key, bucket := range ix.buckets {
			for i := range bucket.len() {
				e := bucket.entry(i)
				if !yield(StateEntry{Key: key, RowKey: types.RowKey(e.Row), Row: e.Row, Weight: e.Weight}) {
					return
				}
			}
		}
	}
}

// OrderedEntries returns the entries of the ordered index of node id, in
// order of key.
func (s *MemoryStore) OrderedEntries(id int) iter.Seq[StateEntry] {
	return func(yield func(StateEntry) bool) {
		o, ok := s.ordered[id]
		if !ok {
			return
		}
		o.tree.Ascend(func(e orderedEntry) bool {
			return yield(StateEntry{Key: e.key, RowKey: e.rowKey, Row: e.Row, Weight: e.Weight})
		})
	}
}

// GroupStates returns the groups of the aggregate or top-k of node id,
// each with its key (a types.RowKey encoding), in no particular order.
func (s *MemoryStore) GroupStates(id int) iter.Seq2[string, *GroupState] {
	if s.parts != nil {
		return func(yield func(string, *GroupState) bool) {
			for _, part := range s.parts {
				for key, st := range part.GroupStates(id) {
					if !yield(key, st) {
						return
					}
				}
			}
		}
	}
	return func(yield func(string, *GroupState) bool) {
		g, ok := s.groups[id]
		if !ok {
			return
		}
		g.all(yield)
	}
}

// Entries counts what the store holds: the rows of its indexes and
// ordered indexes, and its groups with, for top-k, window and session
// groups, their rows. Tests use it to see that state stays bounded.
func (s *MemoryStore) Entries() int {
	n := 0
	for _, part := range s.parts {
		n += part.Entries()
	}
	for _, ix := range s.indexes {
		for _, b := range ix.buckets {
			n += b.len()
		}
	}
	for _, o := range s.ordered {
		n += o.tree.Len()
	}
	for _, g := range s.groups {
		for _, st := range g.all {
			n++
			if st.Ranked != nil {
				n += st.Ranked.Rows.Len()
			}
		}
	}
	return n
}
