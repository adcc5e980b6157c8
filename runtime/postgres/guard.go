package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/stepping-io/stepping/ir"
)

// A guest in someone's database: before installing anything, the runner
// checks that it can do all it needs with the rights it has, that it
// can capture every change of each source, and that nothing it would
// create already exists. What it creates it records in _meta, and it
// only ever alters or drops what is recorded there.

// preflight checks, before install creates anything, what would make it
// fail halfway or make the program wrong: a right the role lacks, a
// source whose changes triggers cannot all see, an output table that
// exists already (someone else's, or one of the program's own sources).
// Each error names the program, the object and the fix.
func (p *Runner) preflight(ctx context.Context) error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("program %s: "+format, append([]any{p.Schema}, args...)...))
	}
	var role, db string
	if err := p.Pool.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&role, &db); err != nil {
		return err
	}
	var schemaExists, canCreateSchema bool
	if err := p.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), has_database_privilege(current_database(), 'CREATE')",
		p.Schema).Scan(&schemaExists, &canCreateSchema); err != nil {
		return err
	}
	if !schemaExists && !canCreateSchema {
		fail("role %s may not create schemas in database %s: GRANT CREATE ON DATABASE %s TO %s, or create the program's schema for it: CREATE SCHEMA %s AUTHORIZATION %s",
			role, db, ident(db), ident(role), ident(p.Schema), ident(role))
	}
	sources := map[uint32]string{}
	for _, in := range p.Circuit.Inputs {
		if in.Postgres == nil {
			continue
		}
		oid, err := p.checkSource(ctx, in, role, fail)
		if err != nil {
			return err
		}
		if oid != 0 {
			sources[oid] = in.Name
		}
	}
	for _, o := range p.Circuit.Outputs {
		if o.Table == nil {
			continue // the program's own schema, created with it
		}
		if err := p.checkOutput(ctx, o, role, sources, fail); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

// checkSource checks that the role may read, lock and add triggers to a
// source, and that statement triggers on it see every change: not so for
// a partitioned table (a write straight into a partition bypasses
// them), a table with inheritance children, or a partition or child
// (a write through the parent bypasses its triggers). It returns the
// table's oid.
func (p *Runner) checkSource(ctx context.Context, in *ir.Input, role string, fail func(string, ...any)) (uint32, error) {
	name := p.sourceName(in)
	var oid uint32
	var kind string
	var parent, children bool
	var canSelect, canTrigger, canLock, hidden bool
	// hidden: row-level security applies to the role (not a superuser,
	// not BYPASSRLS, not the owner of a table without FORCE).
	err := p.Pool.QueryRow(ctx, `SELECT c.oid, c.relkind::text,
    EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid),
    EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid),
    has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'TRIGGER'),
    has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'),
    c.relrowsecurity AND NOT (r.rolsuper OR r.rolbypassrls OR (pg_has_role(c.relowner, 'USAGE') AND NOT c.relforcerowsecurity))
  FROM pg_class c, pg_roles r WHERE c.oid = to_regclass($1) AND r.rolname = current_user`, name).Scan(&oid, &kind, &parent, &children, &canSelect, &canTrigger, &canLock, &hidden)
	if errors.Is(err, pgx.ErrNoRows) {
		fail("source table %s does not exist", name)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	switch {
	case kind == "p":
		fail("source table %s is partitioned: changes written straight into a partition would not be captured; read the partitions as sources of their own, or a table that is not partitioned", name)
	case kind != "r":
		fail("source %s is not an ordinary table (relkind %s): only tables' changes can be captured", name, kind)
	case children:
		fail("source table %s has inheritance children: changes written into them would not be captured", name)
	case parent:
		fail("source table %s is a partition or inheritance child: changes written through its parent would not be captured", name)
	case hidden:
		// Capture logs every change, but the backfill and the lookups
		// that read the source would see only the rows the policies
		// let the role see.
		fail("source table %s has row-level security that role %s is subject to: the program would see only some of its rows; run it as a role with BYPASSRLS (ALTER ROLE %s BYPASSRLS) or as the table's owner", name, role, ident(role))
	}
	var missing []string
	if !canSelect {
		missing = append(missing, "SELECT")
	}
	if !canTrigger {
		missing = append(missing, "TRIGGER")
	}
	if !canLock {
		missing = append(missing, "UPDATE")
	}
	if len(missing) > 0 {
		fail("role %s lacks %s on source table %s (to read it, install the capture triggers and lock it while its rows are copied): GRANT %s ON %s TO %s",
			role, strings.Join(missing, ", "), name, strings.Join(missing, ", "), name, ident(role))
	}
	return oid, nil
}

// checkOutput checks that an output's table does not exist yet (install
// creates it, and must never adopt a table that is not its own) and that
// the role may create it.
func (p *Runner) checkOutput(ctx context.Context, o *ir.Output, role string, sources map[uint32]string, fail func(string, ...any)) error {
	table := p.outputTable(o)
	var oid *uint32
	var schema string
	var canCreate *bool
	var written any // the schema the output names; NULL: the search path's first
	if len(o.Table) > 1 {
		written = o.Table[0]
	}
	err := p.Pool.QueryRow(ctx, `SELECT to_regclass($1)::oid, s.name, (SELECT has_schema_privilege(n.oid, 'CREATE') FROM pg_namespace n WHERE n.nspname = s.name)
  FROM (SELECT coalesce($2::text, current_schema()) AS name) s`, table, written).Scan(&oid, &schema, &canCreate)
	if err != nil {
		return err
	}
	switch {
	case oid != nil && sources[*oid] != "":
		fail("output %s writes table %s, which source %s reads: its writes would feed back into it; write the output to a table of its own", o.View.Name, table, sources[*oid])
	case oid != nil:
		fail("output %s: table %s already exists and was not created by this program; stepping never writes into a table it did not create: name another table (output %s to table ...), or drop that one if it is a leftover",
			o.View.Name, table, o.View.Name)
	case canCreate == nil:
		fail("output %s: schema %s of table %s does not exist", o.View.Name, schema, table)
	case !*canCreate:
		fail("output %s: role %s may not create tables in schema %s: GRANT CREATE ON SCHEMA %s TO %s", o.View.Name, role, schema, ident(schema), ident(role))
	}
	return nil
}

// ownedOutputs returns the output tables the program created, each with
// the oid it had then, as recorded in _meta.
func (p *Runner) ownedOutputs(ctx context.Context, q querier) (map[string]uint32, error) {
	raw, err := p.meta(ctx, q, "outputs")
	if err != nil || raw == "" {
		return nil, err
	}
	owned := map[string]uint32{}
	if err := json.Unmarshal([]byte(raw), &owned); err != nil {
		return nil, fmt.Errorf("program %s: the record of its output tables is unreadable: %w", p.Schema, err)
	}
	return owned, nil
}

// recordOutputs records, in the transaction that created them, the output
// tables as the program's own, by name and oid: a table of the same name
// made later by someone else is never taken for one of them.
func (p *Runner) recordOutputs(ctx context.Context, tx pgx.Tx) error {
	owned := map[string]uint32{}
	for _, o := range p.Circuit.Outputs {
		table := p.outputTable(o)
		var oid uint32
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::oid", table).Scan(&oid); err != nil {
			return fmt.Errorf("recording output table %s: %w", table, err)
		}
		owned[table] = oid
	}
	raw, err := json.Marshal(owned)
	if err != nil {
		return err
	}
	return p.setMeta(ctx, tx, "outputs", string(raw))
}

// dropOwnedOutputs drops the output tables recorded as the program's own
// that are still the tables it created.
func (p *Runner) dropOwnedOutputs(ctx context.Context, tx pgx.Tx) error {
	owned, err := p.ownedOutputs(ctx, tx)
	if err != nil {
		return err
	}
	for table, oid := range owned {
		var now *uint32
		if err := tx.QueryRow(ctx, "SELECT to_regclass($1)::oid", table).Scan(&now); err != nil {
			return err
		}
		switch {
		case now == nil:
		case *now != oid:
			p.logf("not dropping %s: it is not the table program %s created", table, p.Schema)
		default:
			if _, err := tx.Exec(ctx, "DROP TABLE "+table); err != nil {
				return fmt.Errorf("dropping output table %s: %w", table, err)
			}
		}
	}
	return nil
}

// isProgramSchema reports whether the program's schema exists and was
// made by stepping (it holds the program's metadata), and whether it
// exists at all.
func (p *Runner) isProgramSchema(ctx context.Context) (ours, exists bool, err error) {
	err = p.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
    to_regclass($2) IS NOT NULL AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($2) AND attname = 'key')`,
		p.Schema, p.t("_meta")).Scan(&exists, &ours)
	return ours, exists, err
}
