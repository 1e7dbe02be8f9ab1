package procedure

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A procedure written out of dependency order, with a unit without a name,
// a step with its own route and due_days, and a step without a unit.
const unordered = `
id: T
request:
  subject: "{product} (T)"
  search: (T)
  fields:
    - {key: kind, label: kind, format: choice, choices: [cloud, middleware]}
units:
  ops: {name: Operations, route: {tracker: ggus, queue: Operations}}
  bare: {route: {tracker: rt, queue: Q}}
default_due_days: 3
steps:
  - {id: c, unit: ops, action: C, after: [b], area: Second}
  - {id: a, unit: ops, action: A}
  - {id: d, unit: bare, action: D, after: [a], due_days: 10, route: {tracker: rt, queue: Own}}
  - {id: b, unit: ops, action: B, after: [a], area: Second}
  - {id: e, action: E, applies_to: [Cloud], area: First, route: {tracker: ggus, queue: G}}
`

func parseUnordered(t *testing.T) *Procedure {
	t.Helper()
	p, err := Parse([]byte(unordered))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOrderRespectsAfterAndKeepsFileOrder(t *testing.T) {
	p := parseUnordered(t)
	// Each time, the earliest step in the file whose predecessors are done:
	// c waits for b, which waits for a; e is ready from the start but is
	// last in the file, so every earlier step that becomes ready goes first.
	want := []string{"a", "d", "b", "c", "e"}
	if got := p.Order(); !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
}

func TestOrderOfCycleStillListsEveryStep(t *testing.T) {
	p := &Procedure{Steps: []Step{
		{ID: "x", After: []string{"y"}},
		{ID: "y", After: []string{"x"}},
		{ID: "z"},
	}}
	if got, want := p.Order(), []string{"z", "x", "y"}; !slices.Equal(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
	err := p.Validate()
	if err == nil {
		t.Fatal("Validate accepted a cycle")
	}
	if got := err.Error(); !containsLine(got, "cycle: x → y → x: remove one of these steps from another's after") {
		t.Errorf("Validate() = %v, want the cycle x → y → x", err)
	}
}

func TestSelfCycle(t *testing.T) {
	p := &Procedure{Steps: []Step{{ID: "x", After: []string{"x"}}}}
	if err := p.Validate(); err == nil || !containsLine(err.Error(), "cycle: x → x: remove one of these steps from another's after") {
		t.Errorf("Validate() = %v, want the cycle x → x", err)
	}
}

func TestQueries(t *testing.T) {
	p := parseUnordered(t)
	tests := []struct {
		step     string
		route    Route
		unitName string
		due      time.Duration
	}{
		{"a", Route{"ggus", "Operations"}, "Operations", 3 * 24 * time.Hour},
		{"d", Route{"rt", "Own"}, "bare", 10 * 24 * time.Hour},
		{"e", Route{"ggus", "G"}, "", 3 * 24 * time.Hour},
		{"nope", Route{}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			if got := p.RouteOf(tt.step); got != tt.route {
				t.Errorf("RouteOf = %+v, want %+v", got, tt.route)
			}
			if got := p.UnitName(tt.step); got != tt.unitName {
				t.Errorf("UnitName = %q, want %q", got, tt.unitName)
			}
			if got := p.Due(tt.step); got != tt.due {
				t.Errorf("Due = %v, want %v", got, tt.due)
			}
		})
	}
	if got, want := p.Areas(), []string{"Second", "First"}; !slices.Equal(got, want) {
		t.Errorf("Areas() = %v, want %v", got, want)
	}
}

func TestApplies(t *testing.T) {
	p := parseUnordered(t)
	tests := []struct {
		name string
		step string
		kind string
		want bool
	}{
		{"step without applies_to applies to any kind", "a", "middleware", true},
		{"restricted step applies to its kind", "e", "cloud", true},
		{"kind is compared case-insensitively", "e", " CLOUD ", true},
		{"restricted step does not apply to another kind", "e", "middleware", false},
		{"restricted step applies while the kind is unknown", "e", "", true},
		{"unknown step does not apply", "nope", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Applies(tt.step, tt.kind); got != tt.want {
				t.Errorf("Applies(%q, %q) = %v, want %v", tt.step, tt.kind, got, tt.want)
			}
		})
	}
}

func containsLine(s, line string) bool {
	return slices.Contains(strings.Split(s, "\n"), line)
}

// TestViewsAreTheProceduresOwn: what Order and Areas return is the
// caller's to change without changing the procedure, and a procedure
// changed and validated again answers for its new steps.
func TestViewsAreTheProceduresOwn(t *testing.T) {
	p := parseUnordered(t)
	want, wantAreas := []string{"a", "d", "b", "c", "e"}, []string{"Second", "First"}

	order := p.Order()
	order[0] = "changed"
	areas := p.Areas()
	areas[0] = "changed"
	if got := p.Order(); !slices.Equal(got, want) {
		t.Errorf("after the caller changed its Order(), Order() = %v, want %v", got, want)
	}
	if got := p.Areas(); !slices.Equal(got, wantAreas) {
		t.Errorf("after the caller changed its Areas(), Areas() = %v, want %v", got, wantAreas)
	}
	if got := slices.Collect(p.InOrder()); !slices.Equal(got, want) {
		t.Errorf("InOrder() = %v, want %v", got, want)
	}

	// c, first in the file, waits for b; without its after it comes
	// first, once the procedure is validated again.
	if p.Steps[0].ID != "c" {
		t.Fatalf("test procedure's first step is %s, want c", p.Steps[0].ID)
	}
	p.Steps[0].After = nil
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Order(), []string{"c", "a", "d", "b", "e"}; !slices.Equal(got, want) {
		t.Errorf("Order() after the change = %v, want %v", got, want)
	}
	if s, ok := p.Step("c"); !ok || len(s.After) != 0 {
		t.Errorf("Step(c) after the change = %+v, %v; want c without after", s, ok)
	}
}

// TestCriticalPath: the longest chain by due time, and its length; a
// shorter chain with more steps does not win.
func TestCriticalPath(t *testing.T) {
	p := parseUnordered(t)
	path, total := p.CriticalPath()
	if !slices.Equal(path, []string{"a", "d"}) || total != 13*24*time.Hour {
		t.Errorf("critical path %v, %v; want [a d], 13 days (a: 3, d: 10; a b c takes 9)", path, total)
	}
}
