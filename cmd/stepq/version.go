package main

import (
	"fmt"
	"io"
	goruntime "runtime"
	"runtime/debug"
)

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stderr)
	if _, err := parseArgs(fs, args, 0, 0, "no arguments"); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

// versionLine is "stepq VERSION [REVISION] GOVERSION OS/ARCH": the
// module's version as the build recorded it ((devel) for a build from a
// work tree) and, when known, the commit it was built from.
func versionLine() string {
	version, rev := "(unknown)", ""
	if info, ok := debug.ReadBuildInfo(); ok {
		version = info.Main.Version
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
				if len(rev) > 12 {
					rev = rev[:12]
				}
			case "vcs.modified":
				if s.Value == "true" && rev != "" {
					rev += "+dirty"
				}
			}
		}
	}
	line := "stepq " + version
	if rev != "" {
		line += " " + rev
	}
	return fmt.Sprintf("%s %s %s/%s", line, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
}
