// Package runtime executes a circuit of package ir one step at a time.
//
// A step takes one batch of changes per input table and the time of the
// step (which the program's now() reads), turns the changes into
// Z-sets (resolving updates and deletes by primary key, as SQL does),
// computes every node's output changes in topological order while reading
// operator state as of the previous step, and then commits the state
// writes, the tables' new contents and the views' integrated contents
// together. A step that fails anywhere (a bad row, a duplicate key, a
// division by zero) commits nothing: the engine is left as it was.
//
// A fixpoint node (a recursive view) runs its body as many times as its
// fixpoint needs within the step, semi-naively and by DRed under
// deletions; the iterations read one another's state writes through an
// overlay of the store, which reaches the store only when the step
// commits.
//
// With Options.Workers above one, an engine over a MemoryStore runs as
// DBSP's workers do: the store splits every index's and aggregate's
// state by a fixed hash of its key over as many partitions, and so are
// the keyed tables' rows by primary key; a stateful operator given
// enough changes in a step (Options.ParallelBatch) splits them by the
// same key (the exchange), runs each partition's share against that
// partition's state on a goroutine of its own, and concatenates the
// outputs in partition order. Each partition is one goroutine's alone
// within an operator, so no lock guards the state. The state writes
// still wait for the commit, so a step on several workers is as atomic
// as on one, and its results are the same; only the order of a batch's
// changes differs, and a failing node reports the error of its first
// bad change in row-key order, whatever the order and the number of
// workers. Fixpoints, temporal filters and their ordered indexes run on
// one worker.
//
// Operator state lives in a Store. MemoryStore, the embedded default,
// keeps it in hash maps and B-trees; package runtime/postgres keeps it in
// Postgres tables and runs programs against a live database.
package runtime
