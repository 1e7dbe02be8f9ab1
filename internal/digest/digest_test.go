package digest_test

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/digest"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/digest")

// now is a Monday morning.
var now = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func daysAgo(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }

func proc19(t *testing.T) *procedure.Procedure {
	t.Helper()
	p, err := procedure.Embedded("proc19")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var ops = core.Member{Email: "operations@egi.example", Name: "EGI Operations", Role: "EGI Operations"}

func request(p *procedure.Procedure, id, product string, phase core.Phase) core.Instance {
	parent := core.TicketRef{Tracker: "ggus", ID: id, Number: "10" + id}
	inst := core.NewInstance(p, core.Ticket{Ref: parent, Title: "Request for integration of " + product + " to EGI Production Infrastructure (PROC19)",
		URL: "https://helpdesk.example/#ticket/zoom/" + id}, product, daysAgo(60))
	inst.Phase = phase
	return inst
}

func done(at time.Time) core.StepState { return core.StepState{Status: core.StepDone, DoneAt: at} }

// open is a step whose child ggus ticket <n> was opened days ago.
func open(n string, days int) core.StepState {
	return core.StepState{Status: core.StepOpen, Child: core.TicketRef{Tracker: "ggus", ID: n, Number: "20" + n},
		ChildURL: "https://helpdesk.example/#ticket/zoom/" + n, OpenedAt: daysAgo(days)}
}

// fixtures: three open requests (one half-way, one just started, one
// waiting for approval), one completed and one rejected.
func fixtures(t *testing.T) (map[string]*procedure.Procedure, []core.Instance) {
	p := proc19(t)
	foo := request(p, "1000", "FooStack", core.PhaseRunning)
	foo.Kind = "cloud"
	foo.TaskForce = []core.Member{
		{Email: "juergen.mueller@foostack.example", Name: "Jürgen Müller", Role: "Technology Provider"},
		{Email: "ana@ngi.example", Name: "Ana Núñez", Role: "NGI representative (pilot site)"},
		{Email: "Operations@egi.example", Role: "EGI Operations representative"},
	}
	for _, id := range []string{"approval", "0a", "0b", "1a", "5a", "7a", "7b", "8a", "9a", "11a", "11b"} {
		foo.Steps[id] = done(daysAgo(40))
	}
	foo.Steps["approval"] = core.StepState{Status: core.StepDone, DoneAt: daysAgo(50), By: "chief@egi.example"}
	foo.Steps["1b"] = done(daysAgo(5))
	foo.Steps["3a"] = done(daysAgo(13))
	foo.Steps["5b"] = done(daysAgo(3))
	foo.Steps["2a"] = open("2101", 20) // due 30: open
	foo.Steps["3b"] = open("2102", 20) // due 14 (default): overdue by 6
	foo.Steps["4"] = core.StepState{Status: core.StepOpening}
	foo.Steps["6a"] = open("2103", 3)
	foo.Steps["7c"] = core.StepState{Status: core.StepOpen, Child: core.TicketRef{Tracker: "rt", ID: "7", Number: "7"},
		ChildURL: "https://rt.example/Ticket/Display.html?id=7", OpenedAt: daysAgo(7)}
	foo.Steps["8b"] = open("2104", 28) // overdue by 14
	foo.Steps["9b"] = open("2105", 22)
	foo.Steps["11c"] = open("2106", 5)
	foo.Steps["10"] = core.StepState{Status: core.StepSkipped, Reason: "e-GRANT was retired", By: "ops@egi.example", DoneAt: daysAgo(4)}

	bar := request(p, "1300", "BarStack", core.PhaseRunning)
	bar.Kind = "middleware"
	bar.TaskForce = []core.Member{
		{Email: "ANA@ngi.example", Role: "NGI representative"},
		{Email: "bob@community.example", Name: "Bob Smith", Role: "User communities"},
	}
	bar.Steps["approval"] = core.StepState{Status: core.StepDone, DoneAt: daysAgo(21), By: "chief@egi.example"}
	bar.Steps["0a"] = open("2301", 20)
	bar.Steps["0b"] = done(daysAgo(6))
	// On hold, with a step whose child failed.
	bar.Hold = core.Hold{By: "chief@egi.example", Reason: "waiting for the Underpinning Agreement", Since: daysAgo(2)}
	for _, id := range []string{"8a", "8b", "8c", "8d"} {
		bar.Steps[id] = core.StepState{Status: core.StepSkipped, Reason: "applies only to cloud products; this one is middleware", DoneAt: daysAgo(20)}
	}

	baz := request(p, "1500", "BazStack", core.PhaseAwaitingApproval)

	qux := request(p, "1700", "QuxStack", core.PhaseCompleted)
	qux.TaskForce = []core.Member{{Email: "ana@ngi.example"}}
	zot := request(p, "1900", "ZotStack", core.PhaseRejected)
	zot.TaskForce = []core.Member{{Email: "ana@ngi.example"}}
	inc := request(p, "2000", "IncStack", core.PhaseIncomplete)
	inc.TaskForce = []core.Member{{Email: "ana@ngi.example"}}

	// Out of order on purpose: Build sorts.
	return map[string]*procedure.Procedure{"PROC19": p}, []core.Instance{zot, baz, foo, qux, inc, bar}
}

func TestGolden(t *testing.T) {
	procs, insts := fixtures(t)
	r, err := digest.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	ds := digest.Build(procs, insts, []core.Member{ops}, now)
	var got []string
	for _, d := range ds {
		got = append(got, d.To.Email)
	}
	want := []string{"ana@ngi.example", "bob@community.example", "juergen.mueller@foostack.example", "operations@egi.example"}
	if !slices.Equal(got, want) {
		t.Fatalf("recipients %v, want %v", got, want)
	}
	for _, d := range ds {
		name := strings.SplitN(d.To.Email, "@", 2)[0]
		t.Run(name, func(t *testing.T) {
			subject, text, html, err := r.Digest(d)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".txt", "Subject: "+subject+"\n"+text)
			golden(t, name+".html", html)
		})
	}
	t.Run("announcement", func(t *testing.T) {
		p := procs["PROC19"]
		inst := insts[2] // FooStack
		for _, id := range p.Order() {
			if st := inst.Steps[id]; !st.Status.Complete() {
				inst.Steps[id] = done(now)
			}
		}
		inst.Phase = core.PhaseCompleted
		inst.Data = map[string]string{"contact_name": "Jürgen Müller", "contact_email": "juergen.mueller@foostack.example", "customers": "EGI-ACE communities"}
		subject, text, err := r.Announcement(p, inst)
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "announcement.txt", "Subject: "+subject+"\n"+text)
	})
}

// TestSections checks the golden scenario's facts independently of the
// templates, so that a wrong golden file cannot hide a wrong digest.
// TestFailedCountsApart: a failed step is neither done nor complete, and
// the digest says it waits for an operator.
func TestFailedCountsApart(t *testing.T) {
	procs, insts := fixtures(t)
	for i := range insts {
		if insts[i].Product == "FooStack" {
			insts[i].Steps["2a"] = core.StepState{Status: core.StepFailed, Child: core.TicketRef{Tracker: "ggus", ID: "2107", Number: "12107"}, DoneAt: daysAgo(1)}
		}
	}
	ds := digest.Build(procs, insts, []core.Member{ops}, now)
	foo := ds[0].Procedures[0]
	if foo.Product != "FooStack" || foo.Failed != 1 || foo.Done != 14 || foo.Complete != 15 {
		t.Errorf("%s: %d failed, %d done, %d complete; want 1, 14, 15", foo.Product, foo.Failed, foo.Done, foo.Complete)
	}
	r, err := digest.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	_, text, _, err := r.Digest(ds[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "1 failed (waiting for an operator)") {
		t.Errorf("the digest does not show the failed step:\n%s", text)
	}
}

func TestSections(t *testing.T) {
	procs, insts := fixtures(t)
	ds := digest.Build(procs, insts, []core.Member{ops}, now)
	ana := ds[0]
	if ana.To.Name != "Ana Núñez" || ana.Week != "2026-W48" || !ana.Generated.Equal(now) {
		t.Errorf("ana's digest: %+v", ana.To)
	}
	if keys := procKeys(ana); !slices.Equal(keys, []string{"PROC19/ggus:1000", "PROC19/ggus:1300"}) {
		t.Fatalf("ana's procedures %v", keys)
	}
	foo, bar := ana.Procedures[0], ana.Procedures[1]
	if foo.Role != "NGI representative (pilot site)" || bar.Role != "NGI representative" {
		t.Errorf("roles %q, %q", foo.Role, bar.Role)
	}
	check := func(what string, got []digest.Step, want ...string) {
		t.Helper()
		if ids := stepIDs(got); !slices.Equal(ids, want) {
			t.Errorf("%s: %v, want %v", what, ids, want)
		}
	}
	if b := foo.Blocked[7]; b.Others() != 7 {
		t.Errorf("announcement waits for %d steps besides 4, want 7", b.Others())
	}
	check("foo overdue", foo.Overdue, "8b", "3b")
	check("foo open", foo.Open, "9b", "2a", "7c", "11c", "6a", "4")
	check("foo completed", foo.Completed, "1b", "5b", "10")
	check("foo not applicable", foo.NotApplicable, "10")
	if s := foo.Overdue[1]; s.AgeDays != 20 || s.DueDays != 14 || s.OverdueDays != 6 || !s.Late || s.Child.Number != "202102" {
		t.Errorf("3b: %+v", foo.Overdue[1])
	}
	if foo.Open[5].AgeDays != -1 || !foo.Open[5].Child.IsZero() {
		t.Errorf("4 (opening): %+v", foo.Open[5])
	}
	var blocked []string
	for _, b := range foo.Blocked {
		blocked = append(blocked, b.Step.ID+"<"+strings.Join(stepIDs(b.By), "+"))
	}
	if want := []string{"2b<2a", "3c<3b", "6b<6a", "8c<8b", "9c<9b", "11d<11c", "7d<7c", "announcement<4"}; !slices.Equal(blocked, want) {
		t.Errorf("foo blocked %v, want %v", blocked, want)
	}
	var blockers []string
	for _, b := range foo.Blockers() {
		var ids []string
		for _, w := range b.Blocks {
			ids = append(ids, w.Step.ID)
		}
		blockers = append(blockers, b.Step.ID+">"+strings.Join(ids, "+"))
	}
	if want := []string{"8b>8c", "3b>3c", "9b>9c", "2a>2b", "7c>7d", "11c>11d", "6a>6b", "4>announcement"}; !slices.Equal(blockers, want) {
		t.Errorf("foo blockers %v, want %v", blockers, want)
	}
	check("foo later", foo.Later(), "2c", "3d", "6c", "8d")
	if foo.Complete != 15 || foo.Done != 14 || foo.Skipped != 1 || foo.Total != 35 {
		t.Errorf("foo progress %d/%d (%d done, %d skipped)", foo.Complete, foo.Total, foo.Done, foo.Skipped)
	}
	check("bar overdue", bar.Overdue, "0a")
	check("bar open", bar.Open)
	check("bar completed", bar.Completed, "0b")

	opsDigest := ds[3]
	if keys := procKeys(opsDigest); !slices.Equal(keys, []string{"PROC19/ggus:1000", "PROC19/ggus:1300", "PROC19/ggus:1500"}) {
		t.Fatalf("operations' procedures %v", keys)
	}
	if r := opsDigest.Procedures[0].Role; r != "EGI Operations representative" {
		t.Errorf("operations on FooStack: role %q, want the task force's", r)
	}
	if r := opsDigest.Procedures[1].Role; r != "EGI Operations" {
		t.Errorf("operations on BarStack: role %q, want the default's", r)
	}
	baz := opsDigest.Procedures[2]
	check("baz open (the approval)", baz.Open, "approval")
	if len(baz.Blocked) != 0 || len(baz.Waiting) != 34 {
		t.Errorf("baz: %d blocked, %d waiting", len(baz.Blocked), len(baz.Waiting))
	}
}

func TestBuildMembership(t *testing.T) {
	p := proc19(t)
	procs := map[string]*procedure.Procedure{"PROC19": p}
	a := request(p, "1", "A", core.PhaseRunning)
	a.TaskForce = []core.Member{{Email: "tp@a.example", Name: "TP of A"}, {Email: "  NGI@Example.org ", Name: "NGI"}, {Email: ""}}
	b := request(p, "2", "B", core.PhaseAwaitingApproval)
	b.TaskForce = []core.Member{{Email: "ngi@example.org", Name: "Other name"}}
	c := request(p, "3", "C", core.PhaseCompleted)
	c.TaskForce = []core.Member{{Email: "tp@c.example"}}
	d := request(p, "4", "D", core.PhaseRejected)
	d.TaskForce = []core.Member{{Email: "ngi@example.org"}}
	e := request(p, "5", "E", core.PhaseIncomplete)
	e.TaskForce = []core.Member{{Email: "tp@e.example"}}
	f := request(p, "6", "F", core.PhaseRunning)
	f.Procedure = "PROC99" // not loaded
	f.TaskForce = []core.Member{{Email: "tp@f.example"}}
	recent := request(p, "8", "Recent", core.PhaseCompleted)
	recent.TaskForce = []core.Member{{Email: "tp@recent.example"}}
	recent.Steps["announcement"] = core.StepState{Status: core.StepDone, DoneAt: now.AddDate(0, 0, -2)}
	old := request(p, "9", "Old", core.PhaseCompleted)
	old.TaskForce = []core.Member{{Email: "tp@old.example"}}
	old.Steps["announcement"] = core.StepState{Status: core.StepDone, DoneAt: now.AddDate(0, 0, -10)}
	lower := request(p, "7", "G", core.PhaseRunning)
	lower.Procedure = "proc19" // matched case-insensitively
	all := []core.Instance{a, b, c, d, e, f, lower}

	tests := []struct {
		name     string
		insts    []core.Instance
		defaults []core.Member
		want     map[string][]string // recipient -> products
	}{
		{"defaults receive every open procedure", all, []core.Member{{Email: "ops@egi.example"}},
			map[string][]string{
				"ops@egi.example": {"A", "B", "G"},
				"tp@a.example":    {"A"},
				"NGI@Example.org": {"A", "B"},
			}},
		{"no defaults", all, nil,
			map[string][]string{"tp@a.example": {"A"}, "NGI@Example.org": {"A", "B"}}},
		{"a default on a task force is one recipient", []core.Instance{a}, []core.Member{{Email: "tp@A.example", Name: "Default"}},
			map[string][]string{"tp@A.example": {"A"}, "NGI@Example.org": {"A"}}},
		{"completed, rejected and incomplete procedures are left out", []core.Instance{c, d, e}, []core.Member{{Email: "ops@egi.example"}},
			map[string][]string{}},
		{"nothing open: no digest", nil, []core.Member{{Email: "ops@egi.example"}}, map[string][]string{}},
		{"a procedure completed this week is in the digest once more; one completed before is not",
			[]core.Instance{recent, old}, nil, map[string][]string{"tp@recent.example": {"Recent"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string][]string{}
			var order []string
			for _, dg := range digest.Build(procs, tc.insts, tc.defaults, now) {
				order = append(order, strings.ToLower(dg.To.Email))
				for _, pv := range dg.Procedures {
					got[dg.To.Email] = append(got[dg.To.Email], pv.Product)
				}
			}
			if !slices.IsSorted(order) {
				t.Errorf("recipients not sorted by email: %v", order)
			}
			if len(got) != len(tc.want) {
				t.Errorf("recipients %v, want %v", got, tc.want)
			}
			for who, products := range tc.want {
				if !slices.Equal(got[who], products) {
					t.Errorf("%s gets %v, want %v", who, got[who], products)
				}
			}
		})
	}
	t.Run("first name seen is kept", func(t *testing.T) {
		ds := digest.Build(procs, []core.Instance{b, a}, nil, now)
		for _, dg := range ds {
			if strings.EqualFold(dg.To.Email, "ngi@example.org") && dg.To.Name != "NGI" {
				t.Errorf("name %q, want the first one in procedure order", dg.To.Name)
			}
		}
	})
	t.Run("input is not changed", func(t *testing.T) {
		in := []core.Instance{b, a}
		digest.Build(procs, in, []core.Member{{Email: "ops@egi.example"}}, now)
		if in[0].Key != b.Key {
			t.Error("Build reordered its input")
		}
	})
}

func TestBuildThisWeek(t *testing.T) {
	p := proc19(t)
	procs := map[string]*procedure.Procedure{"PROC19": p}
	tests := []struct {
		name   string
		doneAt time.Time
		status core.StepStatus
		want   bool
	}{
		{"done just now", now, core.StepDone, true},
		{"done a day ago", daysAgo(1), core.StepDone, true},
		{"done a second short of seven days ago", daysAgo(7).Add(time.Second), core.StepDone, true},
		{"done exactly seven days ago (last week's digest had it)", daysAgo(7), core.StepDone, false},
		{"done eight days ago", daysAgo(8), core.StepDone, false},
		{"done after now (clock skew)", now.Add(time.Minute), core.StepDone, false},
		{"not applicable this week", daysAgo(2), core.StepSkipped, true},
		{"no completion time", time.Time{}, core.StepDone, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := request(p, "1", "A", core.PhaseRunning)
			inst.Steps["approval"] = done(daysAgo(30))
			inst.Steps["0a"] = core.StepState{Status: tc.status, DoneAt: tc.doneAt, Reason: "why"}
			ds := digest.Build(procs, []core.Instance{inst}, []core.Member{ops}, now)
			got := slices.Contains(stepIDs(ds[0].Procedures[0].Completed), "0a")
			if got != tc.want {
				t.Errorf("0a completed this week: %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBuildOverdue(t *testing.T) {
	// A procedure with a step that sets its own due time, steps that use the
	// default, and (in the second procedure) no default at all.
	mk := func(id string, defaultDue int) *procedure.Procedure {
		return &procedure.Procedure{ID: id, Title: id, DefaultDueDays: defaultDue, Steps: []procedure.Step{
			{ID: "own", Area: "A", Unit: "u", DueDays: 30},
			{ID: "default", Area: "A", Unit: "u"},
			{ID: "next", Area: "A", Unit: "u", After: []string{"own", "default"}},
		}}
	}
	procs := map[string]*procedure.Procedure{"P": mk("P", 14), "NODUE": mk("NODUE", 0)}
	tests := []struct {
		name    string
		proc    string
		step    string
		openFor time.Duration
		overdue bool
	}{
		{"own due time, not reached", "P", "own", 29 * 24 * time.Hour, false},
		{"own due time, reached", "P", "own", 30 * 24 * time.Hour, true},
		{"own due time, not the default", "P", "own", 20 * 24 * time.Hour, false},
		{"default due time, a second short", "P", "default", 14*24*time.Hour - time.Second, false},
		{"default due time, reached", "P", "default", 14 * 24 * time.Hour, true},
		{"default due time, long past", "P", "default", 60 * 24 * time.Hour, true},
		{"no due time at all", "NODUE", "default", 365 * 24 * time.Hour, false},
		{"own due time without a default", "NODUE", "own", 31 * 24 * time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst := core.Instance{Key: tc.proc + "/x:1", Procedure: tc.proc, Product: "X", Phase: core.PhaseRunning,
				Parent: core.TicketRef{Tracker: "x", ID: "1"},
				Steps: map[string]core.StepState{
					"own":     {Status: core.StepDone, DoneAt: daysAgo(100)},
					"default": {Status: core.StepDone, DoneAt: daysAgo(100)},
				}}
			inst.Steps[tc.step] = core.StepState{Status: core.StepOpen, Child: core.TicketRef{Tracker: "x", ID: "2"}, OpenedAt: now.Add(-tc.openFor)}
			ds := digest.Build(procs, []core.Instance{inst}, []core.Member{ops}, now)
			pv := ds[0].Procedures[0]
			inOverdue := slices.Contains(stepIDs(pv.Overdue), tc.step)
			inOpen := slices.Contains(stepIDs(pv.Open), tc.step)
			if inOverdue == inOpen {
				t.Fatalf("%s is in overdue: %v, in open: %v; want exactly one", tc.step, inOverdue, inOpen)
			}
			if inOverdue != tc.overdue {
				t.Errorf("overdue %v, want %v", inOverdue, tc.overdue)
			}
			if len(pv.Blocked) != 1 || pv.Blocked[0].Step.ID != "next" || pv.Blocked[0].By[0].ID != tc.step {
				t.Errorf("blocked: %+v", pv.Blocked)
			}
		})
	}
}

func TestUserTextIsData(t *testing.T) {
	procs, insts := fixtures(t)
	hostile := `{{ .Secret }}{{template "digest.txt.tmpl" .}}<script>alert(1)</script>`
	foo := insts[2]
	foo.Product = hostile
	foo.TaskForce = append(foo.TaskForce, core.Member{Email: "eve@example.org", Name: `<img src=x onerror=alert(1)>`})
	st := foo.Steps["3b"]
	st.ChildURL = "javascript:alert(1)"
	foo.Steps["3b"] = st
	st = foo.Steps["10"]
	st.Reason = `<b onmouseover="x">{{.Secret}}</b>`
	foo.Steps["10"] = st
	insts[2] = foo
	r, err := digest.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	var eve digest.Digest
	for _, d := range digest.Build(procs, insts, nil, now) {
		if d.To.Email == "eve@example.org" {
			eve = d
		}
	}
	subject, text, html, err := r.Digest(eve)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(subject, hostile) || strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject %q: user text changed, or a line break", subject)
	}
	if !strings.Contains(text, hostile) || !strings.Contains(text, st.Reason) || strings.Count(text, "Hello ") != 1 {
		t.Errorf("text: user text was changed or executed:\n%s", text)
	}
	for _, bad := range []string{"<script>", "<img", `<b onmouseover`, "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML contains %q unescaped", bad)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "{{ .Secret }}"} {
		if !strings.Contains(html, escaped) {
			t.Errorf("HTML lacks %q", escaped)
		}
	}
}

// TestHTMLSelfContained: the HTML part has inline styles only and loads
// nothing.
func TestHTMLSelfContained(t *testing.T) {
	procs, insts := fixtures(t)
	r, err := digest.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range digest.Build(procs, insts, []core.Member{ops}, now) {
		_, _, html, err := r.Digest(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<style", "<link", "<img", "<script", "src=", "url("} {
			if strings.Contains(html, bad) {
				t.Errorf("%s: HTML has %q", d.To.Email, bad)
			}
		}
	}
}

func TestRendererMissingTemplate(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "mail"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"digest.subject.tmpl", "digest.txt.tmpl", "digest.html.tmpl", "announcement.subject.tmpl"} {
		if err := os.WriteFile(filepath.Join(dir, "mail", f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := digest.NewRenderer(os.DirFS(dir)); err == nil || !strings.Contains(err.Error(), "announcement.txt.tmpl") {
		t.Errorf("NewRenderer without announcement.txt.tmpl: %v", err)
	}
}

func TestISOWeek(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC): "2026-W48",
		time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC):   "2026-W53",
		time.Date(2025, 12, 29, 0, 0, 0, 0, time.UTC): "2026-W01",
	} {
		if got := digest.ISOWeek(in); got != want {
			t.Errorf("ISOWeek(%v) = %s, want %s", in, got, want)
		}
	}
}

func stepIDs(steps []digest.Step) []string {
	ids := []string{}
	for _, s := range steps {
		ids = append(ids, s.ID)
	}
	return ids
}

func procKeys(d digest.Digest) []string {
	var keys []string
	for _, p := range d.Procedures {
		keys = append(keys, p.Key)
	}
	return keys
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "golden", "digest", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/digest -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
