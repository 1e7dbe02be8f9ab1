package core_test

import (
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
)

// TestOnlyOperatorsCommand drives Decide with procbot's request commands
// written by the operators on the allowlist and by everyone who looks like
// them. An identity matches an allowlist entry only if it is the same after
// trimming surrounding whitespace and lowercasing ASCII letters: look-alike
// domains, Unicode confusables and invisible characters do not, the
// applicant cannot approve their own request, procbot's own notes carry no
// commands, and a quoted command is not a command.
func TestOnlyOperatorsCommand(t *testing.T) {
	p := loadTest(t)
	pol := core.Policy{
		Operators: []string{"ops@egi.eu", "Kate@EGI.eu", "anna@egi.eu"},
		Terminal:  map[string][]string{"ggus": {"solved", "closed"}, "rt": {"resolved"}},
		Robots:    map[string]string{"ggus": "procbot@egi.eu", "rt": "procbot"},
	}
	// The Technology Provider's contact is on the task force already, as
	// once the data was complete.
	joined := func(s core.Instance) core.Instance {
		s.ContactJoined = true
		s.TaskForce = []core.Member{{Email: "jane@foo.example", Name: "Jane Doe", Role: "Technology Provider"}}
		return s
	}
	waiting := func() core.Instance { return joined(state(p, core.PhaseAwaitingApproval, nil)) }
	running := func() core.Instance {
		return joined(state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": open("2000")}))
	}
	const (
		status       = "note:status@1000"
		unauthorised = "note:unauthorised@1000"
	)
	refused := []string{unauthorised, status}

	tests := []struct {
		name     string
		state    func() core.Instance
		author   string
		body     string
		approved bool     // the approval step is done afterwards
		wantOut  []string // outbox: kind:note@ticket
		check    func(t *testing.T, got core.Instance)
	}{
		// /approve
		{name: "the operator exactly", author: "ops@egi.eu", body: "/approve", approved: true, wantOut: []string{"open:0a@1000", status}},
		{name: "the operator in capitals", author: "OPS@EGI.EU", body: "/approve", approved: true, wantOut: []string{"open:0a@1000", status}},
		{name: "an operator listed in mixed case, written in other case", author: "kate@egi.EU", body: "/approve", approved: true, wantOut: []string{"open:0a@1000", status}},
		{name: "the operator with surrounding spaces", author: " \tops@egi.eu  ", body: "/approve", approved: true, wantOut: []string{"open:0a@1000", status}},
		{name: "the operator's command inside HTML", author: "ops@egi.eu", body: "<p>OMB agreed.</p><p>/approve</p>", approved: true, wantOut: []string{"open:0a@1000", status}},
		{name: "a trailing dot", author: "ops@egi.eu.", body: "/approve", wantOut: refused},
		{name: "a look-alike domain under another", author: "ops@egi.eu.evil.example", body: "/approve", wantOut: refused},
		{name: "a look-alike domain, l for i", author: "ops@egl.eu", body: "/approve", wantOut: refused},
		{name: "a sub-address", author: "ops+x@egi.eu", body: "/approve", wantOut: refused},
		{name: "the local part alone", author: "ops", body: "/approve", wantOut: refused},
		{name: "Cyrillic a in the local part", author: "\u0430nna@egi.eu", body: "/approve", wantOut: refused},
		{name: "Cyrillic o in the local part", author: "\u043eps@egi.eu", body: "/approve", wantOut: refused},
		{name: "Cyrillic e in the domain", author: "ops@\u0435gi.eu", body: "/approve", wantOut: refused},
		{name: "a fullwidth at sign", author: "ops\uff20egi.eu", body: "/approve", wantOut: refused},
		{name: "the Kelvin sign for K", author: "\u212aate@egi.eu", body: "/approve", wantOut: refused},
		{name: "a zero-width joiner inside", author: "o\u200dps@egi.eu", body: "/approve", wantOut: refused},
		{name: "a zero-width space inside", author: "ops\u200b@egi.eu", body: "/approve", wantOut: refused},
		{name: "invalid UTF-8 in the author", author: "ops@egi.eu\xff", body: "/approve", wantOut: refused},
		{name: "an empty author is ignored, with no note naming nobody", author: "", body: "/approve", wantOut: []string{status}},
		{name: "the applicant, who is not an operator", author: "jane@foo.example", body: "/approve", wantOut: refused},
		{
			name: "the applicant who is also an operator approves their own request",
			state: func() core.Instance {
				s := waiting()
				s.Applicant = "ops@egi.eu"
				return s
			},
			author: "ops@egi.eu", body: "/approve", wantOut: []string{"note:self-approval@1000", status},
		},
		{
			name: "the applicant who is also an operator, in other case",
			state: func() core.Instance {
				s := waiting()
				s.Applicant = "OPS@egi.eu"
				return s
			},
			author: "ops@EGI.eu", body: "/approve", wantOut: []string{"note:self-approval@1000", status},
		},
		{name: "procbot's own account", author: "procbot@egi.eu", body: "/approve", wantOut: []string{status}},
		{name: "procbot's own account in capitals", author: "ProcBot@EGI.eu", body: "/approve", wantOut: []string{status}},
		{name: "a non-operator quoting an operator's /approve", author: "mallory@evil.example", body: "EGI Operations wrote:\n> /approve\n\nSo it is approved.", wantOut: []string{status}},
		{name: "a non-operator forwarding an operator's message", author: "mallory@evil.example", body: "See below.\n\nOn Mon, 2 Nov 2026, ops@egi.eu wrote:\n/approve\n", wantOut: []string{status}},
		{name: "the operator quoting /approve is no approval either", author: "ops@egi.eu", body: "> /approve", wantOut: []string{status}},
		{name: "/approve inside a sentence", author: "ops@egi.eu", body: "I will /approve once the OMB agrees.", wantOut: []string{status}},
		{name: "/approve with trailing punctuation", author: "ops@egi.eu", body: "/approve.", wantOut: []string{status}},

		// /reject
		{
			name: "the operator in capitals rejects", author: "OPS@egi.eu", body: "/reject out of scope",
			wantOut: []string{"note:rejected@1000", "close@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Phase != core.PhaseRejected || got.RejectReason != "out of scope" {
					t.Errorf("phase %s, reason %q", got.Phase, got.RejectReason)
				}
			},
		},
		{name: "a look-alike rejects", author: "ops@egi.eu.evil.example", body: "/reject out of scope", wantOut: refused},
		{name: "the applicant rejects", author: "jane@foo.example", body: "/reject never mind", wantOut: refused},

		// /kind
		{
			name: "the operator sets the kind", author: "ops@egi.eu", body: "/kind middleware", wantOut: []string{status},
			check: func(t *testing.T, got core.Instance) {
				if got.Kind != "middleware" {
					t.Errorf("kind %q", got.Kind)
				}
			},
		},
		{name: "a Cyrillic look-alike sets the kind", author: "\u043eps@egi.eu", body: "/kind middleware", wantOut: refused},

		// /na and /taskforce, on a request under way
		{
			name: "the operator marks a step not applicable", state: running, author: "Ops@Egi.Eu", body: "/na a1 no service types",
			approved: true, wantOut: []string{"note:skipped@1000", "open:a2@1000", status},
			check: func(t *testing.T, got core.Instance) {
				if got.Steps["a1"].Status != core.StepSkipped {
					t.Errorf("a1 is %s", got.Steps["a1"].Status)
				}
			},
		},
		{name: "the applicant marks a step not applicable", state: running, author: "jane@foo.example", body: "/na a1 not needed", approved: true, wantOut: refused},
		{
			name: "the operator adds a task force member", state: running, author: "kate@egi.eu", body: "/taskforce add umd@egi.eu UMD",
			approved: true, wantOut: []string{status},
			check: func(t *testing.T, got core.Instance) {
				if len(got.TaskForce) != 2 || got.TaskForce[1].Email != "umd@egi.eu" {
					t.Errorf("task force %+v", got.TaskForce)
				}
			},
		},
		{name: "the Kelvin sign adds a task force member", state: running, author: "\u212aate@egi.eu", body: "/taskforce add friend@evil.example", approved: true, wantOut: refused},
		{name: "a zero-width joiner adds a task force member", state: running, author: "ops\u200d@egi.eu", body: "/taskforce add friend@evil.example", approved: true, wantOut: refused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mk := tc.state
			if mk == nil {
				mk = waiting
			}
			in := mk()
			got := core.Decide(core.Input{Procedure: p, State: in, Observed: core.Observation{Parent: parentSnap("open", article(2, tc.author, tc.body))}, Policy: pol, Now: t0})
			if done := got.Steps["approval"].Status == core.StepDone; done != tc.approved {
				t.Errorf("approved = %v, want %v", done, tc.approved)
			}
			if g, w := strings.Join(notes(got), " "), strings.Join(tc.wantOut, " "); g != w {
				t.Errorf("outbox = [%s]\n       want [%s]", g, w)
			}
			for _, a := range got.Outbox {
				if a.Note == core.NoteUnauthorised && a.Who != tc.author {
					t.Errorf("the refusal names %q, want the author %q", a.Who, tc.author)
				}
			}
			if tc.check != nil {
				tc.check(t, got)
				return
			}
			// A refused or ignored command changes nothing else.
			if got.Phase != in.Phase && !(tc.approved && in.Phase == core.PhaseAwaitingApproval && got.Phase == core.PhaseRunning) {
				t.Errorf("phase %s → %s", in.Phase, got.Phase)
			}
			if got.Kind != in.Kind || len(got.TaskForce) != len(in.TaskForce) || got.RejectReason != "" {
				t.Errorf("kind %q, task force %+v, reject reason %q: a refused command changed the request", got.Kind, got.TaskForce, got.RejectReason)
			}
			for id, st := range got.Steps {
				if id != "approval" && st.Status == core.StepSkipped {
					t.Errorf("step %s was skipped", id)
				}
			}
		})
	}
}
