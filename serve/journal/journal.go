// Package journal is a stand-in, which the real package serve/journal
// replaces: it keeps the accepted writes of an in-memory server in a
// file, one JSON entry a line, synced before Append returns, so that a
// restarted server replays them.
package journal

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
)

// Entry is one accepted write.
type Entry struct {
	Table string `json:"table"`
	// Op is "insert", "update" (Rows are the full new rows) or "delete"
	// (Rows hold the key columns).
	Op string `json:"op"`
	// Rows are JSON objects, as docs/serve.md encodes rows.
	Rows []json.RawMessage `json:"rows"`
}

// Journal is an open journal file.
type Journal struct {
	mu sync.Mutex
	f  *os.File
}

// Open opens (creating it if need be) the journal at path.
func Open(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return &Journal{f: f}, nil
}

// Append writes e and syncs the file before it returns.
func (j *Journal) Append(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// Replay calls fn with every entry, in order.
func (j *Journal) Replay(fn func(Entry) error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Seek(0, 0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	sc := bufio.NewScanner(j.f)
	sc.Buffer(nil, 1<<30)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return sc.Err()
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }
