// Package tablefmt prints rows as psql prints a table: aligned columns,
// numbers on the right, a rule under the header and a row count.
package tablefmt

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Write prints rows aligned as psql does: a header, a rule, one line
// per row (a row of weight n > 1 appears n times) and a row count. With
// weights, each distinct row appears once with a weight column, as change
// batches are shown.
func Write(w io.Writer, cols []ir.Column, z *zset.ZSet, weights bool) error {
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
	var rows [][]string
	for _, e := range z.Entries() {
		cells := make([]string, 0, len(header))
		for i, v := range e.Row {
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
	return Cells(w, header, numeric, rows)
}

// Cells prints rows of cells aligned as psql prints a table, in the
// order given: a header, a rule, one line per row, numeric columns
// right-aligned, and a row count. Write prints through it; it also
// serves listings that are not rows of a view, such as stepq repl's
// :describe.
func Cells(w io.Writer, header []string, numeric []bool, rows [][]string) error {
	count := len(rows)
	width := make([]int, len(header))
	for i, h := range header {
		width[i] = utf8.RuneCountInString(h)
	}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for i, h := range header {
		if i > 0 {
			b.WriteString("|")
		}
		pad := width[i] - utf8.RuneCountInString(h)
		fmt.Fprintf(&b, " %s%s%s ", strings.Repeat(" ", pad/2), h, strings.Repeat(" ", pad-pad/2))
	}
	b.WriteString("\n")
	for i := range header {
		if i > 0 {
			b.WriteString("+")
		}
		b.WriteString(strings.Repeat("-", width[i]+2))
	}
	b.WriteString("\n")
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteString("|")
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if numeric[i] {
				fmt.Fprintf(&b, " %s%s ", pad, c)
			} else {
				fmt.Fprintf(&b, " %s%s ", c, pad)
			}
		}
		b.WriteString("\n")
	}
	if count == 1 {
		b.WriteString("(1 row)\n")
	} else {
		fmt.Fprintf(&b, "(%d rows)\n", count)
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n"))
	return err
}
