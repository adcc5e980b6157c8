package runtime

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Batches is a sequence of steps read from change files: for each step
// number, in increasing order, the changes to each table.
type Batches struct {
	Steps   []int64
	Changes map[int64]map[string][]Change
}

// LoadChangeDir reads TABLE.csv or TABLE.jsonl for each input from dir.
// Each row may carry the meta columns _step (default 1) and _op (insert,
// delete or update; default insert). A table with no file has no changes;
// a file that names no table is an error. A missing directory is an error
// when mustExist, and otherwise means no changes at all.
func LoadChangeDir(dir string, mustExist bool, inputs []*ir.Input) (*Batches, error) {
	b := &Batches{Changes: map[int64]map[string][]Change{}}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) && !mustExist {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	tables := map[string]bool{}
	for _, in := range inputs {
		tables[in.Name] = true
	}
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if ext != ".csv" && ext != ".jsonl" || e.IsDir() {
			continue
		}
		if !tables[strings.TrimSuffix(name, ext)] {
			return nil, fmt.Errorf("%s: the program declares no table %s", filepath.Join(dir, name), strings.TrimSuffix(name, ext))
		}
	}
	for _, in := range inputs {
		for _, ext := range []string{".csv", ".jsonl"} {
			path := filepath.Join(dir, in.Name+ext)
			f, err := os.Open(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if ext == ".csv" {
				err = b.readCSV(f, path, in)
			} else {
				err = b.readJSONL(f, path, in)
			}
			f.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	for s := range b.Changes {
		b.Steps = append(b.Steps, s)
	}
	sort.Slice(b.Steps, func(i, j int) bool { return b.Steps[i] < b.Steps[j] })
	return b, nil
}

func (b *Batches) add(step int64, table string, c Change) {
	m, ok := b.Changes[step]
	if !ok {
		m = map[string][]Change{}
		b.Changes[step] = m
	}
	m[table] = append(m[table], c)
}

func parseMeta(stepText, opText string) (int64, Op, error) {
	step := int64(1)
	if stepText != "" {
		n, err := strconv.ParseInt(stepText, 10, 64)
		if err != nil || n < 1 {
			return 0, 0, fmt.Errorf("_step must be a whole number from 1, not %q", stepText)
		}
		step = n
	}
	switch strings.ToLower(opText) {
	case "", "insert", "+":
		return step, Insert, nil
	case "delete", "-":
		return step, Delete, nil
	case "update":
		return step, Update, nil
	}
	return 0, 0, fmt.Errorf("_op must be insert, delete or update, not %q", opText)
}

func (b *Batches) readCSV(r io.Reader, path string, in *ir.Input) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: reading header: %w", path, err)
	}
	cols, stepCol, opCol, err := mapHeader(header, in)
	if err != nil {
		return fmt.Errorf("%s:1: %w", path, err)
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return fmt.Errorf("%s:%d: %d fields, header has %d", path, line, len(rec), len(header))
		}
		var stepText, opText string
		if stepCol >= 0 {
			stepText = rec[stepCol]
		}
		if opCol >= 0 {
			opText = rec[opCol]
		}
		step, op, err := parseMeta(stepText, opText)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
		row := make(zset.Row, len(in.Columns))
		for i, field := range rec {
			c := cols[i]
			if c < 0 || field == `\N` || op == Delete && len(in.PrimaryKey) > 0 && !isKey(in, c) {
				continue
			}
			v, err := types.Parse(field, in.Columns[c].Type)
			if err != nil {
				return fmt.Errorf("%s:%d: column %s: %w", path, line, in.Columns[c].Name, err)
			}
			row[c] = v
		}
		b.add(step, in.Name, Change{Op: op, Row: row, Origin: fmt.Sprintf("%s:%d", path, line)})
	}
}

// mapHeader maps each header field to a column index (-1 for meta
// columns) and finds the meta columns.
func mapHeader(header []string, in *ir.Input) (cols []int, stepCol, opCol int, err error) {
	stepCol, opCol = -1, -1
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch h {
		case "_step":
			stepCol = i
			cols = append(cols, -1)
			continue
		case "_op":
			opCol = i
			cols = append(cols, -1)
			continue
		}
		c := -1
		for j, col := range in.Columns {
			if col.Name == h {
				c = j
			}
		}
		if c < 0 {
			return nil, 0, 0, fmt.Errorf("table %s has no column %s", in.Name, h)
		}
		cols = append(cols, c)
	}
	for j, col := range in.Columns {
		if !slices.Contains(cols, j) {
			return nil, 0, 0, fmt.Errorf("the header has no column %s of table %s", col.Name, in.Name)
		}
	}
	return cols, stepCol, opCol, nil
}

func isKey(in *ir.Input, c int) bool { return slices.Contains(in.PrimaryKey, c) }

func (b *Batches) readJSONL(r io.Reader, path string, in *ir.Input) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for line := 1; ; line++ {
		var obj map[string]any
		err := dec.Decode(&obj)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: object %d: %w", path, line, err)
		}
		var stepText, opText string
		if v, ok := obj["_step"]; ok {
			stepText = fmt.Sprint(v)
		}
		if v, ok := obj["_op"]; ok {
			opText = fmt.Sprint(v)
		}
		step, op, err := parseMeta(stepText, opText)
		if err != nil {
			return fmt.Errorf("%s: object %d: %w", path, line, err)
		}
		row := make(zset.Row, len(in.Columns))
		for j, col := range in.Columns {
			if _, ok := obj[col.Name]; !ok && !(op == Delete && len(in.PrimaryKey) > 0 && !isKey(in, j)) {
				return fmt.Errorf("%s: object %d: no value for column %s", path, line, col.Name)
			}
		}
		for k, v := range obj {
			if k == "_step" || k == "_op" {
				continue
			}
			c := -1
			for j, col := range in.Columns {
				if col.Name == k {
					c = j
				}
			}
			if c < 0 {
				return fmt.Errorf("%s: object %d: table %s has no column %s", path, line, in.Name, k)
			}
			if op == Delete && len(in.PrimaryKey) > 0 && !isKey(in, c) {
				continue
			}
			if row[c], err = types.FromJSON(v, in.Columns[c].Type); err != nil {
				return fmt.Errorf("%s: object %d: column %s: %w", path, line, k, err)
			}
		}
		b.add(step, in.Name, Change{Op: op, Row: row, Origin: fmt.Sprintf("%s:%d", path, line)})
	}
}
