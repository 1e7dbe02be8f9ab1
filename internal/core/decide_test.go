package core_test

import (
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/intake"
	"github.com/procbot/procbot/internal/procedure"
)

// A small procedure with every kind of step: an approval, a coordination
// step, two areas in parallel (one only for cloud products) and the
// announcement.
const testProcedure = `
id: TEST1
title: Test procedure
version: v1
default_due_days: 14
request:
  subject: "Request for integration of {product} to EGI Production Infrastructure (TEST1)"
  search: TEST1
  fields:
    - {key: product, label: name of Technology Product, required: true}
    - {key: contact, label: contact details, format: contact, required: true}
    - {key: motivation, label: motivation, required: true}
    - {key: kind, label: type of product, format: choice, choices: [cloud, middleware]}
    - {key: site, label: pilot site, format: contact}
units:
  ops: {name: EGI Operations, route: {tracker: ggus, queue: Operations}}
  pilot: {name: Pilot Site, customer: site, desk: EGI Operations, route: {tracker: ggus, queue: GOCDB}}
  gocdb: {name: GOCDB, route: {tracker: ggus, queue: GOCDB}}
  umd: {name: UMD, route: {tracker: rt, queue: sw-rel}}
steps:
  - {id: approval, area: Request, kind: approval, unit: ops, action: Ask the OMB.}
  - {id: "0a", area: Coordination, unit: ops, action: Agree the UA., after: [approval]}
  - {id: a1, area: Configuration, unit: gocdb, action: Add service types., after: ["0a"]}
  - {id: a2, area: Configuration, unit: pilot, action: Register the site., after: [a1]}
  - {id: b1, area: Marketplace, unit: umd, action: Subscribe to image lists., after: ["0a"], applies_to: [cloud]}
  - {id: ann, area: Announcement, kind: announcement, unit: ops, action: Announce., after: [a2, b1]}
`

var (
	t0     = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	parent = core.TicketRef{Tracker: "ggus", ID: "1000", Number: "10100"}
	policy = core.Policy{
		Operators: []string{"ops@egi.eu", "Chief@EGI.eu"},
		Terminal:  map[string][]string{"ggus": {"solved", "closed", "unsolved"}, "rt": {"resolved"}},
		// A queue on a lifecycle of its own, named in another case than
		// RT names it.
		QueueTerminal: map[core.Place][]string{{Tracker: "rt", Queue: "requirements"}: {"done", "rejected"}},
		// GGUS's unsolved closes a ticket (it is among the terminal
		// states there too) but fails the step.
		Failed: map[string][]string{"ggus": {"unsolved"}, "rt": {"rejected"}},
		Robots: map[string]string{"ggus": "procbot@egi.eu", "rt": "procbot"},
	}
	fullBody = "Prerequisite data:\n* name of Technology Product: FooStack\n* contact details: Jane Doe, jane@foo.example\n* motivation: users want it\n"
)

func loadTest(t *testing.T) *procedure.Procedure {
	t.Helper()
	p, err := procedure.Parse([]byte(testProcedure))
	if err != nil {
		t.Fatalf("test procedure: %v", err)
	}
	return p
}

func article(id int64, author, body string) core.Article {
	return core.Article{ID: id, Author: author, Body: body, CreatedAt: t0}
}

func parentSnap(state string, arts ...core.Article) *core.Snapshot {
	return &core.Snapshot{Ticket: core.Ticket{Ref: parent, Title: "Request for integration of FooStack to EGI Production Infrastructure (TEST1)", State: state}, Articles: arts}
}

func childRef(n string) core.TicketRef {
	return core.TicketRef{Tracker: "ggus", ID: n, Number: "1" + n}
}

func childSnap(n, state string, arts ...core.Article) core.Snapshot {
	return core.Snapshot{Ticket: core.Ticket{Ref: childRef(n), State: state}, Articles: arts}
}

// state builds a recorded instance: fresh, then the given step statuses.
func state(p *procedure.Procedure, phase core.Phase, steps map[string]core.StepState) core.Instance {
	inst := core.NewInstance(p, core.Ticket{Ref: parent, Title: "t"}, "FooStack", t0)
	inst.Phase = phase
	inst.Applicant = "jane@foo.example"
	inst.Data = map[string]string{"product": "FooStack", "contact_name": "Jane Doe", "contact_email": "jane@foo.example", "motivation": "users want it"}
	inst.Seen = map[string]int64{parent.Key(): 1}
	for id, st := range steps {
		inst.Steps[id] = st
	}
	return inst
}

// rtChild is a child in RT's queue, in the given status.
func rtChild(n, queue, status string) core.Snapshot {
	return core.Snapshot{Ticket: core.Ticket{Ref: core.TicketRef{Tracker: "rt", ID: n, Number: n}, Queue: queue, State: status}}
}

func openRT(n string) core.StepState {
	return core.StepState{Status: core.StepOpen, Child: core.TicketRef{Tracker: "rt", ID: n, Number: n}}
}

func open(n string) core.StepState { return core.StepState{Status: core.StepOpen, Child: childRef(n)} }
func done(n string) core.StepState { return core.StepState{Status: core.StepDone, Child: childRef(n)} }

var approved = core.StepState{Status: core.StepDone, By: "ops@egi.eu"}

// adopted is a request procbot has no record of, as the daemon starts it
// when it rebuilds a lost record: fresh, with the children found by their
// markers adopted as open, by step.
func adopted(p *procedure.Procedure, children map[string]string) core.Instance {
	inst := core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0)
	for id, n := range children {
		inst.Steps[id] = open(n)
	}
	return inst
}

// earlier is the parent of an earlier request for the same product.
var earlier = core.TicketRef{Tracker: "ggus", ID: "900", Number: "10090"}

// filed sets when the parent ticket was created.
func filed(s *core.Snapshot, at time.Time) *core.Snapshot {
	s.Ticket.CreatedAt = at
	return s
}

// markedChild is a ticket found by the marker in its title, as the poll
// shows it, opened an hour before t0.
func markedChild(n, title, creator, st string) core.Snapshot {
	return core.Snapshot{Ticket: core.Ticket{Ref: childRef(n), Title: title, Creator: creator, State: st,
		CreatedAt: t0.Add(-time.Hour), URL: "https://ggus.example/" + n}}
}

// noChild checks that the step has no child recorded.
func noChild(step string) func(*testing.T, core.Instance) {
	return func(t *testing.T, got core.Instance) {
		if c := got.Steps[step].Child; !c.IsZero() {
			t.Errorf("step %s child = %v, want none", step, c)
		}
	}
}

// noRoutes checks that the request has no routes of its own.
func noRoutes(t *testing.T, got core.Instance) {
	if len(got.Routes) != 0 {
		t.Errorf("routes = %+v, want none", got.Routes)
	}
}

// routedTo checks where the request's children of the given steps open.
func routedTo(p *procedure.Procedure, want map[string]procedure.Route) func(*testing.T, core.Instance) {
	return func(t *testing.T, got core.Instance) {
		for step, r := range want {
			if g := got.RouteOf(p, step); g != r {
				t.Errorf("step %s routed to %+v, want %+v", step, g, r)
			}
		}
	}
}

func notes(inst core.Instance) []string {
	var out []string
	for _, a := range inst.Outbox {
		s := string(a.Kind)
		switch a.Kind {
		case core.ActNote, core.ActMail:
			s += ":" + a.Note
		case core.ActOpen:
			s += ":" + a.Step
		}
		out = append(out, s+"@"+a.Ticket.ID)
	}
	return out
}

func TestDecide(t *testing.T) {
	p := loadTest(t)
	running := func(steps map[string]core.StepState) core.Instance { return state(p, core.PhaseRunning, steps) }

	tests := []struct {
		name      string
		state     core.Instance
		parent    *core.Snapshot
		children  map[string]core.Snapshot
		wantPhase core.Phase
		wantSteps map[string]core.StepStatus
		wantOut   []string // outbox, in order: kind:note@ticket
		check     func(t *testing.T, got core.Instance)
		// unrecorded: procbot has no record of the request (Observation.Unrecorded).
		unrecorded bool
		// others: the other requests for the product (Input.Others).
		others []core.Request
		// marked: tickets carrying the request's marker (Observation.Marked).
		marked []core.Snapshot
	}{
		{
			name:      "new complete request waits for approval and says so once",
			state:     core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:    parentSnap("new", article(1, "jane@foo.example", fullBody)),
			wantPhase: core.PhaseAwaitingApproval,
			wantSteps: map[string]core.StepStatus{"approval": core.StepWaiting, "0a": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Applicant != "jane@foo.example" || got.Data["contact_email"] != "jane@foo.example" {
					t.Errorf("applicant %q, data %v", got.Applicant, got.Data)
				}
			},
		},
		{
			name:      "incomplete data gets one note naming what is missing and opens nothing",
			state:     core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:    parentSnap("new", article(1, "jane@foo.example", "* name of Technology Product: FooStack\n* motivation: users\n/approve")),
			wantPhase: core.PhaseIncomplete,
			wantOut:   []string{"note:unauthorised@1000", "note:missing@1000"},
			check: func(t *testing.T, got core.Instance) {
				if len(got.Missing) == 0 || got.Missing[0].Field != "contact" {
					t.Errorf("missing = %+v, want the contact", got.Missing)
				}
			},
		},
		{
			name: "the same missing data is not asked for twice",
			state: func() core.Instance {
				inst := state(p, core.PhaseIncomplete, nil)
				delete(inst.Data, "motivation")
				first := core.Decide(core.Input{Procedure: p, State: inst, Policy: policy, Now: t0})
				first.Posted = map[string]string{core.NoteMissing: first.Outbox[0].Digest}
				first.Outbox = nil
				return first
			}(),
			parent:    parentSnap("open", article(2, "jane@foo.example", "Any news?")),
			wantPhase: core.PhaseIncomplete,
			wantOut:   nil,
		},
		{
			name: "data supplied later completes the request",
			state: func() core.Instance {
				inst := state(p, core.PhaseIncomplete, nil)
				delete(inst.Data, "motivation")
				return inst
			}(),
			parent:    parentSnap("open", article(2, "jane@foo.example", "* motivation: three communities need it")),
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Data["motivation"] != "three communities need it" || len(got.Missing) != 0 {
					t.Errorf("data %v, missing %v", got.Data, got.Missing)
				}
			},
		},
		{
			name:      "approval by a non-operator is refused with a note and changes nothing",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    parentSnap("open", article(2, "ops@egi.eu.evil.example", "/approve")),
			wantPhase: core.PhaseAwaitingApproval,
			wantSteps: map[string]core.StepStatus{"approval": core.StepWaiting, "0a": core.StepWaiting},
			wantOut:   []string{"note:unauthorised@1000", "note:status@1000"},
		},
		{
			name: "the applicant cannot approve their own request even as an operator",
			state: func() core.Instance {
				s := state(p, core.PhaseAwaitingApproval, nil)
				s.Applicant = "ops@egi.eu"
				return s
			}(),
			parent:    parentSnap("open", article(2, "ops@egi.eu", "/approve")),
			wantPhase: core.PhaseAwaitingApproval,
			wantSteps: map[string]core.StepStatus{"approval": core.StepWaiting},
			wantOut:   []string{"note:self-approval@1000", "note:status@1000"},
		},
		{
			name:      "approval by an operator, in any case, opens the first step",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    parentSnap("open", article(2, "CHIEF@egi.eu", "Approved by the OMB on 2 Nov.\n/Approve")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"approval": core.StepDone, "0a": core.StepOpening, "a1": core.StepWaiting},
			wantOut:   []string{"open:0a@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if by := got.Steps["approval"].By; by != "CHIEF@egi.eu" {
					t.Errorf("approved by %q", by)
				}
			},
		},
		{
			name:      "approval with a configured tag",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    &core.Snapshot{Ticket: core.Ticket{Ref: parent, State: "open", Tags: []string{"PROC19-approved"}}},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"approval": core.StepDone, "0a": core.StepOpening},
			wantOut:   []string{"open:0a@1000", "note:status@1000"},
		},
		{
			name:      "rejection by an operator notes the reason and closes the request",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    parentSnap("open", article(2, "ops@egi.eu", "/reject the OMB found no Resource Centre to deploy it")),
			wantPhase: core.PhaseRejected,
			wantOut:   []string{"note:rejected@1000", "close@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.RejectReason != "the OMB found no Resource Centre to deploy it" || got.Outbox[0].Reason != got.RejectReason {
					t.Errorf("reason %q / %q", got.RejectReason, got.Outbox[0].Reason)
				}
			},
		},
		{
			name:      "rejection without a reason is refused",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    parentSnap("open", article(2, "ops@egi.eu", "/reject")),
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:bad-command@1000", "note:status@1000"},
		},
		{
			name:      "a child closed completes its step and opens the successors in every area",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "solved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepDone, "a1": core.StepOpening, "b1": core.StepOpening, "a2": core.StepWaiting},
			wantOut:   []string{"open:a1@1000", "open:b1@1000", "note:status@1000"},
		},
		{
			name:      "a child in a non-terminal state leaves its step open",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "in progress")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpen, "a1": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a child in a queue with terminal statuses of its own completes on one of them",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": openRT("3000")}),
			children:  map[string]core.Snapshot{"b1": rtChild("3000", "Requirements", "done")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen, "b1": core.StepDone},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a child in a queue with terminal statuses of its own is not completed by its tracker's",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": openRT("3000")}),
			children:  map[string]core.Snapshot{"b1": rtChild("3000", "Requirements", "resolved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen, "b1": core.StepOpen},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a child in another queue of that tracker completes on the tracker's terminal statuses",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": openRT("3000")}),
			children:  map[string]core.Snapshot{"b1": rtChild("3000", "sw-rel", "resolved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen, "b1": core.StepDone},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a child closed in a failed state fails its step, holds its successors and tells the operators once",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "unsolved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepFailed, "a2": core.StepWaiting},
			wantOut:   []string{"note:failed@1000", "note:status@1000"},
		},
		{
			name:      "a failed step seen again is not reported again",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "unsolved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepFailed, "a2": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a failed child its unit reopens reopens the step",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "open")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen, "a2": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a failed child its unit moves to a state that completes it completes the step",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "solved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepDone, "a2": core.StepOpening},
			wantOut:   []string{"open:a2@1000", "note:status@1000"},
		},
		{
			name:      "a child closed as failed after /na on it is skipped, not failed",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "unsolved", article(5, "gocdb@egi.eu", "/na GOCDB has the type already"))},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepSkipped, "a2": core.StepOpening},
			wantOut:   []string{"open:a2@1000", "note:status@1000"},
		},
		{
			name:      "the announcement never comes while a step is failed",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": done("2001"), "a2": open("2003"), "b1": open("2002")}),
			children:  map[string]core.Snapshot{"a2": childSnap("2003", "solved"), "b1": childSnap("2002", "unsolved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a2": core.StepDone, "b1": core.StepFailed, "ann": core.StepWaiting},
			wantOut:   []string{"note:failed@1000", "note:status@1000"},
		},
		{
			name:      "an operator retries a failed step: a new child, with the next attempt's marker",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/retry a1")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpening, "a2": core.StepWaiting},
			wantOut:   []string{"open:a1@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				st := got.Steps["a1"]
				if st.Attempt != 1 || !st.Child.IsZero() || len(st.Failed) != 1 || st.Failed[0] != childRef("2001") {
					t.Errorf("a1 = %+v, want attempt 1, no child, 2001 among the failed", st)
				}
				if m := core.ChildMarker("TEST1", parent, core.StepLabel("a1", st.Attempt)); m != "[TEST1 ggus#10100 a1.2]" {
					t.Errorf("the retry's child is marked %q, want [TEST1 ggus#10100 a1.2]", m)
				}
			},
		},
		{
			name:      "a retry of a step that did not fail is refused with a note",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/retry a1")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen},
			wantOut:   []string{"note:bad-command@1000", "note:status@1000"},
		},
		{
			name:      "a retry by someone who is not an operator changes nothing",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "jane@foo.example", "/retry a1")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepFailed},
			wantOut:   []string{"note:unauthorised@1000", "note:status@1000"},
		},
		{
			name:      "an operator marks a failed step done with evidence: its successors open, the failed child stays as it is",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/done a1 the service type is in GOCDB since Monday")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepDone, "a2": core.StepOpening},
			wantOut:   []string{"note:done-by@1000", "open:a2@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if st := got.Steps["a1"]; st.Reason != "the service type is in GOCDB since Monday" || st.By != "ops@egi.eu" {
					t.Errorf("a1 = %+v, want the evidence and the operator", st)
				}
			},
		},
		{
			name:      "an operator marks an open step done: its child is told and closed",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/done a1 see GOCDB")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepDone, "a2": core.StepOpening},
			wantOut:   []string{"note:done-by@1000", "note:done-by@2001", "close@2001", "open:a2@1000", "note:status@1000"},
		},
		{
			name:      "done without evidence is refused",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/done a1")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen},
			wantOut:   []string{"note:bad-command@1000", "note:status@1000"},
		},
		{
			name:      "an operator marks a failed step not applicable: the failed child is not closed again",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": {Status: core.StepFailed, Child: childRef("2001")}, "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/na a1 GOCDB has the type already")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepSkipped, "a2": core.StepOpening},
			wantOut:   []string{"note:skipped@1000", "open:a2@1000", "note:status@1000"},
		},
		{
			name:      "a reopened child reopens its step",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "reopened")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpen, "a1": core.StepOpen},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a child closed after /na is skipped with the reason",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			children:  map[string]core.Snapshot{"b1": childSnap("2002", "solved", article(5, "umd@egi.eu", "/na the product has no VM images"))},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"b1": core.StepSkipped, "a1": core.StepOpen},
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Steps["b1"].Reason != "the product has no VM images" {
					t.Errorf("reason %q", got.Steps["b1"].Reason)
				}
			},
		},
		{
			name:      "an operator marks a step not applicable on the request: its child is told and closed",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/na b1 no marketplace for middleware")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"b1": core.StepSkipped},
			wantOut:   []string{"note:skipped@1000", "note:skipped@2002", "close@2002", "note:status@1000"},
		},
		{
			name:      "a step for cloud products only is skipped once an operator says middleware",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/kind middleware")),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "closed")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"b1": core.StepSkipped, "a1": core.StepOpening},
			wantOut:   []string{"open:a1@1000", "note:status@1000"},
		},
		{
			name:      "the kind from the request's optional field decides applicability",
			state:     core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:    parentSnap("new", article(1, "jane@foo.example", fullBody+"* type of product: Middleware\n")),
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Kind != "middleware" {
					t.Errorf("kind %q", got.Kind)
				}
			},
		},
		{
			name:      "the last step done posts the announcement and closes the request",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": done("2001"), "a2": open("2003"), "b1": done("2002")}),
			children:  map[string]core.Snapshot{"a2": childSnap("2003", "solved")},
			wantPhase: core.PhaseCompleted,
			wantSteps: map[string]core.StepStatus{"a2": core.StepDone, "ann": core.StepDone},
			wantOut:   []string{"note:announcement@1000", "close@1000", "mail:announcement@1000"},
		},
		{
			name:      "the announcement waits for a step reopened before the last of its area completed",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "a2": open("2003"), "b1": done("2002")}),
			children:  map[string]core.Snapshot{"a2": childSnap("2003", "solved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen, "a2": core.StepDone, "ann": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a child reopened in the cycle its area's last step completes holds back the announcement and the close",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": done("2001"), "a2": open("2003"), "b1": done("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "open"), "a2": childSnap("2003", "solved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpen, "a2": core.StepDone, "ann": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "the reopened step resolved again posts the announcement",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "a2": done("2003"), "b1": done("2002")}),
			children:  map[string]core.Snapshot{"a1": childSnap("2001", "solved")},
			wantPhase: core.PhaseCompleted,
			wantSteps: map[string]core.StepStatus{"a1": core.StepDone, "ann": core.StepDone},
			wantOut:   []string{"note:announcement@1000", "close@1000", "mail:announcement@1000"},
		},
		{
			name:      "procbot's own notes carry no commands",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    parentSnap("open", article(2, "procbot@egi.eu", "an operator writes\n/approve\non this ticket")),
			wantPhase: core.PhaseAwaitingApproval,
			wantSteps: map[string]core.StepStatus{"approval": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name: "articles already processed are not processed again",
			state: func() core.Instance {
				s := state(p, core.PhaseAwaitingApproval, nil)
				s.Seen[parent.Key()] = 2
				return s
			}(),
			parent:    parentSnap("open", article(2, "ops@egi.eu", "/approve")),
			wantPhase: core.PhaseAwaitingApproval,
			wantSteps: map[string]core.StepStatus{"approval": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a request closed by a person before completion stops the procedure",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("closed"),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "solved")},
			wantPhase: core.PhaseClosed,
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpen, "a1": core.StepWaiting},
			wantOut:   nil,
		},
		{
			name:      "a request closed by a person while it runs closes its open children with the reason",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("closed"),
			children:  map[string]core.Snapshot{"b1": childSnap("2002", "solved")},
			wantPhase: core.PhaseClosed,
			wantOut:   []string{"note:stopped@2001", "close@2001"},
		},
		{
			name:      "an operator cancels a running request: the open children are closed with the reason, the request too",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/cancel the Technology Provider withdrew")),
			wantPhase: core.PhaseCancelled,
			wantOut:   []string{"note:cancelled@1000", "note:stopped@2001", "close@2001", "note:stopped@2002", "close@2002", "close@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.StoppedBy != "ops@egi.eu" || got.RejectReason != "the Technology Provider withdrew" {
					t.Errorf("stopped by %q because %q, want the operator and the reason", got.StoppedBy, got.RejectReason)
				}
			},
		},
		{
			name:      "a cancel without a reason is refused",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/cancel")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:bad-command@1000", "note:status@1000"},
		},
		{
			name:      "a rejection while the request runs closes its open children too",
			state:     running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": done("2002")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/reject the OMB withdrew its approval")),
			wantPhase: core.PhaseRejected,
			wantOut:   []string{"note:rejected@1000", "note:stopped@2001", "close@2001", "close@1000"},
		},
		{
			name:      "a hold opens no child, and the status is posted again",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/hold waiting for the UA to be signed")),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "solved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepDone, "a1": core.StepWaiting, "b1": core.StepWaiting},
			wantOut:   []string{"note:held@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if h := got.Hold; !h.On() || h.By != "ops@egi.eu" || h.Reason != "waiting for the UA to be signed" {
					t.Errorf("hold = %+v", h)
				}
			},
		},
		{
			name: "a resume opens what waited during the hold",
			state: func() core.Instance {
				s := running(map[string]core.StepState{"approval": approved, "0a": done("2000")})
				s.Hold = core.Hold{By: "ops@egi.eu", Reason: "UA", Since: t0}
				return s
			}(),
			parent:    parentSnap("open", article(3, "Chief@EGI.eu", "/resume")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpening, "b1": core.StepOpening},
			wantOut:   []string{"note:resumed@1000", "open:a1@1000", "open:b1@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Hold.On() {
					t.Errorf("still on hold: %+v", got.Hold)
				}
			},
		},
		{
			name:      "a route override sends the unit's steps opened from then on to the new route",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/route gocdb rt:GOCDB Requests")),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "solved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"a1": core.StepOpening},
			wantOut:   []string{"note:routed@1000", "open:a1@1000", "open:b1@1000", "note:status@1000"},
			check:     routedTo(p, map[string]procedure.Route{"a1": {Tracker: "rt", Queue: "GOCDB Requests"}, "a2": {Tracker: "ggus", Queue: "GOCDB"}}),
		},
		{
			name:      "a route override of one step changes that step only",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/route a2 ggus:Second Level::NGI::NGI_IT")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:routed@1000", "note:status@1000"},
			check:     routedTo(p, map[string]procedure.Route{"a1": {Tracker: "ggus", Queue: "GOCDB"}, "a2": {Tracker: "ggus", Queue: "Second Level::NGI::NGI_IT"}}),
		},
		{
			name:      "a route override to an unknown step, an unconfigured tracker or without a tracker is refused",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/route z9 ggus:Operations\n/route a1 jira:OPS\n/route a1 Second Level::NGI\n/route approval ggus:Operations")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:bad-command@1000", "note:bad-command@1000", "note:bad-command@1000", "note:bad-command@1000", "note:status@1000"},
			check:     noRoutes,
		},
		{
			name:      "a route override by a non-operator is refused",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "jane@foo.example", "/route gocdb rt:Mine")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:unauthorised@1000", "note:status@1000"},
			check:     noRoutes,
		},
		{
			name:      "the site set with an address is the customer of its steps' children",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/site CESGA grid-admin@cesga.example")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:site@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if c := got.CustomerOf(p, "a2"); c != "grid-admin@cesga.example" {
					t.Errorf("a2's customer = %q", c)
				}
				if c := got.CustomerOf(p, "a1"); c != "" {
					t.Errorf("a1's customer = %q, want none", c)
				}
				if got.DeskOf(p, "a2") != "EGI Operations" || got.Rerouted(p, "a2") {
					t.Errorf("a2 desk %q rerouted %v", got.DeskOf(p, "a2"), got.Rerouted(p, "a2"))
				}
			},
		},
		{
			name:      "the site set with a group gets its steps' children there, with no desk between",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/site CESGA Second Level::NGI::NGI_IBERGRID")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:site@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if r := got.RouteOf(p, "a2"); r != (procedure.Route{Tracker: "ggus", Queue: "Second Level::NGI::NGI_IBERGRID"}) {
					t.Errorf("a2 routed to %+v", r)
				}
				if got.DeskOf(p, "a2") != "" || got.CustomerOf(p, "a2") != "" || got.Data["site_name"] != "CESGA" {
					t.Errorf("desk %q customer %q site %q", got.DeskOf(p, "a2"), got.CustomerOf(p, "a2"), got.Data["site_name"])
				}
			},
		},
		{
			name:      "a site without an address or group, or with a bad address, is refused",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/site CESGA\n/site CESGA admin@cesga")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:bad-command@1000", "note:bad-command@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Data["site_name"] != "" {
					t.Errorf("site = %q", got.Data["site_name"])
				}
			},
		},
		{
			name: "an overdue child whose customer is its unit gets a public reminder, others an internal one",
			state: func() core.Instance {
				s := running(map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": done("2001"),
					"a2": {Status: core.StepOpen, Child: childRef("2002"), OpenedAt: t0.AddDate(0, 0, -20)},
					"b1": {Status: core.StepOpen, Child: core.TicketRef{Tracker: "rt", ID: "7", Number: "7"}, OpenedAt: t0.AddDate(0, 0, -20)}})
				s.Data["site_name"], s.Data["site_email"] = "CESGA", "grid-admin@cesga.example"
				return s
			}(),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:reminder@2002", "note:reminder@7", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				for _, a := range got.Outbox {
					if want := a.Ticket.ID == "2002"; a.Note == core.NoteReminder && a.Public != want {
						t.Errorf("reminder on %s public = %v, want %v", a.Ticket.ID, a.Public, want)
					}
				}
			},
		},
		{
			name:      "a resume of a request not on hold is refused",
			state:     running(map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			parent:    parentSnap("open", article(3, "ops@egi.eu", "/resume")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:bad-command@1000", "note:status@1000"},
		},
		{
			name: "a second request for a product still in the procedure is linked to the first and closed",
			state: func() core.Instance {
				s := core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0)
				s.DuplicateOf = core.TicketRef{Tracker: "ggus", ID: "900", Number: "10090"}
				return s
			}(),
			parent:    parentSnap("new", article(1, "jane@foo.example", fullBody)),
			wantPhase: core.PhaseRejected,
			wantOut:   []string{"relate@1000", "note:duplicate@1000", "close@1000"},
		},
		{
			name: "an operator adds a task force member with a role and removes another",
			state: func() core.Instance {
				s := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved})
				s.TaskForce = []core.Member{{Email: "old@ngi.example"}}
				return s
			}(),
			parent:    parentSnap("open", article(4, "ops@egi.eu", "/taskforce add umd@egi.eu UMD representative\n/taskforce remove OLD@ngi.example")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"open:0a@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if len(got.TaskForce) != 1 || got.TaskForce[0] != (core.Member{Email: "umd@egi.eu", Role: "UMD representative"}) {
					t.Errorf("task force %+v", got.TaskForce)
				}
			},
		},
		{
			name:      "an invalid task force address gets a note naming it",
			state:     state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved}),
			parent:    parentSnap("open", article(4, "ops@egi.eu", "/taskforce add umd-at-egi.eu")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:bad-command@1000", "open:0a@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if !strings.Contains(got.Outbox[0].Reason, `"umd-at-egi.eu"`) || len(got.TaskForce) != 0 {
					t.Errorf("reason %q, task force %v", got.Outbox[0].Reason, got.TaskForce)
				}
			},
		},
		{
			name:      "only operators manage the task force",
			state:     state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved}),
			parent:    parentSnap("open", article(4, "jane@foo.example", "/taskforce add friend@foo.example")),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:unauthorised@1000", "open:0a@1000", "note:status@1000"},
		},
		{
			name:      "the Technology Provider's contact joins the task force once the data is complete",
			state:     core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:    parentSnap("new", article(1, "jane@foo.example", fullBody)),
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if len(got.TaskForce) != 1 || got.TaskForce[0].Email != "jane@foo.example" || got.TaskForce[0].Role != "Technology Provider" {
					t.Errorf("task force %+v", got.TaskForce)
				}
			},
		},
		{
			name:      "an overdue step's child gets a reminder",
			state:     running(map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpen, Child: childRef("2000"), OpenedAt: t0.AddDate(0, 0, -20)}}),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:reminder@2000", "note:status@1000"},
		},
		{
			name: "an overdue step's child of a request on hold gets no reminder",
			state: func() core.Instance {
				s := running(map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpen, Child: childRef("2000"), OpenedAt: t0.AddDate(0, 0, -20)}})
				s.Hold = core.Hold{By: "ops@egi.eu", Reason: "UA", Since: t0.AddDate(0, 0, -1)}
				return s
			}(),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "no second reminder within the period",
			state:     running(map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpen, Child: childRef("2000"), OpenedAt: t0.AddDate(0, 0, -20), RemindedAt: t0.AddDate(0, 0, -3)}}),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a step open for less than its due time gets no reminder",
			state:     running(map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpen, Child: childRef("2000"), OpenedAt: t0.AddDate(0, 0, -10)}}),
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a kind that is none of the choices gets a note and waits for a correction",
			state:     core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:    parentSnap("new", article(1, "jane@foo.example", fullBody+"* type of product: hypervisor\n")),
			wantPhase: core.PhaseIncomplete,
			wantOut:   []string{"note:missing@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Kind != "" || len(got.Missing) != 1 || got.Missing[0].Field != "kind" {
					t.Errorf("kind %q, missing %+v", got.Kind, got.Missing)
				}
			},
		},
		{
			name: "a corrected kind clears the problem",
			state: func() core.Instance {
				s := state(p, core.PhaseIncomplete, nil)
				s.Rejected = map[string]intake.Problem{"kind": {Field: "kind", Message: "not one of cloud, middleware: \"hypervisor\""}}
				return s
			}(),
			parent:    parentSnap("open", article(2, "jane@foo.example", "* type of product: cloud")),
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Kind != "cloud" || len(got.Missing) != 0 {
					t.Errorf("kind %q, missing %+v", got.Kind, got.Missing)
				}
			},
		},
		{
			name:       "a completed request rebuilt after a lost database comes back completed and changes nothing",
			unrecorded: true,
			state:      adopted(p, map[string]string{"0a": "2000", "a1": "2001", "a2": "2003", "b1": "2002"}),
			parent: parentSnap("closed", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve"), article(9, "procbot@egi.eu", "Announcement: FooStack")),
			children: map[string]core.Snapshot{"0a": childSnap("2000", "solved"), "a1": childSnap("2001", "closed"),
				"a2": childSnap("2003", "solved"), "b1": childSnap("2002", "solved")},
			wantPhase: core.PhaseCompleted,
			wantSteps: map[string]core.StepStatus{"approval": core.StepDone, "0a": core.StepDone, "a2": core.StepDone, "b1": core.StepDone, "ann": core.StepDone},
			wantOut:   nil,
		},
		{
			name:       "a completed middleware request rebuilt comes back completed, its cloud step skipped",
			unrecorded: true,
			state:      adopted(p, map[string]string{"0a": "2000", "a1": "2001", "a2": "2003"}),
			parent: parentSnap("closed", article(1, "jane@foo.example", fullBody+"* type of product: middleware\n"), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve"), article(9, "procbot@egi.eu", "Announcement: FooStack")),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "solved"), "a1": childSnap("2001", "solved"), "a2": childSnap("2003", "solved")},
			wantPhase: core.PhaseCompleted,
			wantSteps: map[string]core.StepStatus{"b1": core.StepSkipped, "ann": core.StepDone},
			wantOut:   nil,
		},
		{
			name:       "a rejected request rebuilt comes back rejected for the operator's reason, without a note or a close",
			unrecorded: true,
			state:      adopted(p, nil),
			parent: parentSnap("closed", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/reject no Resource Centre runs it"), article(4, "procbot@egi.eu", "rejected")),
			wantPhase: core.PhaseRejected,
			wantOut:   nil,
			check: func(t *testing.T, got core.Instance) {
				if got.RejectReason != "no Resource Centre runs it" {
					t.Errorf("reason %q", got.RejectReason)
				}
			},
		},
		{
			name:       "a request a person closed, rebuilt, comes back closed with its steps as the children show, opening nothing",
			unrecorded: true,
			state:      adopted(p, map[string]string{"0a": "2000", "a1": "2001", "b1": "2002"}),
			parent: parentSnap("closed", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve")),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "solved"), "a1": childSnap("2001", "solved"), "b1": childSnap("2002", "open")},
			wantPhase: core.PhaseClosed,
			wantSteps: map[string]core.StepStatus{"0a": core.StepDone, "a1": core.StepDone, "a2": core.StepWaiting, "b1": core.StepOpen, "ann": core.StepWaiting},
			wantOut:   nil,
		},
		{
			name:       "a running request rebuilt does not answer old commands again, and its status note is not posted if it repeats procbot's last note",
			unrecorded: true,
			state:      adopted(p, map[string]string{"0a": "2000"}),
			parent: parentSnap("open", article(1, "jane@foo.example", fullBody), article(2, "jane@foo.example", "/approve"),
				article(3, "procbot@egi.eu", "only operators"), article(4, "ops@egi.eu", "/approve"), article(5, "procbot@egi.eu", "TEST1 progress\n  0a   open")),
			children:  map[string]core.Snapshot{"0a": childSnap("2000", "open")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"approval": core.StepDone, "0a": core.StepOpen},
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if on := got.Outbox[0].OnTicket; len(on) != 1 || on[0] != core.NoteDigest("TEST1 progress 0a open") {
					t.Errorf("status note not checked against procbot's last note: OnTicket %v", on)
				}
			},
		},
		{
			name:       "a rebuilt request whose last step completed while procbot was down is announced unless the announcement is on the ticket",
			unrecorded: true,
			state:      adopted(p, map[string]string{"0a": "2000", "a1": "2001", "a2": "2003", "b1": "2002"}),
			parent: parentSnap("open", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve"), article(4, "procbot@egi.eu", "more progress")),
			children: map[string]core.Snapshot{"0a": childSnap("2000", "solved"), "a1": childSnap("2001", "solved"),
				"a2": childSnap("2003", "solved"), "b1": childSnap("2002", "solved")},
			wantPhase: core.PhaseCompleted,
			wantOut:   []string{"note:announcement@1000", "close@1000", "mail:announcement@1000"},
			check: func(t *testing.T, got core.Instance) {
				if on := got.Outbox[0].OnTicket; len(on) != 2 || on[0] != core.NoteDigest("progress") {
					t.Errorf("announcement not checked against procbot's notes: OnTicket %v", on)
				}
			},
		},
		{
			name:       "a new request without procbot's notes is not a rebuild: it is answered",
			unrecorded: true,
			state:      core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:     parentSnap("new", article(1, "jane@foo.example", fullBody+"/approve")),
			wantPhase:  core.PhaseAwaitingApproval,
			wantOut:    []string{"note:unauthorised@1000", "note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Outbox[1].OnTicket != nil {
					t.Errorf("OnTicket %v on a new request's status note", got.Outbox[1].OnTicket)
				}
			},
		},
		{
			name: "a pending status note that is still current keeps the attempt of a post whose answer was lost",
			state: func() core.Instance {
				s := state(p, core.PhaseAwaitingApproval, nil)
				first := core.Decide(core.Input{Procedure: p, State: s, Policy: policy, Now: t0})
				first.Outbox[0].Attempt = "posted-before"
				return first
			}(),
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.Outbox[0].Attempt != "posted-before" {
					t.Errorf("attempt %q: the executor would post the note again without looking for it", got.Outbox[0].Attempt)
				}
			},
		},
		{
			name:       "a new request for a product whose request is still open is a duplicate of it",
			unrecorded: true,
			state:      core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:     parentSnap("new", article(1, "jane@foo.example", fullBody)),
			others: []core.Request{{Key: "TEST1/ggus:900", Procedure: "TEST1", Parent: earlier, ParentURL: "https://ggus.example/900",
				Product: " foostack ", Phase: core.PhaseRunning}},
			wantPhase: core.PhaseRejected,
			wantOut:   []string{"relate@1000", "note:duplicate@1000", "close@1000"},
			check: func(t *testing.T, got core.Instance) {
				if got.DuplicateOf != earlier || got.DuplicateOfURL != "https://ggus.example/900" {
					t.Errorf("duplicate of %v %q, want %v", got.DuplicateOf, got.DuplicateOfURL, earlier)
				}
			},
		},
		{
			name:       "of two new requests for one product, the one filed later is the duplicate",
			unrecorded: true,
			state:      core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:     filed(parentSnap("new", article(1, "jane@foo.example", fullBody)), t0),
			others: []core.Request{{Key: "TEST1/ggus:900", Procedure: "TEST1", Parent: earlier, Product: "FooStack",
				Phase: core.PhaseIncomplete, Unrecorded: true, Filed: t0.Add(-time.Minute)}},
			wantPhase: core.PhaseRejected,
			wantOut:   []string{"relate@1000", "note:duplicate@1000", "close@1000"},
		},
		{
			name:       "of two new requests for one product, the one filed first is the original",
			unrecorded: true,
			state:      core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:     filed(parentSnap("new", article(1, "jane@foo.example", fullBody)), t0),
			others: []core.Request{{Key: "TEST1/ggus:900", Procedure: "TEST1", Parent: earlier, Product: "FooStack",
				Phase: core.PhaseIncomplete, Unrecorded: true, Filed: t0.Add(time.Minute)}},
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:       "a finished request, a duplicate, another product or another procedure makes no duplicate",
			unrecorded: true,
			state:      core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0),
			parent:     parentSnap("new", article(1, "jane@foo.example", fullBody)),
			others: []core.Request{
				{Key: "TEST1/ggus:900", Procedure: "TEST1", Parent: earlier, Product: "FooStack", Phase: core.PhaseCompleted},
				{Key: "TEST1/ggus:901", Procedure: "TEST1", Parent: core.TicketRef{Tracker: "ggus", ID: "901"}, Product: "FooStack",
					Phase: core.PhaseRejected, DuplicateOf: earlier},
				{Key: "TEST1/ggus:902", Procedure: "TEST1", Parent: core.TicketRef{Tracker: "ggus", ID: "902"}, Product: "FooStack 2", Phase: core.PhaseRunning},
				{Key: "OTHER/ggus:903", Procedure: "OTHER", Parent: core.TicketRef{Tracker: "ggus", ID: "903"}, Product: "FooStack", Phase: core.PhaseRunning},
			},
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:      "a recorded request is not made a duplicate of a newer one",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			parent:    parentSnap("open", article(2, "jane@foo.example", "Any news?")),
			others:    []core.Request{{Key: "TEST1/ggus:900", Procedure: "TEST1", Parent: earlier, Product: "FooStack", Phase: core.PhaseRunning}},
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
		},
		{
			name:       "a child procbot opened, found by its marker, is adopted and read",
			unrecorded: true,
			state:      adopted(p, nil),
			parent: parentSnap("open", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve")),
			marked:    []core.Snapshot{markedChild("2000", "[TEST1 ggus#10100 0a] Agree the UA.", "procbot@egi.eu", "solved")},
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"open:a1@1000", "open:b1@1000", "note:status@1000"},
			wantSteps: map[string]core.StepStatus{"approval": core.StepDone, "0a": core.StepDone, "a1": core.StepOpening, "b1": core.StepOpening},
			check: func(t *testing.T, got core.Instance) {
				st := got.Steps["0a"]
				if st.Child != childRef("2000") || st.ChildURL != "https://ggus.example/2000" || !st.OpenedAt.Equal(t0.Add(-time.Hour)) {
					t.Errorf("step 0a = %+v, want child 2000 opened an hour before t0", st)
				}
				for _, a := range got.Outbox {
					if a.Kind == core.ActOpen && a.Attempt != core.ChildMarker("TEST1", parent, a.Step) {
						t.Errorf("rebuilt, the opening of %s does not look for the child first: attempt %q", a.Step, a.Attempt)
					}
				}
			},
		},
		{
			name:       "a ticket with a step's marker that procbot did not open is not adopted",
			unrecorded: true,
			state:      adopted(p, nil),
			parent: parentSnap("open", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve")),
			marked:    []core.Snapshot{markedChild("2000", "[TEST1 ggus#10100 0a] Agree the UA.", "mallory@evil.example", "solved")},
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"open:0a@1000", "note:status@1000"},
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpening},
			check:     noChild("0a"),
		},
		{
			name:       "a ticket with a step's marker in the wrong tracker is not adopted",
			unrecorded: true,
			state:      adopted(p, nil),
			parent: parentSnap("open", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve")),
			marked: []core.Snapshot{{Ticket: core.Ticket{Ref: core.TicketRef{Tracker: "rt", ID: "77", Number: "77"},
				Title: "[TEST1 ggus#10100 0a] Agree the UA.", Creator: "procbot", State: "resolved"}}},
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"open:0a@1000", "note:status@1000"},
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpening},
			check:     noChild("0a"),
		},
		{
			name:      "a second ticket with a step's marker leaves the recorded child in place",
			state:     state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": open("2000")}),
			marked:    []core.Snapshot{markedChild("2005", "[TEST1 ggus#10100 0a] Agree the UA.", "procbot@egi.eu", "solved")},
			wantPhase: core.PhaseRunning,
			wantOut:   []string{"note:status@1000"},
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpen, "a1": core.StepWaiting},
			check: func(t *testing.T, got core.Instance) {
				if c := got.Steps["0a"].Child; c != childRef("2000") {
					t.Errorf("step 0a child = %v, want the recorded 2000", c)
				}
			},
		},
		{
			name:  "the retry's child is adopted by its attempt's marker, not the failed one's",
			state: state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpening, Attempt: 1, Failed: []core.TicketRef{childRef("2000")}}}),
			marked: []core.Snapshot{markedChild("2000", "[TEST1 ggus#10100 0a] Agree the UA.", "procbot@egi.eu", "unsolved"),
				markedChild("2009", "[TEST1 ggus#10100 0a.2] Agree the UA.", "procbot@egi.eu", "open")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpen},
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				if c := got.Steps["0a"].Child; c != childRef("2009") {
					t.Errorf("0a's child = %v, want the retry's 2009", c)
				}
			},
		},
		{
			name:       "a lost record is rebuilt with the latest retry's child, the failed one before it kept",
			unrecorded: true,
			state:      adopted(p, nil),
			parent: parentSnap("open", article(1, "jane@foo.example", fullBody), article(2, "procbot@egi.eu", "progress"),
				article(3, "ops@egi.eu", "/approve")),
			marked: []core.Snapshot{markedChild("2009", "[TEST1 ggus#10100 0a.2] Agree the UA.", "procbot@egi.eu", "open"),
				markedChild("2000", "[TEST1 ggus#10100 0a] Agree the UA.", "procbot@egi.eu", "unsolved")},
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepOpen, "a1": core.StepWaiting},
			wantOut:   []string{"note:status@1000"},
			check: func(t *testing.T, got core.Instance) {
				st := got.Steps["0a"]
				if st.Child != childRef("2009") || st.Attempt != 1 || len(st.Failed) != 1 || st.Failed[0] != childRef("2000") {
					t.Errorf("0a = %+v, want child 2009 at attempt 1, 2000 failed", st)
				}
			},
		},
		{
			name:      "an approval step has no child to adopt",
			state:     state(p, core.PhaseAwaitingApproval, nil),
			marked:    []core.Snapshot{markedChild("2000", "[TEST1 ggus#10100 approval] Ask.", "procbot@egi.eu", "open")},
			wantPhase: core.PhaseAwaitingApproval,
			wantOut:   []string{"note:status@1000"},
			wantSteps: map[string]core.StepStatus{"approval": core.StepWaiting},
			check:     noChild("approval"),
		},
		{
			name: "a step marked not applicable while its child is being opened is not opened",
			state: func() core.Instance {
				s := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpening}})
				s.Outbox = []core.Action{{Kind: core.ActOpen, Ticket: parent, Step: "0a"}}
				return s
			}(),
			parent:    parentSnap("open", article(2, "ops@egi.eu", "/na 0a agreed already")),
			wantPhase: core.PhaseRunning,
			wantSteps: map[string]core.StepStatus{"0a": core.StepSkipped, "a1": core.StepOpening, "b1": core.StepOpening},
			wantOut:   []string{"note:skipped@1000", "open:a1@1000", "open:b1@1000", "note:status@1000"},
		},
		{
			name: "a request a person closed while a child was being opened opens nothing",
			state: func() core.Instance {
				s := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpening}})
				s.Outbox = []core.Action{{Kind: core.ActOpen, Ticket: parent, Step: "0a"}}
				return s
			}(),
			parent:    parentSnap("closed"),
			wantPhase: core.PhaseClosed,
			wantOut:   nil,
		},
		{
			name:      "a finished request is left alone",
			state:     state(p, core.PhaseCompleted, nil),
			parent:    parentSnap("open", article(9, "ops@egi.eu", "/reject too late")),
			wantPhase: core.PhaseCompleted,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := policy
			pol.ApprovalTag = "proc19-approved"
			pol.ReminderEvery = 7 * 24 * time.Hour
			in := core.Input{Procedure: p, State: tc.state, Others: tc.others,
				Observed: core.Observation{Parent: tc.parent, Children: tc.children, Unrecorded: tc.unrecorded, Marked: tc.marked},
				Policy:   pol, Now: t0.Add(time.Hour)}
			before := tc.state.Clone()
			got := core.Decide(in)
			if got.Phase != tc.wantPhase {
				t.Errorf("phase = %s, want %s", got.Phase, tc.wantPhase)
			}
			for id, want := range tc.wantSteps {
				if s := got.Steps[id].Status; s != want {
					t.Errorf("step %s = %s, want %s", id, s, want)
				}
			}
			if g, w := strings.Join(notes(got), " "), strings.Join(tc.wantOut, " "); g != w {
				t.Errorf("outbox = [%s]\n       want [%s]", g, w)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
			if !sameJSON(t, before, tc.state) {
				t.Errorf("Decide modified its input")
			}
		})
	}
}

// TestDecideIsStable: deciding again on the result, with nothing new
// observed and the outbox carried out, changes nothing and queues nothing.
func TestDecideIsStable(t *testing.T) {
	p := loadTest(t)
	inst := core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0)
	inst = core.Decide(core.Input{Procedure: p, State: inst, Observed: core.Observation{Parent: parentSnap("new", article(1, "jane@foo.example", fullBody))}, Policy: policy, Now: t0})
	for _, a := range inst.Outbox {
		if a.Digest != "" {
			inst.Posted[a.Note] = a.Digest
		}
	}
	inst.Outbox = nil
	again := core.Decide(core.Input{Procedure: p, State: inst, Policy: policy, Now: t0.Add(time.Hour)})
	if len(again.Outbox) != 0 || !sameJSON(t, again, inst) {
		t.Errorf("second decision changed the request: outbox %v", notes(again))
	}
}
