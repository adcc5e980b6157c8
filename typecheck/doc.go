// Package typecheck gives a parsed .step file its meaning: it resolves
// names in scopes, types every expression, checks nullability and builds
// the typed program (a tree of relational operators over typed
// expressions) that package ir lowers to a circuit.
//
// Like go/types it reports every error of a run, each positioned, and goes
// on after one with an invalid type that suppresses follow-on errors. It
// does not keep the syntax tree alive in its result: the typed program
// refers to positions only for diagnostics, so ir never depends on lang.
//
// Like go/types, too, it does no I/O. The existing Postgres tables that a
// program's sources read reach it through Config.Catalog, an interface
// (as packages reach go/types through Config.Importer): MapCatalog holds
// tables in memory, and package pgcatalog, which alone depends on the
// Postgres driver, fills one from a database with the tables that
// CatalogNames lists. typecheck depends only on lang, stdlib and types.
package typecheck
