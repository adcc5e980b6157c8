package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stepping-io/stepping/internal/testwait"
)

// recordingFile is a real file that records the calls the journal makes
// on it, and fails those it is told to: the journal opens it through
// open's openFile, the seam tests use to see that each append is written
// once and synced before Append returns.
type recordingFile struct {
	*os.File
	mu    sync.Mutex
	calls []string
	// writeShort, when > 0, makes the next write write that many bytes
	// and fail, as a full disk does.
	writeShort int
	syncErr    error
	// wrote, when set, is called after each write; beforeSync before
	// each sync, outside mu, and may block to hold the sync up.
	wrote      func(line []byte)
	beforeSync func()
}

func (f *recordingFile) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// takeCalls returns the calls recorded since the last takeCalls.
func (f *recordingFile) takeCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *recordingFile) Write(b []byte) (int, error) {
	f.record("write")
	if n := f.writeShort; n > 0 {
		f.writeShort = 0
		w, _ := f.File.Write(b[:n])
		return w, errors.New("no space left on device")
	}
	n, err := f.File.Write(b)
	if f.wrote != nil {
		f.wrote(b)
	}
	return n, err
}

func (f *recordingFile) Sync() error {
	if f.beforeSync != nil {
		f.beforeSync()
	}
	f.record("sync")
	if f.syncErr != nil {
		return f.syncErr
	}
	return f.File.Sync()
}

func (f *recordingFile) Truncate(size int64) error {
	f.record(fmt.Sprintf("truncate %d", size))
	return f.File.Truncate(size)
}

// openRecording opens a journal in a new directory over a recordingFile.
func openRecording(t *testing.T) (*Journal, *recordingFile, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	var rf *recordingFile
	j, err := open(path, func(path string) (file, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
		rf = &recordingFile{File: f}
		return rf, err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, rf, path
}

// TestAppendSyncs checks that each Append writes its entry in one write
// and syncs the file before it returns.
func TestAppendSyncs(t *testing.T) {
	j, f, _ := openRecording(t)
	if calls := f.takeCalls(); len(calls) != 0 {
		t.Errorf("opening a new journal made calls %v, want none", calls)
	}
	for i := range 3 {
		if err := j.Append(Entry{Table: "t", Op: OpInsert, Rows: rows(`{"a":1}`, `{"a":2}`)}); err != nil {
			t.Fatal(err)
		}
		if calls, want := f.takeCalls(), []string{"write", "sync"}; !reflect.DeepEqual(calls, want) {
			t.Errorf("append %d made calls %v, want %v", i+1, calls, want)
		}
	}
}

// TestSyncFailure checks that a failed sync fails the append and every
// later one: after it, what reached the disk is unknown.
func TestSyncFailure(t *testing.T) {
	j, f, _ := openRecording(t)
	e := Entry{Table: "t", Op: OpInsert, Rows: rows(`{"a":1}`)}
	f.syncErr = errors.New("input/output error")
	if err := j.Append(e); !errors.Is(err, f.syncErr) {
		t.Fatalf("Append with a failing sync: %v, want %v", err, f.syncErr)
	}
	f.syncErr = nil
	f.takeCalls()
	if err := j.Append(e); err == nil || !strings.Contains(err.Error(), "syncing") {
		t.Errorf("Append after a failed sync: %v, want the sync's error again", err)
	}
	if calls := f.takeCalls(); len(calls) != 0 {
		t.Errorf("Append after a failed sync made calls %v, want none", calls)
	}
}

// TestShortWrite checks that a write that fails part way is cut back off
// the file, so that the next append starts a line of its own.
func TestShortWrite(t *testing.T) {
	j, f, path := openRecording(t)
	first := Entry{Table: "t", Op: OpInsert, Rows: rows(`{"a":1}`)}
	if err := j.Append(first); err != nil {
		t.Fatal(err)
	}
	size, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f.takeCalls()
	f.writeShort = 10
	if err := j.Append(first); err == nil {
		t.Fatal("Append with a short write returned no error")
	}
	want := []string{"write", fmt.Sprintf("truncate %d", size.Size())}
	if calls := f.takeCalls(); !reflect.DeepEqual(calls, want) {
		t.Errorf("a short write made calls %v, want %v", calls, want)
	}
	second := Entry{Table: "t", Op: OpDelete, Rows: rows(`{"a":1}`)}
	if err := j.Append(second); err != nil {
		t.Fatal(err)
	}
	sameEntries(t, replayAll(t, j), []Entry{first, second})
}

// TestGroupCommit holds a sync up while two more appends write their
// lines: when it is let go, the first append returns, one sync covers
// both others, and neither returns before it.
func TestGroupCommit(t *testing.T) {
	j, f, _ := openRecording(t)
	writes := make(chan string, 3)
	f.wrote = func(line []byte) { writes <- string(line) }
	syncing := make(chan struct{}, 3)
	release := make(chan struct{})
	f.beforeSync = func() {
		syncing <- struct{}{}
		<-release
	}
	returned := make(chan string, 3)
	appendAsync := func(table string) {
		go func() {
			if err := j.Append(Entry{Table: table, Op: OpInsert}); err != nil {
				t.Error(err)
			}
			returned <- table
		}()
	}
	expired := testwait.Expired(t)
	wait := func(what string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-expired:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
	waitWrite := func() {
		t.Helper()
		select {
		case <-writes:
		case <-expired:
			t.Fatal("timed out waiting for a write")
		}
	}

	appendAsync("a")
	waitWrite()
	wait("a's sync", syncing)
	appendAsync("b")
	waitWrite()
	appendAsync("c")
	waitWrite()
	select {
	case table := <-returned:
		t.Fatalf("append %s returned while the sync was held up", table)
	default:
	}
	release <- struct{}{} // a's sync ends
	wait("the sync of b and c", syncing)
	select {
	case table := <-returned:
		if table != "a" {
			t.Fatalf("append %s returned before its line was synced", table)
		}
	case <-expired:
		t.Fatal("timed out waiting for a to return")
	}
	select {
	case table := <-returned:
		t.Fatalf("append %s returned before its line was synced", table)
	default:
	}
	close(release) // the sync of b and c ends
	for range 2 {
		select {
		case <-returned:
		case <-expired:
			t.Fatal("timed out waiting for b and c to return")
		}
	}
	var syncs int
	for _, c := range f.takeCalls() {
		if c == "sync" {
			syncs++
		}
	}
	if syncs != 2 {
		t.Errorf("three appends made %d syncs, want 2: one for a, one for b and c", syncs)
	}
	sameEntries(t, replayAll(t, j), []Entry{
		{Table: "a", Op: OpInsert}, {Table: "b", Op: OpInsert}, {Table: "c", Op: OpInsert},
	})
}

// childEnv names the journal a re-executed test binary appends to.
const childEnv = "STEPPING_JOURNAL_TEST_CHILD"

// TestKillAfterAppend runs a child process (this test binary again) that
// appends and prints a line after each Append returns, and SIGKILLs it
// on such a line: every entry the child saw acknowledged is replayed. One
// writer waits for the parent after each line, so the kill lands right
// after Append returns; several writers append freely, so it lands among
// appends under way.
func TestKillAfterAppend(t *testing.T) {
	if path := os.Getenv(childEnv); path != "" {
		appendUntilKilled(path)
		return
	}
	tests := []struct {
		name    string
		writers int
		// kill after this many acknowledged appends
		acked int
	}{
		{"one writer, in step", 1, 25},
		{"writers under way", 4, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.jsonl")
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillAfterAppend$")
			cmd.Env = append(os.Environ(), childEnv+"="+path, "STEPPING_JOURNAL_TEST_WRITERS="+strconv.Itoa(tt.writers))
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			acked := map[string]bool{}
			expired := testwait.Expired(t)
			for len(acked) < tt.acked {
				select {
				case line, ok := <-lines:
					if !ok {
						cmd.Wait()
						t.Fatalf("the child ended after %d acknowledged appends", len(acked))
					}
					id, ok := strings.CutPrefix(line, "appended ")
					if !ok {
						continue // the test framework's own output
					}
					acked[id] = true
					if tt.writers == 1 && len(acked) < tt.acked {
						// Let the child append the next entry.
						if _, err := io.WriteString(stdin, "next\n"); err != nil {
							t.Fatal(err)
						}
					}
				case <-expired:
					cmd.Process.Kill()
					t.Fatalf("timed out after %d acknowledged appends", len(acked))
				}
			}
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			// Drain what the child printed before it died: those entries
			// were acknowledged too.
			for line := range lines {
				if id, ok := strings.CutPrefix(line, "appended "); ok {
					acked[id] = true
				}
			}
			if err := cmd.Wait(); err == nil {
				t.Fatal("the child exited cleanly; want it killed")
			}

			j, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			replayed := map[string]bool{}
			for _, e := range replayAll(t, j) {
				replayed[e.Table] = true
			}
			for id := range acked {
				if !replayed[id] {
					t.Errorf("entry %s was acknowledged but is not replayed", id)
				}
			}
			if len(replayed) < len(acked) {
				t.Errorf("replayed %d entries, fewer than the %d acknowledged", len(replayed), len(acked))
			}
		})
	}
}

// appendUntilKilled is the child of TestKillAfterAppend: it appends
// entries named by writer and sequence, printing "appended NAME" after
// each Append returns, until it is killed. With one writer it waits for
// a line on standard input before each next append; with several it
// appends freely and, having appended a bounded number, waits to be
// killed.
func appendUntilKilled(path string) {
	writers, _ := strconv.Atoi(os.Getenv("STEPPING_JOURNAL_TEST_WRITERS"))
	j, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	in := bufio.NewScanner(os.Stdin)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range 100000 {
				name := fmt.Sprintf("w%d-%d", w, i)
				row := fmt.Sprintf(`{"writer":%d,"seq":%d,"pad":%q}`, w, i, strings.Repeat("p", 100*i%4000))
				if err := j.Append(Entry{Table: name, Op: OpInsert, Rows: rows(row)}); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				fmt.Printf("appended %s\n", name)
				if writers == 1 && !in.Scan() {
					return
				}
			}
		})
	}
	wg.Wait()
	// Wait to be killed.
	for in.Scan() {
	}
	os.Exit(0)
}
