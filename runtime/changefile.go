package runtime

import (
	"bytes"
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
	"time"
	"unicode/utf8"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/types"
	"github.com/stepping-io/stepping/zset"
)

// Batches is a sequence of steps read from change files: for each step
// number, in increasing order, the changes to each table, and the clock
// when a _clock file sets it.
type Batches struct {
	Steps   []int64
	Changes map[int64]map[string][]Change
	// Clock holds the times set by the _clock file, by step; nil without
	// one.
	Clock map[int64]time.Time
}

// ClockFile is the name, without extension, of the data file that sets
// the clock per step.
const ClockFile = "_clock"

// ClockAt returns the clock of step n: the time of the latest clock
// entry at or before n. It reports false when there is no _clock file;
// the caller's clock then decides.
func (b *Batches) ClockAt(n int64) (time.Time, bool, error) {
	if b.Clock == nil {
		return time.Time{}, false, nil
	}
	best := int64(-1)
	for s := range b.Clock {
		if s <= n && s > best {
			best = s
		}
	}
	if best < 0 {
		return time.Time{}, false, fmt.Errorf("step %d has no clock: the %s file sets none at or before it", n, ClockFile)
	}
	return b.Clock[best], true, nil
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
		if strings.TrimSuffix(name, ext) == ClockFile {
			if tables[ClockFile] {
				return nil, fmt.Errorf("%s: a table named %s can't be given data files: %s sets the clock", filepath.Join(dir, name), ClockFile, name)
			}
			if err := b.readClock(filepath.Join(dir, name), ext); err != nil {
				return nil, err
			}
			continue
		}
		if !tables[strings.TrimSuffix(name, ext)] {
			return nil, fmt.Errorf("%s: the program declares no table %s", filepath.Join(dir, name), strings.TrimSuffix(name, ext))
		}
	}
	for _, in := range inputs {
		for _, ext := range []string{".csv", ".jsonl"} {
			path := filepath.Join(dir, in.Name+ext)
			data, err := readDataFile(path)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if ext == ".csv" {
				err = b.readCSV(data, path, in)
			} else {
				err = b.readJSONL(data, path, in)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	for s := range b.Changes {
		b.Steps = append(b.Steps, s)
	}
	for s := range b.Clock {
		if _, ok := b.Changes[s]; !ok {
			b.Steps = append(b.Steps, s)
		}
	}
	sort.Slice(b.Steps, func(i, j int) bool { return b.Steps[i] < b.Steps[j] })
	return b, nil
}

// readClock reads a _clock file: one row per step setting the clock,
// with the columns _step and now (a timestamptz).
func (b *Batches) readClock(path, ext string) error {
	b.Clock = map[int64]time.Time{}
	data, err := readDataFile(path)
	if err != nil {
		return err
	}
	set := func(where string, stepText, nowText string) error {
		step, _, err := parseMeta(stepText, "")
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if _, dup := b.Clock[step]; dup {
			return fmt.Errorf("%s: the clock of step %d is set twice", where, step)
		}
		v, err := types.Parse(nowText, types.Of(types.Timestamptz))
		if err != nil {
			return fmt.Errorf("%s: now: %w", where, err)
		}
		b.Clock[step] = v.(time.Time)
		return nil
	}
	if ext == ".jsonl" {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		for line := 1; ; line++ {
			var obj map[string]any
			if err := dec.Decode(&obj); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: object %d: %w", path, line, err)
			}
			where := fmt.Sprintf("%s: object %d", path, line)
			now, ok := obj["now"].(string)
			if !ok || len(obj) > 2 || len(obj) == 2 && obj["_step"] == nil {
				return fmt.Errorf("%s: want {\"_step\": n, \"now\": \"time\"}", where)
			}
			step := ""
			if v, ok := obj["_step"]; ok {
				step = fmt.Sprint(v)
			}
			if err := set(where, step, now); err != nil {
				return err
			}
		}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("%s: reading header: %w", path, err)
	}
	stepCol, nowCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "_step":
			stepCol = i
		case "now":
			nowCol = i
		default:
			return fmt.Errorf("%s:1: the clock file has the columns _step and now, not %s", path, h)
		}
	}
	if nowCol < 0 {
		return fmt.Errorf("%s:1: the header has no column now", path)
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
		step := ""
		if stepCol >= 0 {
			step = rec[stepCol]
		}
		if err := set(fmt.Sprintf("%s:%d", path, line), step, rec[nowCol]); err != nil {
			return err
		}
	}
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

func (b *Batches) readCSV(data []byte, path string, in *ir.Input) error {
	cr := csv.NewReader(bytes.NewReader(data))
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
				fl, fc := cr.FieldPos(i)
				return fmt.Errorf("%s:%d:%d: column %s: %w", path, fl, fc, in.Columns[c].Name, err)
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

// readJSONL reads one JSON object per change. It walks each object's
// tokens itself, rather than decoding it whole, so that an error in a
// value can name the line and column where the value starts.
func (b *Batches) readJSONL(data []byte, path string, in *ir.Input) error {
	pos := newPositions(path, data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for n := 1; ; n++ {
		start := skipSpace(data, int(dec.InputOffset()))
		if start == len(data) {
			return nil
		}
		obj, offsets, err := decodeObject(dec, data)
		if err != nil {
			return fmt.Errorf("%s: object %d: %w", pos.at(start), n, err)
		}
		at := make(map[string]string, len(offsets))
		for k, off := range offsets {
			at[k] = pos.at(off)
		}
		if err := b.addJSONObject(obj, at, pos.at(start), in); err != nil {
			return err
		}
	}
}

// addJSONObject adds the change one JSONL object describes: at holds
// the position of each of its values, where that of the object.
func (b *Batches) addJSONObject(obj map[string]any, at map[string]string, where string, in *ir.Input) error {
	var stepText, opText string
	if v, ok := obj["_step"]; ok {
		stepText = fmt.Sprint(v)
	}
	if v, ok := obj["_op"]; ok {
		opText = fmt.Sprint(v)
	}
	step, op, err := parseMeta(stepText, opText)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	row := make(zset.Row, len(in.Columns))
	for j, col := range in.Columns {
		if _, ok := obj[col.Name]; !ok && !(op == Delete && len(in.PrimaryKey) > 0 && !isKey(in, j)) {
			return fmt.Errorf("%s: no value for column %s", where, col.Name)
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
			return fmt.Errorf("%s: table %s has no column %s", at[k], in.Name, k)
		}
		if op == Delete && len(in.PrimaryKey) > 0 && !isKey(in, c) {
			continue
		}
		if hasNUL(v) {
			return fmt.Errorf("%s: column %s: text can't hold the NUL character (\\u0000), as in Postgres", at[k], k)
		}
		if row[c], err = types.FromJSON(v, in.Columns[c].Type); err != nil {
			return fmt.Errorf("%s: column %s: %w", at[k], k, err)
		}
	}
	b.add(step, in.Name, Change{Op: op, Row: row, Origin: where})
	return nil
}

// decodeObject reads one JSON object from dec, whose input is data, and
// returns it with the offset in data where each value starts.
func decodeObject(dec *json.Decoder, data []byte) (map[string]any, map[string]int, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, fmt.Errorf("want a JSON object, got %v", tok)
	}
	obj, at := map[string]any{}, map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		key := tok.(string) // the decoder allows only strings here
		// The value starts after the colon and any space.
		off := skipSpace(data, int(dec.InputOffset()))
		if off < len(data) && data[off] == ':' {
			off = skipSpace(data, off+1)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		obj[key], at[key] = v, off
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, nil, err
	}
	return obj, at, nil
}

// utf8BOM is the byte-order mark some editors put at the start of a
// UTF-8 file; it is not part of the data.
const utf8BOM = "\xef\xbb\xbf"

// readDataFile reads a CSV or JSONL data file without a leading
// byte-order mark (else it would join the first column's name) and
// checks that it is text Postgres would take: UTF-8 without NUL bytes.
// The in-memory engine would hold anything, and so accept files that
// the Postgres one then refuses.
func readDataFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bom := 0
	if rest, ok := bytes.CutPrefix(data, []byte(utf8BOM)); ok {
		data, bom = rest, len(utf8BOM)
	}
	if off, msg := checkText(data); msg != "" {
		p := newPositions(path, data)
		where := p.at(off)
		if p.line(off) == 1 {
			// Columns count bytes of the file, the mark included.
			where = fmt.Sprintf("%s:1:%d", path, off+1+bom)
		}
		return nil, fmt.Errorf("%s: %s", where, msg)
	}
	return data, nil
}

// checkText returns the offset of the first NUL byte or byte that is not
// part of valid UTF-8 in data, and what is wrong there; "" when none.
func checkText(data []byte) (int, string) {
	for off := 0; off < len(data); {
		r, size := utf8.DecodeRune(data[off:])
		switch {
		case r == utf8.RuneError && size == 1:
			return off, fmt.Sprintf("invalid UTF-8: byte 0x%02x (Postgres takes only UTF-8 text)", data[off])
		case r == 0:
			return off, "a NUL byte (Postgres text can't hold one)"
		}
		off += size
	}
	return 0, ""
}

// hasNUL reports whether a decoded JSON value holds a string with a NUL
// character, which JSON can write as \u0000 but Postgres text and jsonb
// refuse.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.IndexByte(x, 0) >= 0
	case []any:
		return slices.ContainsFunc(x, hasNUL)
	case map[string]any:
		for k, e := range x {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// skipSpace returns the offset of the first byte at or after off in data
// that is not JSON white space.
func skipSpace(data []byte, off int) int {
	for off < len(data) && strings.IndexByte(" \t\r\n", data[off]) >= 0 {
		off++
	}
	return off
}

// positions turns byte offsets in a file into file:line:col, the column
// counting bytes from 1 as Go's tools do.
type positions struct {
	path   string
	starts []int // the offset at which each line starts
}

func newPositions(path string, data []byte) *positions {
	p := &positions{path: path, starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			p.starts = append(p.starts, i+1)
		}
	}
	return p
}

// line returns the line, from 1, of offset off.
func (p *positions) line(off int) int {
	i, found := slices.BinarySearch(p.starts, off)
	if found {
		return i + 1
	}
	return i
}

// at returns the position of offset off as file:line:col.
func (p *positions) at(off int) string {
	l := p.line(off)
	return fmt.Sprintf("%s:%d:%d", p.path, l, off-p.starts[l-1]+1)
}
