package core_test

import (
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// TestGGUSChangeIsReadOnce: a change GGUS stamped (to the millisecond)
// cannot hide a later one, so it is recorded as read at once, also when its
// stamp falls on a whole second; the parent and the children are recorded
// alike. RT's whole-second stamps, which are read again until they settle,
// are TestSettled's.
func TestGGUSChangeIsReadOnce(t *testing.T) {
	p := loadTest(t)
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"a moment ago: read once", now.Add(-time.Second + 123*time.Millisecond), true},
		{"a stamp on the whole second, a moment ago: read once", now.Add(-time.Second), true},
		{"in the second of the read: read once", now, true},
		{"settled: read once", now.Add(-core.ReadSettle), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": open("2000")})
			// Read before, at an older change: a change not settled is
			// forgotten, so that the next poll reads the ticket again.
			inst.Read = map[string]time.Time{parent.Key(): now.Add(-time.Hour), childRef("2000").Key(): now.Add(-time.Hour)}
			par := parentSnap("open")
			par.Changed = tc.at
			child := childSnap("2000", "open")
			child.Changed = tc.at
			got := core.Decide(core.Input{Procedure: p, State: inst, Policy: policy, Now: now,
				Observed: core.Observation{Parent: par, Children: map[string]core.Snapshot{"0a": child}}})
			for _, key := range []string{parent.Key(), childRef("2000").Key()} {
				at, recorded := got.Read[key]
				if recorded != tc.want || (recorded && !at.Equal(tc.at)) {
					t.Errorf("%s: read recorded %v at %s, want %v at %s", key, recorded, at.Format(time.RFC3339Nano), tc.want, tc.at.Format(time.RFC3339Nano))
				}
			}
		})
	}
}
