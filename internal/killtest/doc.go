// Package killtest holds the crash test of the Postgres runtime: it runs
// the stepq binary against a real database, kills it with SIGKILL at
// random moments while rows change under ordinary SQL, restarts it, and
// checks that the outputs end equal to recomputation. It has no code of
// its own outside its test.
package killtest
