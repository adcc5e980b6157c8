package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// rows turns JSON object texts into an entry's rows.
func rows(texts ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(texts))
	for i, t := range texts {
		out[i] = json.RawMessage(t)
	}
	return out
}

// compact returns e with each row compacted, as the journal writes it.
func compact(t *testing.T, e Entry) Entry {
	t.Helper()
	out := Entry{Table: e.Table, Op: e.Op}
	for _, r := range e.Rows {
		var buf bytes.Buffer
		if err := json.Compact(&buf, r); err != nil {
			t.Fatalf("compacting %s: %v", r, err)
		}
		out.Rows = append(out.Rows, buf.Bytes())
	}
	return out
}

// replayAll returns every entry of j.
func replayAll(t *testing.T, j *Journal) []Entry {
	t.Helper()
	var got []Entry
	if err := j.Replay(func(e Entry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("replay: %v", err)
	}
	return got
}

// sameEntries fails t unless got and want are equal, rows compared as
// the compact JSON the journal keeps.
func sameEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("replayed %d entries, want %d:\n%v", len(got), len(want), got)
	}
	for i := range want {
		g, w := compact(t, got[i]), compact(t, want[i])
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Errorf("entry %d: got %s, want %s", i+1, gj, wj)
		}
	}
}

// openJournal opens a journal in a new temporary directory.
func openJournal(t *testing.T) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		entries []Entry
	}{
		{"empty", nil},
		{"one insert", []Entry{{Table: "line_items", Op: OpInsert, Rows: rows(`{"basket_id": 1, "product_name": "tv", "qty": 2}`)}}},
		{"every op", []Entry{
			{Table: "products", Op: OpInsert, Rows: rows(`{"name":"tv","price":"12.50"}`, `{"name":"radio","price":"8.00"}`)},
			{Table: "products", Op: OpUpdate, Rows: rows(`{"name":"tv","price":"99.00"}`)},
			{Table: "products", Op: OpDelete, Rows: rows(`{"name":"radio"}`)},
		}},
		{"values kept as written", []Entry{{Table: "posts", Op: OpInsert, Rows: rows(
			"{\n  \"html\": \"<p>a & b</p>\",\n  \"tags\": [\"x\", null],\n  \"meta\": {\"k\": 1.50}\n}",
			`{"text": "line\nbreak \u00e9 ☃", "n": 12.50}`,
		)}}},
		{"no rows", []Entry{{Table: "t", Op: OpInsert, Rows: nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, path := openJournal(t)
			for _, e := range tt.entries {
				if err := j.Append(e); err != nil {
					t.Fatal(err)
				}
			}
			sameEntries(t, replayAll(t, j), tt.entries)
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			// Reopened, the file replays the same, and appends follow.
			j2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j2.Close()
			sameEntries(t, replayAll(t, j2), tt.entries)
			more := Entry{Table: "t", Op: OpDelete, Rows: rows(`{"id": 1}`)}
			if err := j2.Append(more); err != nil {
				t.Fatal(err)
			}
			sameEntries(t, replayAll(t, j2), append(tt.entries[:len(tt.entries):len(tt.entries)], more))
		})
	}
}

// TestOneLinePerEntry checks the file format: one line of compact JSON
// per entry, HTML left unescaped.
func TestOneLinePerEntry(t *testing.T) {
	j, path := openJournal(t)
	if err := j.Append(Entry{Table: "posts", Op: OpInsert, Rows: rows("{\"html\":\n \"<b>&</b>\"}")}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"table":"posts","op":"insert","rows":[{"html":"<b>&</b>"}]}` + "\n"
	if string(got) != want {
		t.Errorf("file holds %q, want %q", got, want)
	}
}

func TestAppendRefuses(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		want  string
	}{
		{"no table", Entry{Op: OpInsert}, "no table"},
		{"unknown op", Entry{Table: "t", Op: "upsert"}, `op "upsert"`},
		{"row not an object", Entry{Table: "t", Op: OpInsert, Rows: rows(`[1]`)}, "row 1 is not a JSON object"},
		{"empty row", Entry{Table: "t", Op: OpInsert, Rows: rows(`{}`, ``)}, "row 2 is not a JSON object"},
		{"row not JSON", Entry{Table: "t", Op: OpInsert, Rows: rows(`{"a":}`)}, "encoding an entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, path := openJournal(t)
			err := j.Append(tt.entry)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Append: %v, want an error with %q", err, tt.want)
			}
			if info, err := os.Stat(path); err != nil || info.Size() != 0 {
				t.Errorf("a refused entry left the journal %v bytes long (%v)", info.Size(), err)
			}
		})
	}
}

// TestConcurrentAppends appends from many goroutines at once: every entry
// is replayed once, whole, and each goroutine's in the order it appended.
func TestConcurrentAppends(t *testing.T) {
	const writers, each = 8, 50
	j, _ := openJournal(t)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				row := fmt.Sprintf(`{"writer": %d, "seq": %d, "pad": %q}`, w, i, strings.Repeat("x", 1000*w))
				if err := j.Append(Entry{Table: "t", Op: OpInsert, Rows: rows(row)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	next := make([]int, writers)
	n := 0
	for _, e := range replayAll(t, j) {
		var r struct{ Writer, Seq int }
		if err := json.Unmarshal(e.Rows[0], &r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != next[r.Writer] {
			t.Fatalf("writer %d: entry %d replayed where %d was due", r.Writer, r.Seq, next[r.Writer])
		}
		next[r.Writer]++
		n++
	}
	if n != writers*each {
		t.Errorf("replayed %d entries, want %d", n, writers*each)
	}
}

// TestTornLastLine writes part of an entry by hand after whole ones, as a
// crash mid-write leaves it, before the journal is opened or while it is
// open: the torn line is cut off and no error, the file truncated to the
// last whole entry, and appends continue after it.
func TestTornLastLine(t *testing.T) {
	whole := []Entry{
		{Table: "products", Op: OpInsert, Rows: rows(`{"name":"tv","price":"12.50"}`)},
		{Table: "products", Op: OpDelete, Rows: rows(`{"name":"tv"}`)},
	}
	line, err := encode(Entry{Table: "products", Op: OpInsert, Rows: rows(`{"name":"radio","price":"8.00"}`)})
	if err != nil {
		t.Fatal(err)
	}
	tails := []struct {
		name string
		tail []byte
	}{
		{"half an entry", line[:len(line)/2]},
		{"all but the newline", line[:len(line)-1]},
		{"one byte", line[:1]},
		{"zeros (a power loss)", make([]byte, 300)},
		{"longer than a read block", bytes.Repeat([]byte("x"), 200<<10)},
	}
	for _, when := range []string{"before open", "while open"} {
		for _, tc := range tails {
			t.Run(when+"/"+tc.name, func(t *testing.T) {
				for _, empty := range []bool{false, true} {
					path := filepath.Join(t.TempDir(), "journal.jsonl")
					j, err := Open(path)
					if err != nil {
						t.Fatal(err)
					}
					want := whole
					if empty {
						want = nil
					}
					for _, e := range want {
						if err := j.Append(e); err != nil {
							t.Fatal(err)
						}
					}
					info, err := os.Stat(path)
					if err != nil {
						t.Fatal(err)
					}
					if when == "before open" {
						j.Close()
					}
					appendBytes(t, path, tc.tail)
					if when == "before open" {
						if j, err = Open(path); err != nil {
							t.Fatal(err)
						}
					}
					sameEntries(t, replayAll(t, j), want)
					if after, err := os.Stat(path); err != nil || after.Size() != info.Size() {
						t.Fatalf("journal is %d bytes after replay, want %d, the end of its last whole entry (%v)", after.Size(), info.Size(), err)
					}
					more := Entry{Table: "line_items", Op: OpInsert, Rows: rows(`{"basket_id":1}`)}
					if err := j.Append(more); err != nil {
						t.Fatal(err)
					}
					sameEntries(t, replayAll(t, j), append(want[:len(want):len(want)], more))
					j.Close()
				}
			})
		}
	}
}

// appendBytes writes b at the end of the file at path, as another writer.
func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptLine checks that a line that is not an entry, other than a
// torn last one, is an error naming the file and line, and that the
// entries before it were replayed.
func TestCorruptLine(t *testing.T) {
	good := `{"table":"t","op":"insert","rows":[{"a":1}]}` + "\n"
	tests := []struct {
		name string
		bad  string
		last bool // the bad line is the file's last, newline and all
		want string
	}{
		{"garbage", "not json\n", false, "not an entry"},
		{"half an entry then a newline", good[:20] + "\n", false, "not an entry"},
		{"a whole last line that is bad", "{}\n", true, "entry has no table"},
		{"blank line", "\n", false, "not an entry"},
		{"unknown op", `{"table":"t","op":"merge","rows":[]}` + "\n", false, `op "merge"`},
		{"unknown field", `{"table":"t","op":"insert","rows":[],"step":3}` + "\n", false, "unknown field"},
		{"row not an object", `{"table":"t","op":"insert","rows":[7]}` + "\n", false, "row 1 is not a JSON object"},
		{"two entries on a line", strings.TrimSuffix(good, "\n") + good, false, "text after the entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			content := good + tt.bad
			if !tt.last {
				content += good
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			j, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			n := 0
			err = j.Replay(func(Entry) error { n++; return nil })
			if err == nil {
				t.Fatal("Replay returned no error")
			}
			if where := path + ":2:"; !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Replay: %v\nwant an error at %s saying %q", err, where, tt.want)
			}
			if n != 1 {
				t.Errorf("replayed %d entries before the bad line, want 1", n)
			}
			if after, err := os.ReadFile(path); err != nil || string(after) != content {
				t.Errorf("a journal with a corrupt line was changed (%v)", err)
			}
		})
	}
}

// TestReplayStopsOnCallerError checks that an error of fn ends the replay
// and comes back wrapped, with the line it stopped at.
func TestReplayStopsOnCallerError(t *testing.T) {
	j, path := openJournal(t)
	for i := range 3 {
		if err := j.Append(Entry{Table: "t", Op: OpInsert, Rows: rows(fmt.Sprintf(`{"i":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("duplicate key")
	n := 0
	err := j.Replay(func(Entry) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !strings.Contains(err.Error(), path+":2:") {
		t.Errorf("Replay: %v, want %v at line 2", err, stop)
	}
	if n != 2 {
		t.Errorf("fn called %d times, want 2", n)
	}
}

func TestClosed(t *testing.T) {
	j, _ := openJournal(t)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	e := Entry{Table: "t", Op: OpInsert}
	for name, err := range map[string]error{
		"Append": j.Append(e),
		"Replay": j.Replay(func(Entry) error { return nil }),
		"Close":  j.Close(),
	} {
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("%s after Close: %v, want %v", name, err, os.ErrClosed)
		}
	}
}

func TestOpenFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing", "journal.jsonl")
	if _, err := Open(path); err == nil || !strings.Contains(err.Error(), "journal") {
		t.Errorf("Open in a missing directory: %v, want an error", err)
	}
}
