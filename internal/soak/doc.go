// Package soak holds the Postgres soak test: every example program and a
// set of generated programs run on the Postgres runtime against random SQL
// (multi-statement transactions, key and bulk updates, NULLs, duplicates,
// equal values spelled differently), with random batch sizes, cut
// connections and SIGKILLed stepq runners, and after every round each
// output table must equal a recomputation from scratch, row for row in its
// text form. It has no code of its own outside its tests.
package soak
