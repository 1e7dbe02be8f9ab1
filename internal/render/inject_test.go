package render_test

import (
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/intake"
)

// Hostile user text: template actions (one of which would print
// "INJECTED" if executed) and markup.
const (
	tplSecret   = `{{ .Secret }}`
	tplPrint    = `{{print "INJ" "ECTED"}}`
	tplTemplate = `{{template "status.tmpl" .}}`
	tplNoSpace  = `{{.Secret}}`
	htmlScript  = `<script>alert(1)</script>`
	htmlImg     = `<img src=x onerror=alert(1)>`
)

// TestEveryTextKeepsUserTextLiteral renders every text procbot writes
// (child titles and bodies, every kind of note) for a request whose product,
// data, authors and reasons carry template syntax and HTML. The user text
// must come out exactly as written, and nothing in the output may look like
// a template action or its output apart from that text.
func TestEveryTextKeepsUserTextLiteral(t *testing.T) {
	p, r := proc19(t)
	var (
		product  = "Foo " + tplSecret + htmlScript
		who      = tplPrint + "@evil.example"
		reason   = tplTemplate + " " + htmlImg
		customer = tplPrint + htmlScript
		contact  = tplSecret + " " + htmlImg
		skipped  = tplTemplate + htmlScript
		badEmail = `not a valid email address: "` + tplNoSpace + `@evil"`
	)
	inst := sample(t, p)
	inst.Product = product
	inst.Title = "Request for integration of " + product + " to EGI Production Infrastructure (PROC19)"
	inst.Applicant = who
	inst.Data["product"] = product
	inst.Data["customers"] = customer
	inst.Data["contact_name"] = contact
	inst.Data["motivation"] = tplPrint + "\n" + htmlScript
	st := inst.Steps["10"]
	st.Reason, st.By = skipped, who
	inst.Steps["10"] = st
	inst.DuplicateOfURL = "https://helpdesk.example/#ticket/zoom/990"

	missing := inst.Clone()
	missing.Phase = core.PhaseIncomplete
	missing.Missing = []intake.Problem{
		{Field: "contact", Label: p.Request.Fields[1].Label, Message: badEmail, Help: p.Request.Fields[1].Help},
		{Field: "motivation", Label: "motivation", Message: "missing"},
	}
	waiting := inst.Clone()
	waiting.Phase = core.PhaseAwaitingApproval
	parent := inst.Parent
	note := func(in core.Instance, a core.Action) func() (string, error) {
		a.Kind, a.Public = core.ActNote, true
		if a.Ticket.IsZero() {
			a.Ticket = parent
		}
		return func() (string, error) { return r.Note(p, in, a, []string{"ops@egi.example"}) }
	}

	tests := []struct {
		name string
		text func() (string, error)
		want []string // user text that must appear exactly as written
	}{
		{"child-title", func() (string, error) { return r.ChildTitle(p, inst, "1a") }, []string{product}},
		{"child-body", func() (string, error) { return r.ChildBody(p, inst, "3b") }, []string{product, contact}},
		{core.NoteMissing, note(missing, core.Action{Note: core.NoteMissing}), []string{product, badEmail}},
		{core.NoteUnauthorised, note(inst, core.Action{Note: core.NoteUnauthorised, Who: who, Command: "approve"}), []string{who}},
		{core.NoteSelfApproval, note(inst, core.Action{Note: core.NoteSelfApproval, Who: who}), []string{who}},
		{core.NoteRejected, note(inst, core.Action{Note: core.NoteRejected, Who: who, Reason: reason}), []string{product, who, reason}},
		{core.NoteBadCommand, note(inst, core.Action{Note: core.NoteBadCommand, Who: who, Command: "reject", Reason: reason}), []string{who, reason}},
		{core.NoteSkipped, note(inst, core.Action{Note: core.NoteSkipped, Step: "10", Who: who, Reason: reason}), []string{who, reason}},
		{core.NoteStatus + "-running", note(inst, core.Action{Note: core.NoteStatus}), []string{product, skipped}},
		{core.NoteStatus + "-awaiting-approval", note(waiting, core.Action{Note: core.NoteStatus}), []string{product}},
		{core.NoteDuplicate, note(inst, core.Action{Note: core.NoteDuplicate, Other: core.TicketRef{Tracker: "ggus", ID: "990", Number: "10090"}}), []string{product}},
		{core.NoteReminder, note(inst, core.Action{Note: core.NoteReminder, Ticket: inst.Steps["3b"].Child, Step: "3b"}), []string{product}},
		{core.NoteAnnouncement, note(inst, core.Action{Note: core.NoteAnnouncement, Step: "announcement"}), []string{product, contact, customer, skipped}},
		{core.NoteRefused, note(inst, core.Action{Note: core.NoteRefused, Step: "3b", Command: "close", Other: inst.Steps["3b"].Child, Reason: reason}), []string{reason}},
	}
	kinds := map[string]bool{}
	for _, tc := range tests {
		kinds[strings.TrimSuffix(strings.TrimSuffix(tc.name, "-running"), "-awaiting-approval")] = true
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.text()
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q does not appear as written:\n%s", w, got)
				}
			}
			rest := got
			for _, lit := range []string{tplSecret, tplPrint, tplTemplate, tplNoSpace, htmlScript, htmlImg} {
				rest = strings.ReplaceAll(rest, lit, "")
			}
			for _, bad := range []string{"{{", "}}", "INJECTED", "<no value>", ".Secret", "<script", "onerror", "map["} {
				if strings.Contains(rest, bad) {
					t.Errorf("%q appears outside the user's text:\n%s", bad, got)
				}
			}
		})
	}
	// Every text the renderer requires is covered here.
	for _, name := range []string{"child-title", "child-body", core.NoteMissing, core.NoteUnauthorised, core.NoteSelfApproval,
		core.NoteRejected, core.NoteBadCommand, core.NoteSkipped, core.NoteStatus, core.NoteAnnouncement, core.NoteDuplicate, core.NoteReminder,
		core.NoteRefused} {
		if !kinds[name] {
			t.Errorf("no case renders %s", name)
		}
	}
}
