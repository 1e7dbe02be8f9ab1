package procedure

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/procbot/procbot/templates"
)

const ggusServices = "Second Level::Services::EGI Services and Service Components::"

var html = regexp.MustCompile(`(?i)</?(p|ul|ol|li|br|div|span|strong|em|a)[ >/]`)

func proc19(t *testing.T) *Procedure {
	t.Helper()
	p, err := Embedded("proc19")
	if err != nil {
		t.Fatalf("embedded PROC19 does not load: %v", err)
	}
	return p
}

func TestProc19Loads(t *testing.T) {
	p := proc19(t)
	if p.ID != "PROC19" {
		t.Errorf("id = %q, want PROC19", p.ID)
	}
	if !strings.HasPrefix(p.Version, "v8") {
		t.Errorf("version = %q, want v8", p.Version)
	}
	if p.DefaultDueDays <= 0 {
		t.Errorf("default_due_days = %d, want a due date", p.DefaultDueDays)
	}
	if want := "Request for integration of {product} to EGI Production Infrastructure (PROC19)"; p.Request.Subject != want {
		t.Errorf("request.subject = %q, want %q", p.Request.Subject, want)
	}
	if p.Request.Search != "PROC19" {
		t.Errorf("request.search = %q, want PROC19", p.Request.Search)
	}
	if _, err := Embedded("PROC19"); err != nil {
		t.Errorf("Embedded is case-insensitive: %v", err)
	}
}

func TestProc19HasEveryStepOfTheSource(t *testing.T) {
	p := proc19(t)
	want := []string{
		"approval", "0a", "0b",
		"1a", "1b",
		"2a", "2b", "2c",
		"3a", "3b", "3c", "3d",
		"4",
		"5a", "5b",
		"6a", "6b", "6c",
		"7a", "7b", "7c", "7d",
		"8a", "8b", "8c", "8d",
		"9a", "9b", "9c",
		"10",
		"11a", "11b", "11c", "11d",
		"announcement",
	}
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps =\n%v\nwant\n%v", got, want)
	}
	// File order, but for 7d, the UMD release, which waits for the
	// security validation (11d).
	wantOrder := slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == "7d" })
	wantOrder = slices.Insert(wantOrder, slices.Index(wantOrder, "11d")+1, "7d")
	if order := p.Order(); !slices.Equal(order, wantOrder) {
		t.Errorf("Order() = %v, want %v", order, wantOrder)
	}
	for _, s := range p.Steps {
		if strings.TrimSpace(s.Action) == "" {
			t.Errorf("step %s: action is empty", s.ID)
		}
		if html.MatchString(s.Action) || html.MatchString(s.Notes) {
			t.Errorf("step %s: HTML left in action or notes: %q %q", s.ID, s.Action, s.Notes)
		}
		if s.Area == "" {
			t.Errorf("step %s has no area", s.ID)
		}
	}
}

func TestProc19StepKindsAndUnits(t *testing.T) {
	p := proc19(t)
	tests := []struct {
		step     string
		kind     string
		unitName string
		route    Route
	}{
		{"approval", KindApproval, "EGI Operations", Route{}},
		{"0a", KindTask, "EGI Operations", Route{"ggus", "Operations"}},
		{"1a", KindTask, "GOCDB team", Route{"ggus", ggusServices + "Configuration Database (GOCDB)"}},
		{"1b", KindTask, "Pilot Site", Route{"ggus", "Operations"}},
		{"2a", KindTask, "Technology Provider", Route{"ggus", "Operations"}},
		{"3b", KindTask, "ARGO team with EGI Operations", Route{"ggus", ggusServices + "Monitoring (ARGO)"}},
		{"5b", KindTask, "GGUS team", Route{"ggus", ggusServices + "Helpdesk (GGUS)"}},
		{"6b", KindTask, "APEL team", Route{"ggus", ggusServices + "APEL Client and Accounting Repository"}},
		{"6c", KindTask, "EGI Accounting Portal team", Route{"ggus", ggusServices + "Accounting Portal"}},
		{"7c", KindTask, "EGI Software Provisioning Team", Route{"rt", "sw-rel"}},
		{"7d", KindTask, "EGI Operations (UMD representative)", Route{"rt", "sw-rel"}},
		{"11b", KindTask, "EGI Security team (SVG)", Route{"ggus", ggusServices + "Security Coordination"}},
		{"11d", KindTask, "EGI Security team (SVG)", Route{"ggus", ggusServices + "Security Coordination"}},
		{"announcement", KindAnnouncement, "EGI Operations", Route{}},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			s, ok := p.Step(tt.step)
			if !ok {
				t.Fatalf("no step %s", tt.step)
			}
			if s.Kind != tt.kind {
				t.Errorf("kind = %q, want %q", s.Kind, tt.kind)
			}
			if got := p.UnitName(tt.step); got != tt.unitName {
				t.Errorf("UnitName = %q, want %q", got, tt.unitName)
			}
			if tt.kind == KindTask {
				if got := p.RouteOf(tt.step); got != tt.route {
					t.Errorf("RouteOf = %+v, want %+v", got, tt.route)
				}
			}
		})
	}
	var approvals []string
	for _, s := range p.Steps {
		if s.Kind == KindApproval {
			approvals = append(approvals, s.ID)
		}
		if s.Kind == KindTask && p.RouteOf(s.ID).IsZero() {
			t.Errorf("task step %s has no route", s.ID)
		}
	}
	if !slices.Equal(approvals, []string{"approval"}) {
		t.Errorf("approval steps = %v, want exactly [approval]", approvals)
	}
}

func TestProc19StepsAfterApprovalRunAreasInParallel(t *testing.T) {
	p := proc19(t)
	for _, id := range []string{"0a", "0b"} {
		if s, _ := p.Step(id); !slices.Equal(s.After, []string{"approval"}) {
			t.Errorf("step %s after %v, want [approval]", id, s.After)
		}
	}
	// Within an area each step waits for the one before it; the first step
	// of most areas waits for exactly 0a and 0b, so the areas run in
	// parallel. The other edges are the ones the work needs, each with its
	// reason in the procedure file.
	first := map[string][]string{"1a": {"0b"}, "9a": {"0b"}, "10": {"0b"}, "4": {"3c"}}
	cross := map[string][]string{"2b": {"1b"}, "3b": {"1b"}, "6b": {"1b"}, "8b": {"1b"}, "7d": {"11d"}}
	prev := map[string]string{} // area → last step seen
	for _, s := range p.Steps {
		switch s.Area {
		case "Request", "Integration", "Announcement":
			continue
		}
		want := []string{"0a", "0b"}
		if f, ok := first[s.ID]; ok {
			want = f
		}
		if last, ok := prev[s.Area]; ok {
			want = append([]string{last}, cross[s.ID]...)
		}
		if !slices.Equal(s.After, want) {
			t.Errorf("step %s (%s) after %v, want %v", s.ID, s.Area, s.After, want)
		}
		prev[s.Area] = s.ID
	}
	if len(prev) != 11 {
		t.Errorf("found %d parallel areas, want 11: %v", len(prev), prev)
	}
	wantAreas := []string{
		"Request", "Integration", "Configuration Management", "Information System",
		"Monitoring", "Operations (ROD) Dashboard", "Support", "Accounting", "UMD",
		"VM image Marketplace", "Documentation", "Resource Allocation", "Security",
		"Announcement",
	}
	if got := p.Areas(); !slices.Equal(got, wantAreas) {
		t.Errorf("Areas() = %v, want %v", got, wantAreas)
	}
}

func TestProc19AnnouncementComesAfterEverything(t *testing.T) {
	p := proc19(t)
	last := p.Order()[len(p.Steps)-1]
	if last != "announcement" {
		t.Fatalf("last step in Order() = %s, want announcement", last)
	}
	before := p.ancestors("announcement")
	for _, s := range p.Steps {
		if s.ID != "announcement" && !before[s.ID] {
			t.Errorf("announcement does not come after step %s", s.ID)
		}
	}
}

func TestProc19MarketplaceOnlyForCloud(t *testing.T) {
	p := proc19(t)
	cloudOnly := []string{"8a", "8b", "8c", "8d"}
	for _, s := range p.Steps {
		t.Run(s.ID, func(t *testing.T) {
			if slices.Contains(cloudOnly, s.ID) {
				if !slices.Equal(s.AppliesTo, []string{"cloud"}) {
					t.Errorf("applies_to = %v, want [cloud]", s.AppliesTo)
				}
				if p.Applies(s.ID, "middleware") {
					t.Error("applies to middleware, want cloud only")
				}
				if !p.Applies(s.ID, "Cloud") || !p.Applies(s.ID, "") {
					t.Error("does not apply to cloud or to an unknown kind")
				}
				return
			}
			if len(s.AppliesTo) != 0 || !p.Applies(s.ID, "middleware") {
				t.Errorf("applies_to = %v, want every kind", s.AppliesTo)
			}
		})
	}
}

func TestProc19RequestFields(t *testing.T) {
	p := proc19(t)
	tests := []struct {
		key      string
		required bool
		format   string
		alias    string // one alias that must be accepted
	}{
		{"product", true, FormatText, ""},
		{"contact", true, FormatContact, "contact details"},
		{"customers", true, FormatText, "customers"},
		{"motivation", true, FormatText, ""},
		// The seed's prerequisites and functional requirements.
		{"requester", true, FormatChoice, "requester"},
		{"requester_oc", false, FormatText, ""}, // required for a Resource Centre
		{"resource_centres", true, FormatText, "Resource Centres"},
		{"oc_support", true, FormatText, ""},
		{"tp_effort", true, FormatChoice, ""},
		{"vo_concept", true, FormatChoice, "VO concept"},
		{"identities", true, FormatChoice, ""},
		{"site", false, FormatContact, "pilot site"},
		{"kind", false, FormatChoice, "kind"},
	}
	if len(p.Request.Fields) != len(tests) {
		t.Errorf("%d fields, want %d", len(p.Request.Fields), len(tests))
	}
	for i, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if i >= len(p.Request.Fields) {
				t.Fatal("missing")
			}
			f := p.Request.Fields[i]
			if f.Key != tt.key || f.Required != tt.required || f.Format != tt.format {
				t.Errorf("field = {key %q required %v format %q}, want {%q %v %q}", f.Key, f.Required, f.Format, tt.key, tt.required, tt.format)
			}
			if tt.alias != "" && !slices.ContainsFunc(f.Aliases, func(a string) bool { return strings.EqualFold(a, tt.alias) }) {
				t.Errorf("aliases %v lack %q", f.Aliases, tt.alias)
			}
			if f.Help == "" {
				t.Error("no help text")
			}
		})
	}
	// A "no" to a functional requirement or to the TP's effort is flagged.
	for _, key := range []string{"tp_effort", "vo_concept", "identities"} {
		i := slices.IndexFunc(p.Request.Fields, func(f Field) bool { return f.Key == key })
		if i < 0 || len(p.Request.Fields[i].Expect) == 0 || slices.Contains(p.Request.Fields[i].Expect, "no") || slices.Contains(p.Request.Fields[i].Expect, "none") {
			t.Errorf("field %s: expect must list the answers the seed requires", key)
		}
	}
}

// The source's 7d waits for "a successful provisioning (step 11c)": the
// release waits for the provisioning (7c) and the security validation
// (11c, 11d), and says so.
func TestProc19Step7dWaitsForProvisioningAndSecurity(t *testing.T) {
	s, _ := proc19(t).Step("7d")
	if !strings.Contains(s.Action, "step 7c") || !strings.Contains(s.Action, "11d") {
		t.Errorf("7d action = %q, want references to steps 7c and 11d", s.Action)
	}
	if !slices.Equal(s.After, []string{"7c", "11d"}) {
		t.Errorf("7d after %v, want [7c 11d]", s.After)
	}
}

// Forgetting an area's last step in the announcement's after is caught,
// and the fix names just that step.
func TestProc19AnnouncementMissingAnAreaIsRejected(t *testing.T) {
	data, err := templates.Procedure("proc19")
	if err != nil {
		t.Fatal(err)
	}
	const full = `after: [1b, 2c, 3d, "4", 5b, 6c, 7d, 8d, 9c, "10", 11d]`
	if !bytes.Contains(data, []byte(full)) {
		t.Fatalf("proc19.yaml no longer has %s; update this test", full)
	}
	broken := bytes.Replace(data, []byte(full), []byte(`after: [1b, 2c, 3d, "4", 5b, 6c, 7d, 8d, "10", 11d]`), 1)
	_, err = Parse(broken)
	want := "step announcement: the announcement does not come after 9a, 9b, 9c: add 9c to its after"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Parse = %v, want %q", err, want)
	}
}
