// Package tablefmt prints rows as psql prints a table: aligned columns,
// numbers on the right, a rule under the header and a row count; or,
// when asked, expanded (a record per row), as CSV or as JSON lines.
package tablefmt

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mattn/go-runewidth"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Format is how rows are printed.
type Format string

// The formats, as the REPL's :format names them.
const (
	Aligned Format = "aligned" // psql's table, the default
	CSV     Format = "csv"     // a header line, then a line per row (RFC 4180)
	JSON    Format = "json"    // a JSON object per row, one a line
)

// Options say how rows are printed; the zero value prints psql's table.
type Options struct {
	Format Format
	// Null is how a NULL is shown in the aligned and CSV formats (psql's
	// \pset null): empty by default, as psql shows it.
	Null string
	// Expanded prints each row as a record of column | value lines, as
	// psql's \x does: for rows wider than the terminal.
	Expanded bool
}

// Write prints rows aligned as psql does: a header, a rule, one line
// per row (a row of weight n > 1 appears n times) and a row count. With
// weights, each distinct row appears once with a weight column, as change
// batches are shown.
func Write(w io.Writer, cols []ir.Column, z *zset.ZSet, weights bool) error {
	return WriteOptions(w, cols, z, weights, Options{})
}

// WriteOptions is Write with options.
func WriteOptions(w io.Writer, cols []ir.Column, z *zset.ZSet, weights bool, opts Options) error {
	header := make([]string, 0, len(cols)+1)
	numeric := make([]bool, 0, len(cols)+1)
	for _, c := range cols {
		header = append(header, c.Name)
		numeric = append(numeric, c.Type.IsNumeric())
	}
	if weights {
		header = append(header, "weight")
		numeric = append(numeric, true)
	}
	if opts.Format == JSON {
		return writeJSON(w, cols, z, weights)
	}
	var rows [][]string
	for _, e := range z.Entries() {
		cells := make([]string, 0, len(header))
		for i, v := range e.Row {
			if v == nil {
				cells = append(cells, opts.Null)
				continue
			}
			cells = append(cells, types.Format(v, cols[i].Type))
		}
		if weights {
			rows = append(rows, append(cells, strconv.FormatInt(e.Weight, 10)))
			continue
		}
		for range e.Weight {
			rows = append(rows, cells)
		}
	}
	return CellsOptions(w, header, numeric, rows, opts)
}

// writeJSON prints a JSON object per row, one a line, each value as the
// types package encodes it (numerics as strings, to keep their digits);
// with weights each object has a "weight" too.
func writeJSON(w io.Writer, cols []ir.Column, z *zset.ZSet, weights bool) error {
	var line []byte
	for _, e := range z.Entries() {
		line = append(line[:0], '{')
		for i, v := range e.Row {
			if i > 0 {
				line = append(line, ',')
			}
			name, _ := json.Marshal(cols[i].Name)
			line = append(append(line, name...), ':')
			line = types.AppendJSON(line, v, cols[i].Type)
		}
		if weights {
			line = append(line, `,"weight":`...)
			line = strconv.AppendInt(line, e.Weight, 10)
		}
		line = append(line, "}\n"...)
		n := int64(1)
		if !weights {
			n = e.Weight
		}
		for range n {
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
	}
	return nil
}

// Cells prints rows of cells aligned as psql prints a table, in the
// order given: a header, a rule, one line per row, numeric columns
// right-aligned, and a row count. Write prints through it; it also
// serves listings that are not rows of a view, such as stepq repl's
// :describe.
func Cells(w io.Writer, header []string, numeric []bool, rows [][]string) error {
	return CellsOptions(w, header, numeric, rows, Options{})
}

// CellsOptions is Cells in the format and layout opts say (a JSON
// format prints the cells as strings).
func CellsOptions(w io.Writer, header []string, numeric []bool, rows [][]string, opts Options) error {
	switch {
	case opts.Format == CSV:
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	case opts.Format == JSON:
		for _, r := range rows {
			obj := make(map[string]string, len(r))
			for i, c := range r {
				obj[header[i]] = c
			}
			line, err := json.Marshal(obj)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
				return err
			}
		}
		return nil
	case opts.Expanded:
		return expanded(w, header, rows)
	}
	return aligned(w, header, numeric, rows)
}

// width is the width of s on a terminal: wide characters (東京, most
// emoji) take two columns, combining marks none.
func width(s string) int { return runewidth.StringWidth(s) }

// aligned prints psql's table.
func aligned(w io.Writer, header []string, numeric []bool, rows [][]string) error {
	count := len(rows)
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = width(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], width(c))
		}
	}
	var b strings.Builder
	for i, h := range header {
		if i > 0 {
			b.WriteString("|")
		}
		pad := widths[i] - width(h)
		fmt.Fprintf(&b, " %s%s%s ", strings.Repeat(" ", pad/2), h, strings.Repeat(" ", pad-pad/2))
	}
	b.WriteString("\n")
	for i := range header {
		if i > 0 {
			b.WriteString("+")
		}
		b.WriteString(strings.Repeat("-", widths[i]+2))
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteString("|")
			}
			pad := strings.Repeat(" ", widths[i]-width(c))
			if numeric[i] {
				fmt.Fprintf(&b, " %s%s ", pad, c)
			} else {
				fmt.Fprintf(&b, " %s%s ", c, pad)
			}
		}
		b.WriteString("\n")
	}
	writeCount(&b, count)
	return writeTrimmed(w, b.String())
}

// expanded prints each row as psql's \x does: a rule naming the record,
// then a line per column, name | value.
func expanded(w io.Writer, header []string, rows [][]string) error {
	nameWidth := 0
	for _, h := range header {
		nameWidth = max(nameWidth, width(h))
	}
	var b strings.Builder
	for n, r := range rows {
		fmt.Fprintf(&b, "-[ RECORD %d ]%s\n", n+1, strings.Repeat("-", nameWidth))
		for i, c := range r {
			fmt.Fprintf(&b, "%s%s | %s\n", header[i], strings.Repeat(" ", nameWidth-width(header[i])), c)
		}
	}
	writeCount(&b, len(rows))
	return writeTrimmed(w, b.String())
}

func writeCount(b *strings.Builder, count int) {
	if count == 1 {
		b.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(b, "(%d rows)\n", count)
	}
}

// writeTrimmed writes text with each line's trailing blanks removed.
func writeTrimmed(w io.Writer, text string) error {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}
