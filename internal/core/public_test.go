package core_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// TestNotesOnAChildAreInternal: a note on a child is internal (in RT a
// comment), so that it moves no ticket through its lifecycle and mails no
// one; a note on the request is public, for the applicant.
func TestNotesOnAChildAreInternal(t *testing.T) {
	p := loadTest(t)
	long := t0.AddDate(0, 0, -40)
	for _, tc := range []struct {
		name     string
		steps    map[string]core.StepState
		parent   *core.Snapshot
		children map[string]core.Snapshot
	}{
		{"a reminder on a child open too long",
			map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpen, Child: childRef("2000"), OpenedAt: long}},
			nil, nil},
		{"an operator's /na on the request, told on the child too",
			map[string]core.StepState{"approval": approved, "0a": done("2000"), "a1": open("2001"), "b1": open("2002")},
			parentSnap("open", article(3, "ops@egi.eu", "/na b1 no marketplace for middleware")), nil},
		{"a /na without a reason on a child",
			map[string]core.StepState{"approval": approved, "0a": open("2000")},
			nil, map[string]core.Snapshot{"0a": childSnap("2000", "open", article(7, "unit@egi.eu", "/na"))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := core.Input{Procedure: p, State: state(p, core.PhaseRunning, tc.steps), Policy: policy, Now: t0,
				Observed: core.Observation{Parent: tc.parent, Children: tc.children}}
			in.Policy.ReminderEvery = 7 * 24 * time.Hour
			got := core.Decide(in)
			onChild := 0
			for _, a := range got.Outbox {
				if a.Kind != core.ActNote {
					continue
				}
				isParent := a.Ticket == parent
				if a.Public != isParent {
					t.Errorf("%s note on %s: public %v, want %v", a.Note, a.Ticket, a.Public, isParent)
				}
				if !isParent {
					onChild++
				}
			}
			if onChild == 0 {
				t.Fatalf("no note on a child decided; the test needs one: %s", fmt.Sprint(got.Outbox))
			}
		})
	}
}
