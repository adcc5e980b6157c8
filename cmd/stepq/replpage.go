package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The REPL on a terminal pages long output and edits statements, as psql
// does: through the programs the user's environment names.

// pagerCommand is the pager long output goes through: $PAGER, or less
// (-F: quit when it fits, -R: colours, -X: leave the screen as it is,
// -S: long lines scroll rather than fold). PAGER set empty means none.
func pagerCommand() string {
	if p, ok := os.LookupEnv("PAGER"); ok {
		return p
	}
	return "less -FRXS"
}

// editorCommand is the editor :e runs: $VISUAL, $EDITOR, or vi.
func editorCommand() string {
	for _, v := range []string{"VISUAL", "EDITOR"} {
		if e := os.Getenv(v); e != "" {
			return e
		}
	}
	return "vi"
}

// terminalRows is the height of the terminal f is, 0 when unknown.
func terminalRows(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Row)
}

// terminalColumns is the width of the terminal f is, 0 when unknown.
func terminalColumns(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// page writes text to out, through pager when it has more lines than
// rows (a pager that cannot start, or none, and text is written as it
// is).
func page(out io.Writer, text []byte, rows int, pager string) error {
	if pager == "" || rows <= 0 || bytes.Count(text, []byte("\n")) < rows {
		_, err := out.Write(text)
		return err
	}
	cmd := exec.Command("sh", "-c", pager)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(text), out, os.Stderr
	if err := cmd.Run(); err != nil {
		// The shell says 126 and 127 when it cannot run the pager;
		// another status is the pager's own (quit before the end).
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() != 126 && exit.ExitCode() != 127 {
			return nil
		}
		_, err := out.Write(text)
		return err
	}
	return nil
}

// edit opens text in editor, from a temporary file, and returns the
// file as the editor left it.
func edit(editor, text string) (string, error) {
	dir, err := os.MkdirTemp("", "stepq-edit")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "statement.step")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		return "", err
	}
	// The editor command may hold arguments: the shell splits it.
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "sh", file)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("editor %s: %w", editor, err)
	}
	out, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(out), "\n"), nil
}
