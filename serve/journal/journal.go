package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// The operations an Entry records, as its Op field spells them.
const (
	// OpInsert adds rows; Rows are the full rows inserted.
	OpInsert = "insert"
	// OpUpdate replaces rows; Rows are the full new rows, which carry
	// their keys.
	OpUpdate = "update"
	// OpDelete removes rows; Rows hold the key columns of each row.
	OpDelete = "delete"
)

// Entry is one accepted write, as the server applied it.
type Entry struct {
	// Table is the program's table the write changed.
	Table string `json:"table"`
	// Op is OpInsert, OpUpdate or OpDelete.
	Op string `json:"op"`
	// Rows are JSON objects, values encoded as docs/serve.md says.
	Rows []json.RawMessage `json:"rows"`
}

// validate reports what makes e unfit to record or to replay: an entry
// the server could not apply again is refused on the way in rather than
// found on the next start.
func (e Entry) validate() error {
	if e.Table == "" {
		return errors.New("entry has no table")
	}
	switch e.Op {
	case OpInsert, OpUpdate, OpDelete:
	default:
		return fmt.Errorf("entry for table %q has op %q, want %q, %q or %q",
			e.Table, e.Op, OpInsert, OpUpdate, OpDelete)
	}
	for i, row := range e.Rows {
		if t := bytes.TrimLeft(row, " \t\r\n"); len(t) == 0 || t[0] != '{' {
			return fmt.Errorf("entry for table %q: row %d is not a JSON object", e.Table, i+1)
		}
	}
	return nil
}

// file is what the journal needs of its file; *os.File has it. Tests
// put a fake in its place to see that every append is synced.
type file interface {
	io.Writer
	io.ReaderAt
	Sync() error
	Truncate(size int64) error
	Stat() (os.FileInfo, error)
	Close() error
}

// Journal is an append-only file of entries. Its methods are safe for
// concurrent use.
//
// Appends commit in groups: each writes its line under mu, in turn, then
// waits for a sync under syncMu, and one sync covers every line written
// before it started. Concurrent appends so share syncs instead of
// queueing for one each, and each still returns only once its own line
// is on disk. Lock order: syncMu before mu.
type Journal struct {
	path string

	syncMu sync.Mutex
	synced uint64 // lines on disk: the lines written before the last sync began
	// syncErr is set when a sync failed: what reached the disk is then
	// unknown (the kernel may have dropped the dirty pages and cleared the
	// error), so no append not yet synced may be acknowledged as durable.
	syncErr error

	mu      sync.Mutex
	f       file
	size    int64  // the length of the whole entries in the file
	written uint64 // lines written by Append since Open
	// broken is syncErr as the writers see it, refusing every later
	// append, or the error of a failed write that could not be cut off.
	broken error
}

// Open opens the journal at path for appending, creating the file when
// it does not exist. A last line torn by a crash mid-write is cut off
// here already, so that appends continue after the last whole entry even
// before a Replay.
func Open(path string) (*Journal, error) {
	return open(path, func(path string) (file, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		// A file just created is durable only once its directory entry
		// is: sync the directory too, or the first entries synced could
		// vanish with the file after a power loss.
		if err := syncDir(filepath.Dir(path)); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	})
}

// syncDir syncs the directory dir, making the names in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// open is Open with the file opened by openFile.
func open(path string, openFile func(string) (file, error)) (*Journal, error) {
	f, err := openFile(path)
	if err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	j := &Journal{path: path, f: f}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening journal %s: %w", path, err)
	}
	end, err := lastLineEnd(f, info.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening journal %s: %w", path, err)
	}
	j.size = info.Size()
	if err := j.cut(end); err != nil {
		f.Close()
		return nil, err
	}
	return j, nil
}

// lastLineEnd returns the offset just past the last newline among the
// first size bytes of f, or 0 when there is none: the end of the last
// whole entry. It reads backwards, so opening a long journal whose last
// line is whole reads one block.
func lastLineEnd(f io.ReaderAt, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(end-int64(len(buf)), 0)
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("reading the last entry: %w", err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// cut truncates the file to end, the end of its last whole entry, when
// bytes follow it, and syncs the truncation so that the torn bytes do
// not come back after another crash to be joined to the next entry.
// The caller holds j.mu or owns j alone.
func (j *Journal) cut(end int64) error {
	if end == j.size {
		return nil
	}
	if err := j.f.Truncate(end); err != nil {
		return fmt.Errorf("journal %s: cutting a torn last entry at byte %d: %w", j.path, end, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: syncing the cut of a torn last entry: %w", j.path, err)
	}
	j.size = end
	return nil
}

// Append writes e as one line of JSON and syncs the file before it
// returns: when it returns nil, e survives a crash of the process or of
// the machine. Entries are replayed in the order their appends wrote
// them. A failed write is cut back off the file; a failed sync leaves
// the journal refusing every later append, since what reached the disk
// is then unknown.
func (j *Journal) Append(e Entry) error {
	if err := e.validate(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	line, err := encode(e)
	if err != nil {
		return fmt.Errorf("journal %s: encoding an entry for table %q: %w", j.path, e.Table, err)
	}
	seq, err := j.write(line, e.Table)
	if err != nil {
		return err
	}
	return j.syncTo(seq, e.Table)
}

// write writes line at the end of the file and returns its number.
func (j *Journal) write(line []byte, table string) (uint64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return 0, fmt.Errorf("journal %s: %w", j.path, os.ErrClosed)
	}
	if j.broken != nil {
		return 0, j.broken
	}
	// One write for the whole line: a crash leaves at worst a torn last
	// line, never half an entry followed by a whole one.
	if _, err := j.f.Write(line); err != nil {
		werr := fmt.Errorf("journal %s: writing an entry for table %q: %w", j.path, table, err)
		if cerr := j.cutBack(); cerr != nil {
			j.broken = errors.Join(werr, cerr)
			return 0, j.broken
		}
		return 0, werr
	}
	j.size += int64(len(line))
	j.written++
	return j.written, nil
}

// syncTo returns once line seq is on disk: at once when a sync that
// began after it was written has ended, else after a sync of its own,
// which covers every line written so far.
func (j *Journal) syncTo(seq uint64, table string) error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= seq {
		return nil
	}
	if j.syncErr != nil {
		return j.syncErr
	}
	j.mu.Lock()
	f, upTo := j.f, j.written
	j.mu.Unlock()
	if f == nil {
		// Close synced what was written before it; seq was not, so
		// Close's own sync failed, and syncErr says so above.
		return fmt.Errorf("journal %s: %w", j.path, os.ErrClosed)
	}
	if err := f.Sync(); err != nil {
		j.failSync(fmt.Errorf("journal %s: syncing an entry for table %q: %w", j.path, table, err))
		return j.syncErr
	}
	j.synced = upTo
	return nil
}

// failSync records a failed sync, refusing every later append. The
// caller holds syncMu.
func (j *Journal) failSync(err error) {
	j.syncErr = err
	j.mu.Lock()
	j.broken = err
	j.mu.Unlock()
}

// cutBack truncates the file to the end of its last whole entry after a
// failed write, which may have written part of a line.
func (j *Journal) cutBack() error {
	if err := j.f.Truncate(j.size); err != nil {
		return fmt.Errorf("journal %s: cutting a failed write off: %w", j.path, err)
	}
	return nil
}

// Replay calls fn with every entry from the start of the file, in the
// order they were appended, and stops at the first error fn returns. A
// torn last line (a crash mid-write, or a writer in another process) is
// cut off, the file truncated to the last whole entry, and is no error;
// any other line that is not an entry is an error naming the file and
// line. Appends wait while Replay runs, so fn must not call Append or
// Close on the same Journal.
func (j *Journal) Replay(fn func(Entry) error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s: %w", j.path, os.ErrClosed)
	}
	info, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.size = info.Size()
	r := bufio.NewReaderSize(io.NewSectionReader(j.f, 0, j.size), 64<<10)
	var off int64
	for n := 1; ; n++ {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			// Bytes with no newline after them are a torn last line.
			return j.cut(off)
		}
		if err != nil {
			return fmt.Errorf("journal %s:%d: reading: %w", j.path, n, err)
		}
		off += int64(len(line))
		e, err := decode(line)
		if err != nil {
			return fmt.Errorf("journal %s:%d: %w", j.path, n, err)
		}
		if err := fn(e); err != nil {
			return fmt.Errorf("journal %s:%d: replaying: %w", j.path, n, err)
		}
	}
}

// encode returns e as one line of JSON ending in a newline. The encoder
// compacts each RawMessage, so the line holds no newline but its last;
// it leaves <, > and & as they are, so that a journal of HTML stays
// readable.
func encode(e Entry) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decode reads one line of the journal, its newline included.
func decode(line []byte) (Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var e Entry
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("not an entry: %w", err)
	}
	if dec.More() {
		return Entry{}, errors.New("not an entry: text after the entry")
	}
	if err := e.validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Close syncs what appends under way have written and closes the file.
// Every entry Append acknowledged is already on disk.
func (j *Journal) Close() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return fmt.Errorf("journal %s: %w", j.path, os.ErrClosed)
	}
	var err error
	if j.written > j.synced && j.syncErr == nil {
		if err = j.f.Sync(); err != nil {
			err = fmt.Errorf("journal %s: syncing before closing: %w", j.path, err)
			j.syncErr, j.broken = err, err
		} else {
			j.synced = j.written
		}
	}
	if cerr := j.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("closing journal %s: %w", j.path, cerr))
	}
	j.f = nil
	return err
}
