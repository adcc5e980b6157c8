package typecheck

import (
	"strings"

	"github.com/stepping-io/stepping/lang"
	"github.com/stepping-io/stepping/types"
)

// Catalog describes the existing Postgres tables a program's sources name.
// Checking with a catalog gives a source without declared columns its row
// type, and checks a declared row type against the live table.
//
// It is how the checker learns of tables outside the file, as go/types
// learns of other packages through its Config.Importer. Unlike Importer it
// returns no error: the checker does no I/O, so a catalog kept in a
// database is read before checking (package pgcatalog reads the tables
// that CatalogNames lists), and a failure to read it is the reader's
// error, not a diagnostic of the program.
type Catalog interface {
	// Table returns the table that a name refers to, given in its parts
	// as the program writes it (["orders"] or ["shop", "orders"]), or nil
	// when there is no such table. The checker asks only for names of
	// one or two parts.
	Table(name []string) *CatalogTable
}

// MapCatalog is a Catalog held in memory, keyed by the name as written with
// its parts joined by dots ("orders", "shop.orders"). A name it lacks, or
// maps to nil, is a table the database does not have.
type MapCatalog map[string]*CatalogTable

// Table returns the table m holds for name, or nil.
func (m MapCatalog) Table(name []string) *CatalogTable { return m[qualified(name)] }

// CatalogTable is a table as the database describes it.
type CatalogTable struct {
	Schema     string
	Name       string
	Columns    []CatalogColumn
	PrimaryKey []string
}

// CatalogColumn is one column of a catalog table. Unsupported is the
// Postgres type's name when stepping has no type for it; Type is then
// invalid.
type CatalogColumn struct {
	Name        string
	Type        types.Type
	Unsupported string
}

// CatalogNames returns the table names, in their parts as written, that
// checking f against a catalog asks it for: those of its sources and of
// its declared tables (which, against a database, are the database's
// tables of those names). Each name appears once, in the order of the
// declarations; a name of more than two parts, which the checker rejects
// without asking, is left out. A reader of a database's catalog loads
// these tables before calling Check.
func CatalogNames(f *lang.File) [][]string {
	var names [][]string
	seen := map[string]bool{}
	for _, d := range f.Decls {
		var parts []string
		switch d := d.(type) {
		case *lang.SourceDecl:
			parts = d.Table.Parts
		case *lang.TableDecl:
			parts = []string{d.Name.Name}
		default:
			continue
		}
		written := qualified(parts)
		if seen[written] || len(parts) > 2 {
			continue
		}
		seen[written] = true
		names = append(names, parts)
	}
	return names
}

// qualified is a table name as the program writes it, and as diagnostics
// print it.
func qualified(parts []string) string { return strings.Join(parts, ".") }
