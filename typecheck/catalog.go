package typecheck

import (
	"strings"

	"github.com/stepping-io/stepping/types"
)

// Catalog describes the existing Postgres tables a program's sources name,
// as read from a database by LoadCatalog. Checking with a catalog gives a
// source without declared columns its row type, and checks a declared row
// type against the live table.
type Catalog struct {
	// Tables maps the name written in the program ("orders" or
	// "shop.orders") to the table, or to nil when the database has none.
	Tables map[string]*CatalogTable
}

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

// SourceNames returns the table names a parsed file's sources refer to,
// as written, for LoadCatalog to look up.
func qualified(parts []string) string { return strings.Join(parts, ".") }
