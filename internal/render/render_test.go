package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/intake"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/render"
	"github.com/procbot/procbot/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden/notes")

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// proc19 is the embedded PROC19 and a renderer of the built-in texts.
func proc19(t *testing.T) (*procedure.Procedure, *render.Renderer) {
	t.Helper()
	p, err := procedure.Embedded("proc19")
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.New(templates.FS, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, r
}

// sample is a PROC19 request half-way: approved, some areas done, one step
// skipped, one open, others waiting.
func sample(t *testing.T, p *procedure.Procedure) core.Instance {
	t.Helper()
	parent := core.TicketRef{Tracker: "ggus", ID: "1000", Number: "10100"}
	inst := core.NewInstance(p, core.Ticket{Ref: parent, Title: "Request for integration of FooStack to EGI Production Infrastructure (PROC19)", URL: "https://helpdesk.example/#ticket/zoom/1000"}, "FooStack", t0)
	inst.Phase = core.PhaseRunning
	inst.Kind = "cloud"
	inst.Applicant = "jane.doe@foostack.example"
	inst.Data = map[string]string{"product": "FooStack", "contact_name": "Jane Doe", "contact_email": "jane.doe@foostack.example",
		"customers": "EGI-ACE communities", "motivation": "users asked", "requester": "Technology Provider",
		"resource_centres": "CESGA, IFCA-LCG2", "oc_support": "NGI_IBERGRID", "tp_effort": "yes", "vo_concept": "yes", "identities": "X.509 and Check-in"}
	child := func(n int) core.TicketRef {
		return core.TicketRef{Tracker: "ggus", ID: itoa(2000 + n), Number: itoa(10200 + n)}
	}
	for i, id := range []string{"approval", "0a", "0b", "1a", "1b", "2a", "2b", "2c", "3a"} {
		inst.Steps[id] = core.StepState{Status: core.StepDone, Child: child(i), DoneAt: t0}
	}
	inst.Steps["approval"] = core.StepState{Status: core.StepDone, By: "ops@egi.example", DoneAt: t0}
	inst.Steps["10"] = core.StepState{Status: core.StepSkipped, Reason: "e-GRANT was retired", By: "ops@egi.example"}
	inst.Steps["3b"] = core.StepState{Status: core.StepOpen, Child: child(20), ChildURL: "https://helpdesk.example/#ticket/zoom/2020", OpenedAt: t0.AddDate(0, 0, -20)}
	inst.Steps["7c"] = core.StepState{Status: core.StepOpen, Child: core.TicketRef{Tracker: "rt", ID: "7", Number: "7"}}
	inst.Steps["4"] = core.StepState{Status: core.StepOpening}
	return inst
}

func itoa(n int) string { return strconv.Itoa(n) }

// stopped is inst stopped in the given phase.
func stopped(inst core.Instance, phase core.Phase) core.Instance {
	out := inst.Clone()
	out.Phase = phase
	return out
}

// failedInst is inst with step 2c failed: its child was closed as
// unsolved.
func failedInst(inst core.Instance) core.Instance {
	out := inst.Clone()
	st := out.Steps["2c"]
	st.Status = core.StepFailed
	out.Steps["2c"] = st
	return out
}

// namedText is one of procbot's texts, rendered on demand.
type namedText struct {
	name string
	text func() (string, error)
}

// noteTexts renders every note template (and the child's title and body)
// with representative data: each golden file under testdata/golden/notes.
func noteTexts(t *testing.T, r *render.Renderer, p *procedure.Procedure) []namedText {
	t.Helper()
	inst := sample(t, p)
	missing := inst.Clone()
	missing.Phase = core.PhaseIncomplete
	missing.Missing = []intake.Problem{
		{Field: "contact", Label: "Technology Provider contact details", Message: "not a valid email address: \"jane@\"", Help: "write a name and an email address"},
		{Field: "motivation", Label: "motivation", Message: "missing", Help: "say why the product should be integrated"},
	}
	waiting := inst.Clone()
	waiting.Phase = core.PhaseAwaitingApproval
	for id := range waiting.Steps {
		waiting.Steps[id] = core.StepState{Status: core.StepWaiting}
	}
	parent := inst.Parent
	return []namedText{
		{"child-title", func() (string, error) { return r.ChildTitle(p, inst, "1a") }},
		{"child-body", func() (string, error) { return r.ChildBody(p, inst, "3b") }},
		{"missing", func() (string, error) {
			return r.Note(p, missing, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteMissing}, nil)
		}},
		{"unauthorised", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteUnauthorised, Who: "mallory@example.org", Command: "approve"}, []string{"ops@egi.example", "chief@egi.example"})
		}},
		{"self-approval", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteSelfApproval, Who: "ops@egi.example"}, nil)
		}},
		{"rejected", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteRejected, Who: "ops@egi.example", Reason: "no Resource Centre volunteered"}, nil)
		}},
		{"bad-command", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteBadCommand, Who: "ops@egi.example", Command: "kind", Reason: "the kind must be one of: cloud, middleware"}, nil)
		}},
		{"skipped", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteSkipped, Step: "10", Who: "ops@egi.example", Reason: "e-GRANT was retired"}, nil)
		}},
		{"status-running", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteStatus}, nil)
		}},
		{"status-awaiting-approval", func() (string, error) {
			return r.Note(p, waiting, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteStatus}, nil)
		}},
		{"duplicate", func() (string, error) {
			dup := inst.Clone()
			dup.DuplicateOfURL = "https://helpdesk.example/#ticket/zoom/990"
			return r.Note(p, dup, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteDuplicate, Other: core.TicketRef{Tracker: "ggus", ID: "990", Number: "10090"}}, nil)
		}},
		{"reminder", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: inst.Steps["3b"].Child, Note: core.NoteReminder, Step: "3b"}, nil)
		}},
		{"announcement", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteAnnouncement, Step: "announcement"}, nil)
		}},
		{"refused-open", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteRefused, Step: "7d", Other: parent, Command: string(core.ActOpen),
				Reason: `rt: create ticket in queue "sw-rel": not allowed: No permission to create tickets in the queue 'sw-rel' (HTTP 403)`}, nil)
		}},
		{"failed", func() (string, error) {
			return r.Note(p, failedInst(inst), core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteFailed, Step: "2c",
				Other: inst.Steps["2c"].Child, Reason: "unsolved"}, nil)
		}},
		{"status-with-a-failed-step", func() (string, error) {
			return r.Note(p, failedInst(inst), core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteStatus}, nil)
		}},
		{"child-body-retry", func() (string, error) {
			retry := failedInst(inst)
			st := retry.Steps["2c"]
			st.Failed, st.Attempt, st.Status, st.Child = []core.TicketRef{st.Child}, 1, core.StepOpening, core.TicketRef{}
			retry.Steps["2c"] = st
			return r.ChildBody(p, retry, "2c")
		}},
		{"child-title-retry", func() (string, error) {
			retry := failedInst(inst)
			st := retry.Steps["2c"]
			st.Failed, st.Attempt = []core.TicketRef{st.Child}, 1
			retry.Steps["2c"] = st
			return r.ChildTitle(p, retry, "2c")
		}},
		{"done-by", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteDoneBy, Step: "2c", Who: "ops@egi.example",
				Reason: "the accounting portal shows the site since 1 December"}, nil)
		}},
		{"cancelled", func() (string, error) {
			return r.Note(p, stopped(inst, core.PhaseCancelled), core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteCancelled, Who: "ops@egi.example", Reason: "the Technology Provider withdrew"}, nil)
		}},
		{"stopped-cancelled", func() (string, error) {
			return r.Note(p, stopped(inst, core.PhaseCancelled), core.Action{Kind: core.ActNote, Ticket: inst.Steps["3b"].Child, Note: core.NoteStopped, Step: "3b",
				Who: "ops@egi.example", Reason: "the Technology Provider withdrew"}, nil)
		}},
		{"stopped-closed", func() (string, error) {
			return r.Note(p, stopped(inst, core.PhaseClosed), core.Action{Kind: core.ActNote, Ticket: inst.Steps["3b"].Child, Note: core.NoteStopped, Step: "3b",
				Reason: "the request was closed in ggus (state closed) before the procedure completed"}, nil)
		}},
		{"held", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteHeld, Who: "ops@egi.example", Reason: "waiting for the UA to be signed"}, nil)
		}},
		{"resumed", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteResumed, Who: "ops@egi.example"}, nil)
		}},
		{"status-on-hold", func() (string, error) {
			held := inst.Clone()
			held.Hold = core.Hold{By: "ops@egi.example", Reason: "waiting for the UA to be signed", Since: t0}
			return r.Note(p, held, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteStatus}, nil)
		}},
		{"child-body-tp", func() (string, error) { return r.ChildBody(p, inst, "3a") }},
		{"child-body-site-unknown", func() (string, error) { return r.ChildBody(p, inst, "1b") }},
		{"child-body-site-known", func() (string, error) {
			site := inst.Clone()
			site.Data["site_name"], site.Data["site_email"] = "CESGA", "grid-admin@cesga.example"
			return r.ChildBody(p, site, "1b")
		}},
		{"child-body-on-behalf", func() (string, error) { return r.ChildBody(p, inst, "8d") }},
		{"child-body-current", func() (string, error) { return r.ChildBody(p, inst, "8b") }},
		{"routed-unit", func() (string, error) {
			routed := inst.Clone()
			routed.Routes = map[string]procedure.Route{"umd-rep": {Tracker: "rt", Queue: "Requirements"}}
			return r.Note(p, routed, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteRouted, Who: "ops@egi.example", Step: "umd-rep", Reason: "rt:Requirements"}, nil)
		}},
		{"routed-step", func() (string, error) {
			routed := inst.Clone()
			routed.Routes = map[string]procedure.Route{"3b": {Tracker: "ggus", Queue: "Second Level::Services::Monitoring"}}
			return r.Note(p, routed, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteRouted, Who: "ops@egi.example", Step: "3b", Reason: "ggus:Second Level::Services::Monitoring"}, nil)
		}},
		{"site-email", func() (string, error) {
			site := inst.Clone()
			site.Data["site_name"], site.Data["site_email"] = "CESGA", "grid-admin@cesga.example"
			return r.Note(p, site, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteSite, Who: "ops@egi.example", Reason: "grid-admin@cesga.example"}, nil)
		}},
		{"site-group", func() (string, error) {
			site := inst.Clone()
			site.Data["site_name"] = "CESGA"
			site.Routes = map[string]procedure.Route{"pilot-site": {Tracker: "ggus", Queue: "Second Level::NGI::NGI_IBERGRID"}}
			return r.Note(p, site, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteSite, Who: "ops@egi.example", Reason: "ggus:Second Level::NGI::NGI_IBERGRID"}, nil)
		}},
		{"status-awaiting-approval-flagged", func() (string, error) {
			flagged := waiting.Clone()
			flagged.Kind = ""
			flagged.Data["vo_concept"], flagged.Data["identities"] = "no", "X.509"
			return r.Note(p, flagged, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteStatus}, nil)
		}},
		{"refused-close", func() (string, error) {
			return r.Note(p, inst, core.Action{Kind: core.ActNote, Ticket: parent, Note: core.NoteRefused, Step: "3b", Other: inst.Steps["3b"].Child, Command: string(core.ActClose),
				Reason: `rt: set status of ticket 77 to "resolved": invalid: Ticket 77: You can't change status from 'accepted' to 'resolved'.`}, nil)
		}},
	}
}

func TestTexts(t *testing.T) {
	p, r := proc19(t)
	tests := noteTexts(t, r, p)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.text()
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("..", "..", "testdata", "golden", "notes", tc.name+".txt"), got)
		})
	}
}

// TestUserTextIsData: request data that looks like template syntax or HTML
// comes out exactly as written, never executed.
func TestUserTextIsData(t *testing.T) {
	p, r := proc19(t)
	inst := sample(t, p)
	hostile := `{{ .Secret }}{{template "status.tmpl" .}}<script>alert(1)</script>`
	inst.Product = hostile
	inst.Data["contact_name"] = "{{printf \"%s\" .Request}}"
	body, err := r.ChildBody(p, inst, "1a")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, hostile) || !strings.Contains(body, inst.Data["contact_name"]) {
		t.Errorf("user text was changed or executed:\n%s", body)
	}
	title, err := r.ChildTitle(p, inst, "1a")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(title, "[PROC19 ggus#10100 1a] ") || strings.ContainsAny(title, "\n\r") {
		t.Errorf("title %q lost its marker or spans lines", title)
	}
}

// TestOverrides: a template in the operator's directory replaces the
// built-in one of the same name; the others stay.
func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "notes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes", "rejected.tmpl"), []byte("Rejected: {{.Action.Reason}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := render.New(templates.FS, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := procedure.Embedded("proc19")
	inst := sample(t, p)
	got, err := r.Note(p, inst, core.Action{Note: core.NoteRejected, Reason: "why"}, nil)
	if err != nil || got != "Rejected: why\n" {
		t.Errorf("override: %q, %v", got, err)
	}
	if got, _ := r.Note(p, inst, core.Action{Note: core.NoteSelfApproval, Who: "x"}, nil); !strings.Contains(got, "cannot approve") {
		t.Errorf("built-in text lost: %q", got)
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
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
		t.Fatalf("%v (run go test ./internal/render -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
