package core_test

import (
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// TestOpened: a child procbot created opens its step and counts as read
// at the change its creation made, where that change has settled; a
// child without a known change (adopted) is read like any other.
func TestOpened(t *testing.T) {
	p := loadTest(t)
	before := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved,
		"0a": {Status: core.StepWaiting}})
	for _, tc := range []struct {
		name     string
		child    core.Ticket
		wantRead bool
	}{
		{"a GGUS child, created a moment ago", core.Ticket{Ref: core.TicketRef{Tracker: core.TrackerGGUS, ID: "2000"}, UpdatedAt: t0.Add(-40 * time.Millisecond)}, true},
		{"an RT child, created in this second", core.Ticket{Ref: core.TicketRef{Tracker: core.TrackerRT, ID: "77"}, UpdatedAt: t0}, false},
		{"a child whose change is not known", core.Ticket{Ref: core.TicketRef{Tracker: core.TrackerGGUS, ID: "2001"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := core.Opened(before, "0a", tc.child, t0)
			st := got.Steps["0a"]
			if st.Status != core.StepOpen || st.Child != tc.child.Ref || !st.OpenedAt.Equal(t0) {
				t.Errorf("step 0a is %+v, want open with child %s at %s", st, tc.child.Ref, t0)
			}
			at, read := got.Read[tc.child.Ref.Key()]
			if read != tc.wantRead || (read && !at.Equal(tc.child.UpdatedAt)) {
				t.Errorf("read at %v (%v), want read: %v at %v", at, read, tc.wantRead, tc.child.UpdatedAt)
			}
			if before.Steps["0a"].Status != core.StepWaiting || len(before.Read) != 0 {
				t.Errorf("Opened changed the state it was given: %+v, read %v", before.Steps["0a"], before.Read)
			}
		})
	}
}
