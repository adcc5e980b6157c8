package postgres

import (
	"context"
	"fmt"

	"github.com/stepping-io/stepping/ir"
	"github.com/stepping-io/stepping/ir/lockfile"
)

// metaLock is the _meta key holding the installed circuit's lock text
// (lockfile.Render), so that a plan can compare a program with what is
// deployed line by line, as with a lock file. Programs installed before
// it was recorded have none.
const metaLock = "lock"

// lockText is the lock recorded with the program's state.
func (p *Runner) lockText() string { return lockfile.Render(p.Circuit) }

// Deployed is what the program's _meta records of the program installed
// in its schema.
type Deployed struct {
	Version string // the circuit's version, as Version gives it
	// Lock is the installed circuit's lock text; empty for a program
	// installed by a stepq that did not record it.
	Lock string
}

// Deployed reads what is installed in the program's schema, without
// changing, locking or creating anything: plans read it. It fails with
// ErrNotInstalled when the schema holds no installed program.
func (p *Runner) Deployed(ctx context.Context) (*Deployed, error) {
	rows, err := p.Pool.Query(ctx, "SELECT key, value FROM "+p.t("_meta")+" WHERE key IN ('version', '"+metaLock+"')")
	if isUndefinedTable(err) {
		return nil, fmt.Errorf("%w in schema %s", ErrNotInstalled, p.Schema)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the program installed in schema %s: %w", p.Schema, err)
	}
	defer rows.Close()
	d := &Deployed{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("reading the program installed in schema %s: %w", p.Schema, err)
		}
		if k == "version" {
			d.Version = v
		} else {
			d.Lock = v
		}
	}
	if err := rows.Err(); err != nil {
		// An undefined table surfaces here when the query was deferred.
		if isUndefinedTable(err) {
			return nil, fmt.Errorf("%w in schema %s", ErrNotInstalled, p.Schema)
		}
		return nil, fmt.Errorf("reading the program installed in schema %s: %w", p.Schema, err)
	}
	if d.Version == "" {
		return nil, fmt.Errorf("%w in schema %s", ErrNotInstalled, p.Schema)
	}
	return d, nil
}

// CountSources counts the rows of the named inputs' source tables, as a
// rebuild from the sources would read them (without the rows of
// inheriting tables, as a backfill reads them). It only reads.
func (p *Runner) CountSources(ctx context.Context, inputs []string) (map[string]int64, error) {
	byName := map[string]*ir.Input{}
	for _, in := range p.Circuit.Inputs {
		byName[in.Name] = in
	}
	counts := map[string]int64{}
	for _, name := range inputs {
		in := byName[name]
		if in == nil || in.Postgres == nil {
			return nil, fmt.Errorf("counting the rows of %s: not a source of the program", name)
		}
		var n int64
		if err := p.Pool.QueryRow(ctx, "SELECT count(*) FROM ONLY "+p.sourceName(in)).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting the rows of %s (%s): %w", name, p.sourceName(in), err)
		}
		counts[name] = n
	}
	return counts, nil
}
