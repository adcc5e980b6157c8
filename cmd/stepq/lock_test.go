package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shopCopy returns a directory of its own holding a copy of
// examples/shop.step, the example's text, and a function that rewrites
// the copy.
func shopCopy(t *testing.T) (dir string, src []byte, write func(text string)) {
	t.Helper()
	dir = t.TempDir()
	src, err := os.ReadFile(filepath.Join(repoRoot, "examples", "shop.step"))
	if err != nil {
		t.Fatal(err)
	}
	write = func(text string) {
		if err := os.WriteFile(filepath.Join(dir, "shop.step"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(string(src))
	return dir, src, write
}

// TestLockExitCodes runs lock, check --locked and plan over a copy of
// examples/shop.step as it is edited, checking each exit status and what
// the output names.
func TestLockExitCodes(t *testing.T) {
	dir, src, write := shopCopy(t)
	edited := strings.Replace(string(src), "items = count()", "items = count(), qty = sum(line_items.qty)", 1)
	if edited == string(src) {
		t.Fatal("the edit changes nothing")
	}
	commented := "# a comment added\n" + string(src)
	steps := []struct {
		name   string
		src    string // the program before the command; "" keeps it
		args   []string
		code   int
		stdout []string // substrings of standard output
	}{
		{"check without flag, no lock", string(src), []string{"check", "shop.step"}, 0, nil},
		{"no lock", "", []string{"check", "--locked", "shop.step"}, 1, nil},
		{"plan without lock", "", []string{"plan", "shop.step"}, 0, []string{"view basket_totals: added"}},
		{"lock", "", []string{"lock", "shop.step"}, 0, nil},
		{"locked", "", []string{"check", "--locked", "shop.step"}, 0, nil},
		{"comment only", commented, []string{"check", "--locked", "shop.step"}, 0, nil},
		{"edited", edited, []string{"check", "--locked", "shop.step"}, 1,
			[]string{"view basket_totals: changed", "+ view basket_totals column qty int8", "view receipts: unchanged, rebuilt: reads view basket_totals"}},
		{"edited, json", "", []string{"check", "-json", "--locked", "shop.step"}, 1, []string{"[]"}},
		{"edited, without flag", "", []string{"check", "shop.step"}, 0, nil},
		{"plan", "", []string{"plan", "shop.step"}, 0,
			[]string{"rebuild views: basket_totals, receipts", "replace output tables: basket_totals, receipts"}},
		{"relock", "", []string{"lock", "shop.step"}, 0, nil},
		{"relocked", "", []string{"check", "--locked", "shop.step"}, 0, nil},
		{"plan args", "", []string{"plan"}, 2, nil},
		{"plan --schema without --db", "", []string{"plan", "--schema", "s", "shop.step"}, 2, nil},
	}
	for _, s := range steps {
		if s.src != "" {
			write(s.src)
		}
		r := runStepq(t, dir, s.args...)
		if r.code != s.code {
			t.Fatalf("%s: stepq %s: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s",
				s.name, strings.Join(s.args, " "), r.code, s.code, r.stdout, r.stderr)
		}
		for _, want := range s.stdout {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", s.name, want, r.stdout)
			}
		}
	}
}

// TestPlanJSON checks that plan -json is the plan as one JSON object.
func TestPlanJSON(t *testing.T) {
	r := runStepq(t, repoRoot, "plan", "-json", "examples/shop.step")
	r.want(t, 0)
	var plan struct {
		Changes []struct{ Kind, Name, Status string }
		Rebuild []string
		Live    []string
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(plan.Changes) != 6 || len(plan.Rebuild) != 0 || strings.Join(plan.Live, ",") != "basket_totals,receipts" {
		t.Errorf("plan of an up-to-date example: %+v", plan)
	}
	for _, c := range plan.Changes {
		if c.Status != "unchanged" {
			t.Errorf("%s %s: %s, want unchanged", c.Kind, c.Name, c.Status)
		}
	}
}
