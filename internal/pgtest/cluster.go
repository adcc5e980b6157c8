package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster starts a private PostgreSQL cluster for the test and returns a
// connection string for its postgres database, as user postgres with
// trust authentication. It is for what the shared server cannot be made
// to do, a server setting that needs a restart say: each settings entry
// is a "name=value" given to the server (as -c), such as
// "max_prepared_transactions=5". The server is stopped and its files
// removed when the test ends.
//
// The server binaries are those of pg_config --bindir, else the newest
// of /usr/lib/postgresql/*/bin. Without them the test is skipped, except
// under CI (CI=true), where it fails, as for a missing shared server.
//
// The cluster takes a few seconds to create: use it only where the shared
// server will not do. Should the test process be killed, the server
// shuts down with it (see serverAttr), but its directory, pgtest-* in
// os.TempDir(), is left behind.
func Cluster(t testing.TB, settings ...string) (dsn string) {
	t.Helper()
	bin, err := serverBinaries()
	if err != nil {
		clusterUnavailable(t, err)
	}
	// initdb and postgres refuse to run as root: run them as the
	// postgres OS user, who then owns the cluster's files.
	var owner *user.User
	if os.Geteuid() == 0 {
		if owner, err = user.Lookup("postgres"); err != nil {
			clusterUnavailable(t, fmt.Errorf("running as root, and initdb and postgres refuse to: %w", err))
		}
	}
	// Not t.TempDir(): its parents are private to this process's user,
	// and the server may run as another. The directory is short-named
	// besides, since the server's socket path must stay under ~100 bytes.
	base, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(base); err != nil {
			t.Errorf("removing the private cluster: %v", err)
		}
	})
	attr, err := serverAttr(owner)
	if err != nil {
		clusterUnavailable(t, err)
	}
	if owner != nil {
		uid, _ := strconv.Atoi(owner.Uid)
		gid, _ := strconv.Atoi(owner.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(base, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir, initdb.SysProcAttr = base, attr
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}

	// The port is free when picked, not necessarily when the server
	// binds it (another test may take it meanwhile): a server that
	// exits before it is ready is started again on another port.
	for attempt := 1; ; attempt++ {
		srv, dsn, err := startServer(t, bin, base, data, attr, settings)
		if err == nil {
			t.Cleanup(func() {
				srv.stop()
				if t.Failed() {
					t.Logf("private cluster's server log:\n%s", srv.log.String())
				}
			})
			return dsn
		}
		if !errors.Is(err, errExited) || attempt == 3 {
			t.Fatalf("starting the private cluster: %v", err)
		}
	}
}

// errExited reports a server that exited before it accepted connections.
var errExited = errors.New("the server exited before accepting connections")

// server is a running private cluster's postmaster.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
	log    *lockedBuffer
}

// stop shuts the server down at once (nothing in a throwaway cluster is
// worth a checkpoint) and waits for it to exit.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(stopSignal)
	<-s.exited
}

// startServer starts postgres on a free port and waits until it accepts
// connections, or exits, or the test's deadline (at most a minute) passes.
func startServer(t testing.TB, bin, base, data string, attr *syscall.SysProcAttr, settings []string) (*server, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	args := []string{"-D", data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "port=" + strconv.Itoa(port),
		"-c", "unix_socket_directories=" + base,
		// The cluster is thrown away: durability only costs time.
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "lc_messages=C",
	}
	for _, s := range settings {
		args = append(args, "-c", s)
	}
	srv := &server{cmd: exec.Command(filepath.Join(bin, "postgres"), args...), exited: make(chan struct{}), log: &lockedBuffer{}}
	srv.cmd.Dir, srv.cmd.SysProcAttr = base, attr
	srv.cmd.Stdout, srv.cmd.Stderr = srv.log, srv.log
	if err := srv.cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() {
		_ = srv.cmd.Wait()
		close(srv.exited)
	}()

	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
	}
	// Poll, as pg_ctl -w does: the server says it is ready only in its
	// log, and a refused connection is the one sure sign it is not.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			conn.Close(ctx)
			return srv, dsn, nil
		}
		select {
		case <-srv.exited:
			return nil, "", fmt.Errorf("%w: %v\n%s", errExited, err, srv.log.String())
		case <-ctx.Done():
			srv.stop()
			return nil, "", fmt.Errorf("no connection to %s: %v\n%s", dsn, err, srv.log.String())
		case <-tick.C:
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that no one listened on a
// moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverBinaries returns the directory holding initdb and postgres.
func serverBinaries() (string, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	// Debian's packages keep each version's server out of PATH.
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(versions, func(i, j int) bool { return versionOf(versions[i]) > versionOf(versions[j]) })
	for _, dir := range append(dirs, versions...) {
		if isFile(filepath.Join(dir, "initdb")) && isFile(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no initdb and postgres in pg_config --bindir or /usr/lib/postgresql/*/bin (looked in %v)", append(dirs, versions...))
}

// versionOf is the major version in a /usr/lib/postgresql/N/bin path, so
// that 15 sorts after 9.6.
func versionOf(dir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
	return v
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// clusterUnavailable skips or fails the test when no private cluster can
// be made, by the rule of unavailable.
func clusterUnavailable(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("a private Postgres cluster is required under CI and cannot be made: %v", err)
	}
	t.Skipf("cannot make a private Postgres cluster (install the PostgreSQL server): %v", err)
}

// lockedBuffer collects the server's output, which os/exec writes from
// its own goroutine while a failing test may read it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
