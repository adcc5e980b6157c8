package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/stepping-io/stepping/internal/tablefmt"
	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// outputFormat is how run and watch print rows and changes: aligned as
// psql prints tables (for people), or one JSON object or CSV line per row
// (for programs).
type outputFormat string

// The formats of --format.
const (
	formatAligned outputFormat = "aligned"
	formatJSONL   outputFormat = "jsonl"
	formatCSV     outputFormat = "csv"
)

// parseFormat checks a --format value.
func parseFormat(s string) (outputFormat, error) {
	switch f := outputFormat(s); f {
	case formatAligned, formatJSONL, formatCSV:
		return f, nil
	}
	return "", usageError("--format wants aligned, jsonl or csv, not %q", s)
}

// printer prints a command's rows and changes in one format, keeping
// what it must between calls: whether anything was printed (aligned
// tables are separated by a blank line) and the last CSV header.
type printer struct {
	w       io.Writer
	format  outputFormat
	printed bool
	header  string
}

// rows prints a view's rows: aligned under the view's name; as JSON,
// {"view": V, "row": {...}} per row (repeated as many times as it is
// there); as CSV, a line per row under a header view, then the columns.
func (p *printer) rows(view string, cols []ir.Column, z *zset.ZSet) error {
	return p.print(view, cols, z, -1)
}

// changes prints a step's changes to a view: aligned under "step N: V"
// with a weight column; as JSON, {"step": N, "view": V, "weight": W,
// "row": {...}} per changed row; as CSV, step, view, weight, then the
// columns.
func (p *printer) changes(step int64, view string, cols []ir.Column, z *zset.ZSet) error {
	return p.print(view, cols, z, step)
}

// print prints rows (step < 0) or a step's changes.
func (p *printer) print(view string, cols []ir.Column, z *zset.ZSet, step int64) error {
	changes := step >= 0
	switch p.format {
	case formatJSONL:
		return p.jsonLines(view, cols, z, step)
	case formatCSV:
		return p.csvLines(view, cols, z, step)
	}
	if p.printed {
		fmt.Fprintln(p.w)
	}
	p.printed = true
	if changes {
		fmt.Fprintf(p.w, "step %d: %s\n", step, view)
	} else {
		fmt.Fprintf(p.w, "%s\n", view)
	}
	return tablefmt.Write(p.w, cols, z, changes)
}

func (p *printer) jsonLines(view string, cols []ir.Column, z *zset.ZSet, step int64) error {
	name, _ := json.Marshal(view)
	var line []byte
	for _, e := range z.Entries() {
		line = line[:0]
		if step >= 0 {
			line = append(strconv.AppendInt(append(line, `{"step":`...), step, 10), ',')
		} else {
			line = append(line, '{')
		}
		line = append(append(append(line, `"view":`...), name...), ',')
		if step >= 0 {
			line = append(strconv.AppendInt(append(line, `"weight":`...), e.Weight, 10), ',')
		}
		line = append(line, `"row":{`...)
		for i, v := range e.Row {
			if i > 0 {
				line = append(line, ',')
			}
			col, _ := json.Marshal(cols[i].Name)
			line = types.AppendJSON(append(append(line, col...), ':'), v, cols[i].Type)
		}
		line = append(line, "}}\n"...)
		copies := int64(1)
		if step < 0 {
			copies = e.Weight
		}
		for range copies {
			if _, err := p.w.Write(line); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *printer) csvLines(view string, cols []ir.Column, z *zset.ZSet, step int64) error {
	header := []string{"view"}
	if step >= 0 {
		header = []string{"step", "view", "weight"}
	}
	for _, c := range cols {
		header = append(header, c.Name)
	}
	// A header whenever the columns change: a blank line, then it.
	var b strings.Builder
	if h := strings.Join(header, ","); h != p.header {
		if p.header != "" {
			b.WriteString("\n")
		}
		p.header = h
		for i, name := range header {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(name))
		}
		b.WriteByte('\n')
	}
	for _, e := range z.Entries() {
		var line strings.Builder
		if step >= 0 {
			fmt.Fprintf(&line, "%d,%s,%d", step, csvField(view), e.Weight)
		} else {
			line.WriteString(csvField(view))
		}
		for i, v := range e.Row {
			line.WriteByte(',')
			// NULL is an empty field, the empty string "", as Postgres's
			// COPY ... CSV writes them.
			if v != nil {
				line.WriteString(csvField(types.Format(v, cols[i].Type)))
			}
		}
		line.WriteByte('\n')
		copies := int64(1)
		if step < 0 {
			copies = e.Weight
		}
		for range copies {
			b.WriteString(line.String())
		}
	}
	_, err := io.WriteString(p.w, b.String())
	return err
}

// csvField quotes a CSV field where RFC 4180 needs it, and always when
// it is empty, so that it differs from NULL.
func csvField(s string) string {
	if s != "" && !strings.ContainsAny(s, ",\"\r\n") && s[0] != ' ' && s[len(s)-1] != ' ' {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
