package procedure

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]Route
	}{
		{"empty", "", map[string]Route{}},
		{"one entry", "gocdb=ggus:Operations", map[string]Route{"gocdb": {"ggus", "Operations"}}},
		{"queue with spaces and ::, tracker case-insensitive, spaces trimmed, trailing ;",
			" gocdb = GGUS : Second Level::Services::EGI Services and Service Components::Configuration Database (GOCDB) ; 7c=rt:Software Release;",
			map[string]Route{
				"gocdb": {"ggus", "Second Level::Services::EGI Services and Service Components::Configuration Database (GOCDB)"},
				"7c":    {"rt", "Software Release"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRoutes(tt.in)
			if err != nil {
				t.Fatalf("ParseRoutes: %v", err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseRoutes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRoutesRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error
	}{
		{"no =", "gocdb", []string{`route entry 1 "gocdb"`, "unit-or-step=tracker:queue"}},
		{"no key", "=ggus:Operations", []string{`route entry 1 "=ggus:Operations"`}},
		{"no tracker", "ok=rt:Q;gocdb=Operations", []string{`route entry 2 "gocdb=Operations"`, "tracker:queue"}},
		{"unknown tracker", "gocdb=jira:OPS", []string{`route entry 1 "gocdb=jira:OPS"`, `unknown tracker "jira"`}},
		{"empty queue", "gocdb=ggus: ", []string{`route entry 1 "gocdb=ggus:"`, "queue is empty"}},
		{"duplicate key", "a=rt:X;a=rt:Y", []string{`route entry 2 "a=rt:Y"`, "more than once"}},
		{"every bad entry is reported", "x;ok=rt:Q;y=svn:Z", []string{`route entry 1 "x"`, `route entry 3 "y=svn:Z"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRoutes(tt.in)
			if err == nil {
				t.Fatalf("ParseRoutes(%q) = %v, want an error", tt.in, got)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestApplyRoutes(t *testing.T) {
	load := func(t *testing.T) *Procedure {
		p, err := Load(filepath.Join(fixtures, "valid.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("unit and step overrides take effect", func(t *testing.T) {
		p := load(t)
		err := p.ApplyRoutes(map[string]Route{
			"ops": {"ggus", "Second Level::Other"},
			"1b":  {"ggus", "Step Group"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for step, want := range map[string]Route{
			"1a": {"ggus", "Second Level::Other"}, // via unit ops
			"1b": {"ggus", "Step Group"},          // its own route now
			"2a": {"rt", "Other Queue"},           // untouched
		} {
			if got := p.RouteOf(step); got != want {
				t.Errorf("RouteOf(%s) = %+v, want %+v", step, got, want)
			}
		}
	})

	t.Run("unknown key is an error naming it and changes nothing", func(t *testing.T) {
		p := load(t)
		err := p.ApplyRoutes(map[string]Route{
			"ops":   {"rt", "Changed"},
			"gocdb": {"ggus", "X"},
			"99z":   {"rt", "Y"},
		})
		if err == nil {
			t.Fatal("ApplyRoutes accepted unknown keys")
		}
		for _, w := range []string{`route override "gocdb"`, `route override "99z"`, "ops, rel"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		if got := p.RouteOf("1a"); got != (Route{"ggus", "Operations"}) {
			t.Errorf("route of 1a changed to %+v despite the error", got)
		}
	})

	t.Run("override that makes the procedure invalid is refused", func(t *testing.T) {
		p := load(t)
		err := p.ApplyRoutes(map[string]Route{"approval": {"ggus", "X"}})
		if err == nil || !strings.Contains(err.Error(), "step approval: route is set but approval steps open no child ticket") {
			t.Fatalf("ApplyRoutes = %v, want the approval route refused", err)
		}
		if s, _ := p.Step("approval"); !s.Route.IsZero() {
			t.Errorf("approval route set to %+v despite the error", s.Route)
		}
	})

	t.Run("empty route is refused", func(t *testing.T) {
		p := load(t)
		if err := p.ApplyRoutes(map[string]Route{"ops": {}}); err == nil || !strings.Contains(err.Error(), `route override "ops": empty route`) {
			t.Fatalf("ApplyRoutes = %v, want the empty route refused", err)
		}
	})

	t.Run("PROC19 with overrides from the environment format", func(t *testing.T) {
		p := proc19(t)
		routes, err := ParseRoutes("cloud-vm=ggus:Second Level::Services::Cloud VM;10=rt:Requirements")
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ApplyRoutes(routes); err != nil {
			t.Fatal(err)
		}
		if got := p.RouteOf("8d"); got != (Route{"ggus", "Second Level::Services::Cloud VM"}) {
			t.Errorf("RouteOf(8d) = %+v", got)
		}
		if got := p.RouteOf("10"); got != (Route{"rt", "Requirements"}) {
			t.Errorf("RouteOf(10) = %+v", got)
		}
	})
}
