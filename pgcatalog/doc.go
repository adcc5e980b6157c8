// Package pgcatalog reads the description of existing tables from a
// Postgres database's pg_catalog, for the type checker: Load returns a
// typecheck.MapCatalog of the tables a parsed file names, each with its
// columns, their stepping types (or the name of a Postgres type stepping
// does not support) and its primary key.
//
// It is the only part of the front end that does I/O or depends on the
// pgx driver: package typecheck sees a catalog through its Catalog
// interface alone, so the checker, and a program built on lang,
// typecheck and ir without this package, links no Postgres driver. It
// does not run programs against Postgres; that is the runtime's Postgres
// runner.
package pgcatalog
