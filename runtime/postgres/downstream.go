package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Programs that read other programs' outputs. An output table is an
// ordinary table, so another program may name it as a source: install
// puts its capture triggers on it like on any table, and the writes the
// upstream program's step makes to the table are captured, in that
// step's transaction, into the downstream program's log. Nothing links
// the two programs but those triggers, so this file finds them: which
// installed programs read which tables.
//
// A program is known by its schema, and what it reads by the capture
// triggers in pg_trigger, not by the source names of its recorded lock:
//   - a trigger is on a table by oid, so the answer does not depend on
//     the search_path a name in the lock was resolved on when the program
//     was installed, nor on renames since;
//   - a trigger is what captures: a table dropped and created again (an
//     upstream program rebuilt, its output replaced) has lost the
//     triggers, and the program no longer reads it, whatever its lock
//     says (checkCapture, at start, refuses to run it so);
//   - the catalog is readable by every role, where a program's _meta is
//     not, and programs installed before the lock was recorded have
//     triggers too.
//
// A trigger belongs to the program whose capture function it executes
// (_capture or _capture_truncate in the program's schema): that function
// writes the program's log. Its first argument is the program's name for
// the source.

// Program is a stepping program installed in the database: a schema
// holding a _meta table that records the installed circuit's version
// (or, where the role may not read that table, the program's capture
// function).
type Program struct {
	// Schema is the program's own schema, which names it.
	Schema string
	// Version is the installed circuit's version (as Runner.Version
	// gives it); empty when the role may not read the program's _meta.
	Version string
	// Lock is the installed circuit's lock text (see Deployed.Lock);
	// empty when it was not recorded or may not be read.
	Lock string
	// Sources are the tables whose changes the program captures, in
	// order of table name then input name.
	Sources []CapturedTable
}

// CapturedTable is a table a program captures the changes of: one of
// its sources, as its capture triggers show it.
type CapturedTable struct {
	// Input is the program's name for the source.
	Input string
	// Table is the table's schema-qualified name, each part quoted only
	// where SQL needs it (as format's %I quotes).
	Table string
	// OID is the table's oid.
	OID uint32
}

// Reader is an installed program that reads a table as a source.
type Reader struct {
	// Program is the reading program, with all it reads.
	Program *Program
	// Input is the program's name for the table.
	Input string
	// Table is the table's schema-qualified name, as in CapturedTable.
	Table string
}

// InstalledPrograms lists the stepping programs installed in the
// database the pool connects to, in order of schema, each with the
// tables it captures. A schema is a program's when it holds a _meta table (key,
// value) with a version, or, where the role may not read that table,
// the program's capture function. It only reads the catalog and the
// programs' _meta.
func InstalledPrograms(ctx context.Context, pool *pgxpool.Pool) ([]*Program, error) {
	// The privilege functions give NULL for an object dropped since the
	// catalog was read (another program removed meanwhile): not readable.
	rows, err := pool.Query(ctx, `SELECT n.nspname, coalesce(has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT'), false),
    EXISTS (SELECT 1 FROM pg_proc f WHERE f.pronamespace = n.oid AND f.proname = '_capture')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relname = '_meta' AND c.relkind = 'r'
    AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'key' AND NOT a.attisdropped)
    AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'value' AND NOT a.attisdropped)
  ORDER BY n.nspname`)
	if err != nil {
		return nil, fmt.Errorf("listing the stepping programs installed: %w", err)
	}
	type candidate struct {
		schema            string
		readable, capture bool
	}
	cands, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (candidate, error) {
		var c candidate
		err := r.Scan(&c.schema, &c.readable, &c.capture)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing the stepping programs installed: %w", err)
	}
	var progs []*Program
	bySchema := map[string]*Program{}
	for _, c := range cands {
		prog := &Program{Schema: c.schema}
		read := false
		if c.readable {
			if read, err = readProgramMeta(ctx, pool, prog); err != nil {
				return nil, err
			}
		}
		switch {
		case read && prog.Version == "":
			continue // a schema made ready, with nothing installed
		case !read && !c.capture:
			continue
		}
		progs = append(progs, prog)
		bySchema[prog.Schema] = prog
	}
	if len(progs) == 0 {
		return progs, nil
	}
	schemas := make([]string, 0, len(progs))
	for _, p := range progs {
		schemas = append(schemas, p.Schema)
	}
	// One row per program and table: every capture trigger names the
	// source alike, and the insert trigger is there whenever any is.
	rows, err = pool.Query(ctx, `SELECT DISTINCT fn.nspname, t.tgrelid::oid, format('%I.%I', tn.nspname, tc.relname), t.tgargs
  FROM pg_trigger t
  JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = f.pronamespace
  JOIN pg_class tc ON tc.oid = t.tgrelid JOIN pg_namespace tn ON tn.oid = tc.relnamespace
  WHERE f.proname IN ('_capture', '_capture_truncate') AND fn.nspname = ANY($1)`, schemas)
	if err != nil {
		return nil, fmt.Errorf("reading the capture triggers of the stepping programs installed: %w", err)
	}
	type captured struct {
		schema string
		table  CapturedTable
	}
	caps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (captured, error) {
		var c captured
		var args []byte
		if err := r.Scan(&c.schema, &c.table.OID, &c.table.Table, &args); err != nil {
			return c, err
		}
		// tgargs: the trigger's arguments, each ended by a zero byte;
		// the first is the source's name.
		input, _, _ := bytes.Cut(args, []byte{0})
		c.table.Input = string(input)
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the capture triggers of the stepping programs installed: %w", err)
	}
	for _, c := range caps {
		p := bySchema[c.schema]
		if !slices.Contains(p.Sources, c.table) {
			p.Sources = append(p.Sources, c.table)
		}
	}
	for _, p := range progs {
		slices.SortFunc(p.Sources, func(a, b CapturedTable) int {
			if a.Table != b.Table {
				return strings.Compare(a.Table, b.Table)
			}
			return strings.Compare(a.Input, b.Input)
		})
	}
	return progs, nil
}

// readProgramMeta reads a program's version and lock from its _meta,
// and reports whether it could. A _meta that went away meanwhile (the
// program was dropped) leaves them empty.
func readProgramMeta(ctx context.Context, pool *pgxpool.Pool, prog *Program) (bool, error) {
	rows, err := pool.Query(ctx, "SELECT key, value FROM "+ident(prog.Schema, "_meta")+" WHERE key IN ('version', '"+metaLock+"')")
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var k, v string
			if err = rows.Scan(&k, &v); err != nil {
				break
			}
			if k == "version" {
				prog.Version = v
			} else {
				prog.Lock = v
			}
		}
		if err == nil {
			err = rows.Err()
		}
	}
	var pgErr *pgconn.PgError
	if isUndefinedTable(err) || errors.As(err, &pgErr) && pgErr.Code == "3F000" { // schema dropped meanwhile
		return true, nil
	}
	if errors.As(err, &pgErr) && pgErr.Code == "42501" { // rights revoked meanwhile
		prog.Version, prog.Lock = "", ""
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the program installed in schema %s: %w", prog.Schema, err)
	}
	return true, nil
}

// ReadersOf finds, for each of the named tables, the installed programs
// that read it as a source (their capture triggers are on it), in order
// of schema. The result is keyed by the names as given; a name is
// resolved as to_regclass resolves it on the pool's search_path, and a
// table that does not exist has no readers. It only reads.
func ReadersOf(ctx context.Context, pool *pgxpool.Pool, tables []string) (map[string][]Reader, error) {
	oids := make(map[string]uint32, len(tables))
	for _, name := range tables {
		var oid *uint32
		if err := pool.QueryRow(ctx, "SELECT to_regclass($1)::oid", name).Scan(&oid); err != nil {
			return nil, fmt.Errorf("looking up table %s: %w", name, err)
		}
		if oid != nil {
			oids[name] = *oid
		}
	}
	out := map[string][]Reader{}
	if len(oids) == 0 {
		return out, nil
	}
	progs, err := InstalledPrograms(ctx, pool)
	if err != nil {
		return nil, err
	}
	for _, name := range tables {
		oid, ok := oids[name]
		if !ok {
			continue
		}
		for _, p := range progs {
			for _, s := range p.Sources {
				if s.OID == oid {
					out[name] = append(out[name], Reader{Program: p, Input: s.Input, Table: s.Table})
				}
			}
		}
	}
	return out, nil
}

// DeployedOutputs returns the output tables the program installed in
// its schema created, by quoted name (schema-qualified when the program
// named its schema, or put the table in its own), each with the oid the
// table had when it was created, as its _meta records them: the tables
// its rebuild or drop would drop. It only reads; a program not
// installed has none.
func (p *Runner) DeployedOutputs(ctx context.Context) (map[string]uint32, error) {
	owned, err := p.ownedOutputs(ctx, p.Pool)
	if isUndefinedTable(err) {
		return map[string]uint32{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the output tables of the program in schema %s: %w", p.Schema, err)
	}
	if owned == nil {
		owned = map[string]uint32{}
	}
	return owned, nil
}

// checkCapture checks that each source table still has the program's
// capture triggers. A table dropped and created again under the same
// name (an upstream program's output table, when that program is
// rebuilt or its output replaced) has lost them: its columns may all be
// there, but its changes since are not captured, and the program's
// state is of the table that was dropped. A source table that does not
// exist is checkDrift's to report.
//
// Only the sources of the deployed program are checked, as _meta
// records them (metaSources): checkDrift also checks a changed program
// about to be applied, whose new sources have no capture yet. A program
// installed before the sources were recorded has all of them checked.
func (p *Runner) checkCapture(ctx context.Context) error {
	var deployed map[string]string // input name → its source table, quoted
	recorded, err := p.readMetaJSON(ctx, p.Pool, metaSources, &deployed)
	if err != nil {
		return err
	}
	var errs []error
	ops := []string{"ins", "upd", "del", "trunc"}
	names := make([]string, len(ops))
	for i, op := range ops {
		names[i] = p.triggerName(op)
	}
	for _, in := range p.Circuit.Inputs {
		if in.Postgres == nil {
			continue
		}
		table := p.sourceName(in)
		if recorded && deployed[in.Name] != table {
			continue // a source the change being applied adds
		}
		rows, err := p.Pool.Query(ctx, `SELECT t.tgname::text FROM pg_trigger t
  JOIN pg_proc f ON f.oid = t.tgfoid JOIN pg_namespace n ON n.oid = f.pronamespace
  WHERE t.tgrelid = to_regclass($1) AND t.tgname = ANY($2) AND n.nspname = $3`, table, names, p.Schema)
		if err != nil {
			return fmt.Errorf("program %s: reading the capture triggers on source table %s: %w", p.Schema, table, err)
		}
		found, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("program %s: reading the capture triggers on source table %s: %w", p.Schema, table, err)
		}
		var exists bool
		if err := p.Pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
			return fmt.Errorf("program %s: looking up source table %s: %w", p.Schema, table, err)
		}
		if !exists || len(found) == len(names) {
			continue
		}
		var missing []string
		for _, n := range names {
			if !slices.Contains(found, n) {
				missing = append(missing, n)
			}
		}
		errs = append(errs, fmt.Errorf("source table %s has lost the program's capture triggers (missing %s): it was dropped and created again (as the output table of a program that was rebuilt is), or they were dropped, so its changes since are not captured and its state is of the table that was dropped; drop the program with its outputs (stepq drop --outputs) and run it again, which replays it from the sources", table, strings.Join(missing, ", ")))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("program %s: %w", p.Schema, errors.Join(errs...))
}

// warnReaders says, on the runner's log, which other installed programs
// read an output table that dropping the program's state drops: those
// the program created when outputs is set, and otherwise those in its
// own schema, which go with it. Their capture triggers go with the
// tables, so each must be installed again (checkCapture stops it until
// it is). Only a warning: a failure to find them is logged, not
// returned.
func (p *Runner) warnReaders(ctx context.Context, outputs bool) {
	if p.Log == nil {
		return
	}
	owned, err := p.DeployedOutputs(ctx)
	if err != nil {
		p.logf("program %s: could not look for programs reading its output tables: %v", p.Schema, err)
		return
	}
	var tables []string
	for table, oid := range owned {
		if !outputs && !strings.HasPrefix(table, ident(p.Schema)+".") {
			continue
		}
		// Only the table the program created is dropped (dropOwnedOutputs).
		var now *uint32
		if err := p.Pool.QueryRow(ctx, "SELECT to_regclass($1)::oid", table).Scan(&now); err != nil {
			p.logf("program %s: could not look for programs reading its output table %s: %v", p.Schema, table, err)
			return
		}
		if now != nil && *now == oid {
			tables = append(tables, table)
		}
	}
	if len(tables) == 0 {
		return
	}
	slices.Sort(tables)
	readers, err := ReadersOf(ctx, p.Pool, tables)
	if err != nil {
		p.logf("program %s: could not look for programs reading its output tables: %v", p.Schema, err)
		return
	}
	for _, table := range tables {
		for _, r := range readers[table] {
			if r.Program.Schema == p.Schema {
				continue
			}
			p.logf("warning: program in schema %s reads output table %s of program %s (as source %s), and its capture triggers on the table are dropped with it: drop that program with its outputs (stepq drop --outputs) and run it again",
				r.Program.Schema, r.Table, p.Schema, r.Input)
		}
	}
}
