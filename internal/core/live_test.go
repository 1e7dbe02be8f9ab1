package core_test

import (
	"slices"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// TestLiveWakeAgreesWithDecide: the index entry of a request says a
// reminder is due exactly when Decide, with nothing observed, queues one,
// so that a request the index does not point out has none due.
func TestLiveWakeAgreesWithDecide(t *testing.T) {
	p := loadTest(t)
	week := 7 * 24 * time.Hour
	for _, tc := range []struct {
		name     string
		opened   time.Time
		reminded time.Time
		every    time.Duration
		want     bool
	}{
		{"open longer than its due time, never reminded", t0.AddDate(0, 0, -20), time.Time{}, week, true},
		{"open for less than its due time", t0.AddDate(0, 0, -10), time.Time{}, week, false},
		{"reminded within the period", t0.AddDate(0, 0, -20), t0.AddDate(0, 0, -3), week, false},
		{"reminded a period ago", t0.AddDate(0, 0, -20), t0.AddDate(0, 0, -8), week, true},
		{"reminders switched off", t0.AddDate(0, 0, -20), time.Time{}, 0, false},
		{"no opening time recorded", time.Time{}, time.Time{}, week, false},
		{"reminded recently, due again later", t0.AddDate(0, 0, -40), t0.AddDate(0, 0, -1), week, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved,
				"0a": {Status: core.StepOpen, Child: childRef("2000"), OpenedAt: tc.opened, RemindedAt: tc.reminded}})
			pol := policy
			pol.ReminderEvery = tc.every
			got := core.Decide(core.Input{Procedure: p, State: inst, Policy: pol, Now: t0})
			decided := slices.ContainsFunc(got.Outbox, func(a core.Action) bool { return a.Note == core.NoteReminder })
			if decided != tc.want {
				t.Fatalf("Decide queued a reminder: %v, want %v", decided, tc.want)
			}
			// The wake time is the first moment Decide queues it: not a
			// second earlier.
			at, ok := inst.Live().Wake(p, pol)
			if due := ok && !at.After(t0); due != tc.want {
				t.Errorf("Live().Wake = %v %v: due at %v: %v, Decide queued a reminder: %v", at, ok, t0, due, decided)
			}
			if ok {
				early := core.Decide(core.Input{Procedure: p, State: inst, Policy: pol, Now: at.Add(-time.Second)})
				onTime := core.Decide(core.Input{Procedure: p, State: inst, Policy: pol, Now: at})
				reminds := func(i core.Instance) bool {
					return slices.ContainsFunc(i.Outbox, func(a core.Action) bool { return a.Note == core.NoteReminder })
				}
				if reminds(early) || !reminds(onTime) {
					t.Errorf("Wake = %v: Decide reminds a second before: %v, at it: %v", at, reminds(early), reminds(onTime))
				}
			}
		})
	}
}
