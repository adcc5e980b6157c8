// Package lockfile renders a lowered circuit as a lock file, the text a
// program's author commits beside it (FILE.step.lock), and parses and
// compares lock files: which views and outputs were added, removed or
// changed, and which views must be rebuilt because of it.
//
// A lock file is one fact a line, each line beginning with the kind and
// the name of what it describes:
//
//	input NAME column COL TYPE
//	view NAME uses input line_items (basket_id, product_name, qty)
//	view NAME op #1 = join on (...) == (...) <- #2, input line_items
//	output NAME primary key (COL, ...)
//
// so that a change to one view changes only that view's lines, its
// version line, and the version lines of the views that read it. The
// package owns the format; it does not compile programs (the caller gives
// it an *ir.Circuit) nor read or write files.
package lockfile
