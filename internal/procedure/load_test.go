package procedure

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixtures are the procedure files under the repository's testdata.
var fixtures = filepath.Join("..", "..", "testdata", "procedures")

// problems splits an error from Parse or Validate into its problems, one
// per line (errors.Join separates them with newlines).
func problems(err error) []string {
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}

func TestLoadValidFixtures(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		wantSteps []string
	}{
		{"small procedure with approval and announcement", "valid.yaml", []string{"approval", "1a", "1b", "2a", "announcement"}},
		{"procedure without approval or announcement", "no-approval.yaml", []string{"1", "2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(filepath.Join(fixtures, tt.file))
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if got := p.Order(); !slices.Equal(got, tt.wantSteps) {
				t.Errorf("Order() = %v, want %v", got, tt.wantSteps)
			}
		})
	}
}

// Each fixture differs from valid.yaml by one fault. The error must name
// where the fault is (the step, field or unit) and must be the only problem
// reported, so that a fixture cannot pass by failing for another reason.
func TestLoadRejectsInvalidFixtures(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings of the single problem
	}{
		{"cycle names every step in it", "cycle.yaml",
			[]string{"cycle: 1a → 1b → 1a"}},
		{"unknown predecessor", "unknown-predecessor.yaml",
			[]string{`step 2a: after: unknown step "2z"`}},
		{"duplicate step id", "duplicate-id.yaml",
			[]string{"step 1a: duplicate step id"}},
		{"task step without route", "missing-route.yaml",
			[]string{"step 2a: no route: set route or a unit with a route"}},
		{"unknown unit", "unknown-unit.yaml",
			[]string{`step 1a: unknown unit "opps"`, "ops, rel"}},
		{"unknown key is an error, located at the step", "unknown-key.yaml",
			[]string{"step 1b", `unknown key "afer"`, "line 39", "after"}},
		{"subject without product placeholder", "bad-subject.yaml",
			[]string{"request.subject", "{product}"}},
		{"search not in subject", "search-not-in-subject.yaml",
			[]string{`request.search "TEST9" is not in request.subject`}},
		{"announcement not after every step", "announcement-not-last.yaml",
			[]string{"step announcement", "does not come after 2a: add 2a to its after"}},
		{"two approval steps", "two-approvals.yaml",
			[]string{"more than one approval step (approval, approval-2)"}},
		{"unknown step kind", "unknown-kind.yaml",
			[]string{`step 1a: unknown kind "taks"`}},
		{"unknown tracker", "bad-tracker.yaml",
			[]string{`unit "rel": route tracker "jira" is unknown`}},
		{"choice field without choices", "choice-without-choices.yaml",
			[]string{`request field "kind": format choice without choices`}},
		{"duplicate field key", "duplicate-field.yaml",
			[]string{`request field "product": duplicate key`}},
		{"unknown field format", "unknown-format.yaml",
			[]string{`request field "product": unknown format "url"`}},
		{"empty action", "empty-action.yaml",
			[]string{"step 1a: action is empty"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(fixtures, tt.file)
			p, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded with %d steps, want an error", tt.file, len(p.Steps))
			}
			got := problems(err)
			if len(got) != 1 {
				t.Fatalf("want exactly one problem, got %d:\n%v", len(got), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(got[0], w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if !strings.Contains(got[0], tt.file) {
				t.Errorf("error does not name the file %s: %v", tt.file, err)
			}
		})
	}
}

// Validate reports every problem, not just the first.
func TestValidateReportsAllProblems(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	p.Steps[1].After = []string{"nope"}       // 1a
	p.Steps[2].Unit = "ghost"                 // 1b
	p.Request.Subject = "no placeholder"      // request
	p.Units["ops"] = Unit{Name: "Operations"} // routeless: 1a loses its route
	err = p.Validate()
	for _, want := range []string{
		`step 1a: after: unknown step "nope"`,
		`step 1b: unknown unit "ghost"`,
		"request.subject",
		"step 1a: no route",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem containing %q", err, want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty input", "", "empty definition"},
		{"two documents", "id: A\n---\nid: B\n", "more than one YAML document"},
		{"unknown top-level key", "id: A\nstpes: []\n", `unknown key "stpes"`},
		{"unknown key in a unit names the unit",
			"id: A\nunits:\n  ops:\n    name: Ops\n    rout: {tracker: ggus, queue: Q}\n", `unit ops: unknown key "rout"`},
		{"unknown key in a request field names the field",
			"id: A\nrequest:\n  fields:\n    - key: product\n      lable: x\n", `request field product: unknown key "lable"`},
		{"duplicate key", "id: A\nid: B\n", "already defined"},
		{"wrong type", "id: A\ndefault_due_days: soon\n", "cannot unmarshal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFillsDefaults(t *testing.T) {
	p, err := Load(filepath.Join(fixtures, "valid.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := p.Step("1a"); s.Kind != KindTask {
		t.Errorf("step 1a kind = %q, want %q", s.Kind, KindTask)
	}
	if f := p.Request.Fields[0]; f.Format != FormatText {
		t.Errorf("field %s format = %q, want %q", f.Key, f.Format, FormatText)
	}
}

func TestEmbeddedUnknownName(t *testing.T) {
	for _, name := range []string{"proc99", "../proc19", ""} {
		t.Run(name, func(t *testing.T) {
			if _, err := Embedded(name); err == nil {
				t.Errorf("Embedded(%q) succeeded, want an error", name)
			} else if name == "proc99" && !strings.Contains(err.Error(), "proc19") {
				t.Errorf("error should list the embedded procedures: %v", err)
			}
		})
	}
}
