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

// TestOpenedRetryIsLinkedToTheFailedChild: the child of a retry is linked
// (related) to the child that failed before it, in the same tracker; a
// first child, or one in another tracker, is linked to nothing.
func TestOpenedRetryIsLinkedToTheFailedChild(t *testing.T) {
	p := loadTest(t)
	failed := core.TicketRef{Tracker: core.TrackerGGUS, ID: "2000", Number: "12000"}
	for _, tc := range []struct {
		name   string
		before core.StepState
		child  core.TicketRef
		want   []core.Action
	}{
		{"a retry in the same tracker", core.StepState{Status: core.StepOpening, Attempt: 1, Failed: []core.TicketRef{failed}},
			core.TicketRef{Tracker: core.TrackerGGUS, ID: "2009"},
			[]core.Action{{Kind: core.ActRelate, Ticket: core.TicketRef{Tracker: core.TrackerGGUS, ID: "2009"}, Other: failed, Step: "0a"}}},
		{"a retry in another tracker", core.StepState{Status: core.StepOpening, Attempt: 1, Failed: []core.TicketRef{failed}},
			core.TicketRef{Tracker: core.TrackerRT, ID: "77"}, nil},
		{"a first child", core.StepState{Status: core.StepOpening}, core.TicketRef{Tracker: core.TrackerGGUS, ID: "2009"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": tc.before})
			got := core.Opened(before, "0a", core.Ticket{Ref: tc.child}, t0)
			var relates []core.Action
			for _, a := range got.Outbox {
				if a.Kind == core.ActRelate {
					relates = append(relates, a)
				}
			}
			if len(relates) != len(tc.want) || (len(tc.want) == 1 && (relates[0].Ticket != tc.want[0].Ticket || relates[0].Other != tc.want[0].Other)) {
				t.Errorf("relate actions %+v, want %+v", relates, tc.want)
			}
		})
	}
}

// TestMarkerNamesTheAttempt: a retry's marker names its attempt, and is
// read back as that step and attempt; the first child's is unchanged.
func TestMarkerNamesTheAttempt(t *testing.T) {
	parent := core.TicketRef{Tracker: core.TrackerGGUS, Number: "10123"}
	for _, tc := range []struct {
		attempt int
		want    string
	}{{0, "[PROC19 ggus#10123 2c]"}, {1, "[PROC19 ggus#10123 2c.2]"}, {4, "[PROC19 ggus#10123 2c.5]"}} {
		m := core.ChildMarker("PROC19", parent, core.StepLabel("2c", tc.attempt))
		if m != tc.want {
			t.Errorf("attempt %d: marker %q, want %q", tc.attempt, m, tc.want)
		}
		got, ok := core.ParseMarker(m + " FooStack: Verify.")
		if !ok || got.Step != "2c" || got.Attempt != tc.attempt || got.Number != "10123" {
			t.Errorf("ParseMarker(%q) = %+v, %v", m, got, ok)
		}
	}
	for _, bad := range []string{"[PROC19 ggus#10123 2c.1] x", "[PROC19 ggus#10123 2c.] x", "[PROC19 ggus#10123 2c.x] x"} {
		if m, ok := core.ParseMarker(bad); ok {
			t.Errorf("ParseMarker(%q) = %+v, want no marker", bad, m)
		}
	}
}
