package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/stepping-io/stepping/internal/compile"
	"github.com/stepping-io/stepping/ir/lockfile"
	"github.com/stepping-io/stepping/runtime/postgres"
)

// The states of the deployed program a plan --db compares with.
const (
	deployedLocked   = "installed"          // with its lock recorded
	deployedUnlocked = "installed, no lock" // by a stepq that did not record it
	deployedNone     = "not installed"
)

// dbPlan is plan --db's JSON: the plan as against a lock file, what was
// deployed, the source rows each rebuild reads, and the other programs
// installed that read output tables the plan replaces or drops.
type dbPlan struct {
	Schema   string `json:"schema"`
	Deployed string `json:"deployed"`
	*lockfile.Diff
	Reads      []rebuildReads   `json:"reads"`
	Downstream []downstreamRead `json:"downstream"`
	// Apply is what stepq run --db --apply would do, when a program is
	// deployed and differs from this one; ApplyNote says why it is
	// missing when it cannot be known.
	Apply     *postgres.Change `json:"apply,omitempty"`
	ApplyNote string           `json:"apply_note,omitempty"`
}

// rebuildReads is the source rows one view's rebuild reads: those of
// every source it reads, directly or through other views.
type rebuildReads struct {
	View    string           `json:"view"`
	Rows    int64            `json:"rows"`
	Sources map[string]int64 `json:"sources"`
	order   []string         // the sources in the lock's order, for the text
}

// planDB plans the program against the one deployed in schema: it reads
// the lock recorded in the program's _meta, counts the source rows and
// finds the programs downstream, and changes nothing.
func planDB(ctx context.Context, file, url, schema string, asJSON bool, stdout, stderr io.Writer) error {
	if schema == "" {
		schema = defaultSchema(file)
	}
	db, prog, err := connectCompile(ctx, url, file)
	var failed *exitError
	if errors.As(err, &failed) {
		failed.msg += sourceBreaks(ctx, url, schema)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	pg := &postgres.Runner{Pool: db, Circuit: prog.Circuit, Schema: schema}
	plan := &dbPlan{Schema: schema, Deployed: deployedLocked}
	old := ""
	dep, err := pg.Deployed(ctx)
	switch {
	case errors.Is(err, postgres.ErrNotInstalled):
		plan.Deployed = deployedNone
	case err != nil:
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	case dep.Lock == "":
		plan.Deployed = deployedUnlocked
		old = unknownViews(lockfile.Render(prog.Circuit))
	default:
		old = dep.Lock
	}
	if dep != nil && dep.Version != pg.Version() {
		if plan.Apply, err = pg.PlanChange(ctx); err != nil {
			plan.Apply, plan.ApplyNote = nil, err.Error()
		}
	}
	name := "the lock of the program in schema " + schema
	if plan.Diff, err = compareWith(prog, name, old); err != nil {
		return &exitError{code: 1, msg: err.Error() + "\n"}
	}
	if plan.Reads, err = countReads(ctx, pg, prog, plan.Rebuild); err != nil {
		return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
	}
	plan.Downstream = []downstreamRead{}
	if plan.Deployed != deployedNone {
		if plan.Downstream, err = findDownstream(ctx, pg, plan.Diff, old, lockfile.Render(prog.Circuit)); err != nil {
			return &exitError{code: 1, msg: fmt.Sprintf("stepq: %v\n", err)}
		}
	}
	if asJSON {
		for _, r := range plan.Downstream {
			if r.Effect == effectDropped {
				fmt.Fprintf(stderr, "stepq: warning: program in schema %s reads table %s, which this plan drops\n", r.Schema, r.Table)
			}
		}
		return writePlanJSON(stdout, plan)
	}
	if err := writeDBPlan(stdout, plan); err != nil {
		return err
	}
	if err := writeDownstream(stdout, stderr, plan.Downstream); err != nil {
		return err
	}
	switch {
	case plan.Apply != nil:
		fmt.Fprintln(stdout, "stepq run --db --apply:")
		writeChange(stdout, plan.Apply)
	case plan.ApplyNote != "":
		fmt.Fprintf(stdout, "stepq run --db --apply: cannot say: %s\n", plan.ApplyNote)
	}
	return nil
}

// unknownViews is the lock a program installed without one is compared
// with: the program's own lock with each view's lines replaced by a
// version no view has. The deployed graph is unknown, so every view is
// planned as changed and rebuilt, and every output table replaced; the
// inputs and output declarations are taken to be the program's.
func unknownViews(lock string) string {
	var b strings.Builder
	seen := map[string]bool{}
	for _, line := range strings.Split(lock, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "view" {
			b.WriteString(line + "\n")
			continue
		}
		if !seen[f[1]] {
			seen[f[1]] = true
			fmt.Fprintf(&b, "view %s version unknown\n", f[1])
		}
	}
	return b.String()
}

// countReads counts, for each view to rebuild, the rows of every source
// it reads, directly or through other views.
func countReads(ctx context.Context, pg *postgres.Runner, prog *compile.Program, rebuild []string) ([]rebuildReads, error) {
	lock, err := lockfile.Parse("the program's lock", lockfile.Render(prog.Circuit))
	if err != nil {
		return nil, fmt.Errorf("internal error: the program's lock does not parse: %w", err)
	}
	var inputs []string // every input in the lock's order, for stable output
	for _, e := range lock.Entities {
		if e.Kind == "input" {
			inputs = append(inputs, e.Name)
		}
	}
	// sources is memoised: views come in dependency order, but a view is
	// asked for as often as views downstream read it.
	memo := map[string]map[string]bool{}
	var sources func(key string) map[string]bool
	sources = func(key string) map[string]bool {
		if s, ok := memo[key]; ok {
			return s
		}
		s := map[string]bool{}
		if name, ok := strings.CutPrefix(key, "input "); ok {
			s[name] = true
		} else if e := lock.Entity(key); e != nil {
			for _, r := range e.Reads() {
				for in := range sources(r) {
					s[in] = true
				}
			}
		}
		memo[key] = s
		return s
	}
	var need []string
	for _, v := range rebuild {
		for in := range sources("view " + v) {
			if !slices.Contains(need, in) {
				need = append(need, in)
			}
		}
	}
	slices.Sort(need)
	counts, err := pg.CountSources(ctx, need)
	if err != nil {
		return nil, err
	}
	out := []rebuildReads{}
	for _, v := range rebuild {
		r := rebuildReads{View: v, Sources: map[string]int64{}}
		s := sources("view " + v)
		for _, in := range inputs {
			if s[in] {
				r.Sources[in] = counts[in]
				r.Rows += counts[in]
				r.order = append(r.order, in)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// writeDBPlan prints plan --db's text: what is deployed, the plan as
// against a lock file, then the source rows of each rebuild.
func writeDBPlan(w io.Writer, plan *dbPlan) error {
	switch plan.Deployed {
	case deployedNone:
		fmt.Fprintf(w, "deployed: no program in schema %s: everything is added\n", plan.Schema)
	case deployedUnlocked:
		fmt.Fprintf(w, "deployed: the program in schema %s was installed without its lock (by an older stepq): its graph is unknown, so every view is planned as changed and rebuilt\n", plan.Schema)
	default:
		fmt.Fprintf(w, "deployed: the program in schema %s, compared with its recorded lock\n", plan.Schema)
	}
	if err := plan.WriteText(w, true); err != nil {
		return err
	}
	if len(plan.Reads) == 0 {
		_, err := fmt.Fprintln(w, "source rows read by rebuilds: none")
		return err
	}
	var b strings.Builder
	b.WriteString("source rows read by rebuilds:\n")
	for _, r := range plan.Reads {
		parts := make([]string, len(r.order))
		for i, in := range r.order {
			parts[i] = fmt.Sprintf("%s %d", in, r.Sources[in])
		}
		if len(parts) == 0 {
			parts = []string{"no source"}
		}
		fmt.Fprintf(&b, "  %s: %d (%s)\n", r.View, r.Rows, strings.Join(parts, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
