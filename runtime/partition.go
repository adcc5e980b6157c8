package runtime

import (
	"context"
	"math/bits"
	"sync"

	"github.com/stepping-io/stepping/zset"
)

// This file splits a MemoryStore's state over workers (Options.Workers):
// each index's and each aggregate's keys are hash-partitioned, every
// partition a MemoryStore of its own that one worker reads and writes
// alone within an operator, with no lock between them.

// partOf returns the partition, of n, of an encoded key (an index's or a
// group's key, as the operator files its state under it). The hash is
// fixed (FNV-1a), not maphash's seed of the process, so that a program
// splits its state the same way in every run, and the order of the
// changes a step computes, which follows the split, is the same too.
func partOf[K ~string | ~[]byte](key K, n int) int {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	h ^= h >> 29 // FNV's low bits mix poorly: fold the high ones in
	hi, _ := bits.Mul64(h, uint64(n))
	return int(hi)
}

// split makes the store keep its indexes and groups in n partitions by
// key, moving whatever state it holds; n <= 1 merges them back into one.
// It returns the partitions, or nil for one. Ordered indexes are never
// split: only the operators that stay on one worker use them.
func (s *MemoryStore) split(n int) []Store {
	if n < 1 {
		n = 1
	}
	if len(s.parts) == n || s.parts == nil && n == 1 {
		return s.partStores()
	}
	from := s.parts
	if from == nil {
		from = []*MemoryStore{s}
	}
	to := make([]*MemoryStore, n)
	for p := range to {
		to[p] = NewMemoryStore()
	}
	for _, part := range from {
		for id, ix := range part.indexes {
			for key, b := range ix.buckets {
				to[partOf(key, n)].Index(id).(*memIndex).buckets[key] = b
			}
		}
		for id, g := range part.groups {
			for key, st := range g.all {
				to[partOf(key, n)].Groups(id).(*memGroups).put(key, st)
			}
		}
	}
	s.routedIndexes, s.routedGroups = map[int]*partIndex{}, map[int]*partGroups{}
	if n == 1 {
		s.indexes, s.groups, s.parts, s.crew = to[0].indexes, to[0].groups, nil, nil
		return nil
	}
	s.indexes, s.groups, s.parts, s.crew = map[int]*memIndex{}, map[int]*memGroups{}, to, newCrew(n)
	return s.partStores()
}

// partStores returns the partitions as stores, or nil for none.
func (s *MemoryStore) partStores() []Store {
	if s.parts == nil {
		return nil
	}
	out := make([]Store, len(s.parts))
	for p, part := range s.parts {
		out[p] = part
	}
	return out
}

// partIndex is an index split over partitions, as an operator running
// on one worker sees it: each key is read from and written to its own
// partition.
type partIndex struct {
	parts []*memIndex
	crew  *crew
}

// routedIndex returns the index of node id over every partition.
func (s *MemoryStore) routedIndex(id int) *partIndex {
	ix, ok := s.routedIndexes[id]
	if !ok {
		ix = &partIndex{parts: make([]*memIndex, len(s.parts)), crew: s.crew}
		for p, part := range s.parts {
			ix.parts[p] = part.Index(id).(*memIndex)
		}
		s.routedIndexes[id] = ix
	}
	return ix
}

// Lookup returns each key's entries from its partition, as memIndex's
// Lookup does.
func (ix *partIndex) Lookup(_ context.Context, keys []string) ([][]zset.Entry, error) {
	return lookupBuckets(keys, func(k string) *memBucket { return ix.parts[partOf(k, len(ix.parts))].buckets[k] }), nil
}

// Update adds each partition's share of the changes, in their order, the
// partitions side by side when there are many changes.
func (ix *partIndex) Update(ctx context.Context, changes []KeyedChange) error {
	if len(changes) < parallelWork {
		// Few: each to its partition, with nothing allocated.
		for i, c := range changes {
			if err := ix.parts[partOf(c.Key, len(ix.parts))].Update(ctx, changes[i:i+1]); err != nil {
				return err
			}
		}
		return nil
	}
	by := make([][]KeyedChange, len(ix.parts))
	for _, c := range changes {
		p := partOf(c.Key, len(ix.parts))
		by[p] = append(by[p], c)
	}
	return ix.crew.run(len(ix.parts), func(p int) error { return ix.parts[p].Update(ctx, by[p]) })
}

// updateKeyed is memIndex.updateKeyed, each change filed in its key's
// partition in turn, as Update files a few.
func (ix *partIndex) updateKeyed(keys string, ends []int32, d []zset.Entry, fresh bool) {
	start := int32(0)
	for i := range d {
		key := keys[start:ends[i]]
		end := [1]int32{int32(len(key))}
		ix.parts[partOf(key, len(ix.parts))].updateKeyed(key, end[:], d[i:i+1], fresh)
		start = ends[i]
	}
}

// partGroups is an aggregate's groups split over partitions, as
// partIndex is an index.
type partGroups struct {
	parts []*memGroups
}

// routedGroup returns the groups of node id over every partition.
func (s *MemoryStore) routedGroup(id int) *partGroups {
	g, ok := s.routedGroups[id]
	if !ok {
		g = &partGroups{parts: make([]*memGroups, len(s.parts))}
		for p, part := range s.parts {
			g.parts[p] = part.Groups(id).(*memGroups)
		}
		s.routedGroups[id] = g
	}
	return g
}

// Get returns each group's state from its partition.
func (g *partGroups) Get(_ context.Context, keys []string) ([]*GroupState, error) {
	return g.getInto(make([]*GroupState, len(keys)), keys), nil
}

// getInto is Get into out, of one element per key, which it returns.
func (g *partGroups) getInto(out []*GroupState, keys []string) []*GroupState {
	for i, k := range keys {
		out[i] = g.parts[partOf(k, len(g.parts))].get(k)
	}
	return out
}

// Put replaces each group's state in its partition.
func (g *partGroups) Put(ctx context.Context, keys []string, states []*GroupState) error {
	for i, k := range keys {
		if err := g.parts[partOf(k, len(g.parts))].Put(ctx, keys[i:i+1], states[i:i+1]); err != nil {
			return err
		}
	}
	return nil
}

// parallelWork is the fewest items (changes, rows) worth spreading over
// goroutines: below it, starting them costs more than they save.
const parallelWork = 1024

// parallel runs f(0), ..., f(n-1) side by side, f(0) on the calling
// goroutine, and returns the error of the lowest i that failed, so that
// which error a step reports does not depend on timing. A panic in f is
// returned as an error, with the value it panicked with: the step fails,
// as a panic on the step's own goroutine makes it.
func parallel(n int, f func(i int) error) error {
	switch {
	case n <= 0:
		return nil
	case n == 1:
		return f(0) // a panic goes up the caller's goroutine, as it would
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = protected(f, i)
		}()
	}
	errs[0] = protected(f, 0)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
