package core_test

import (
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// TestRetryAt: a refused effect is tried again at once until it was
// refused RefusalsBeforeReport times, then after an hour, doubling, at most
// a day.
func TestRetryAt(t *testing.T) {
	for _, tc := range []struct {
		refusals int
		wait     time.Duration // after RefusedAt; -1: at once
	}{{0, -1}, {1, -1}, {2, -1}, {3, time.Hour}, {4, 2 * time.Hour}, {5, 4 * time.Hour}, {8, 24 * time.Hour}, {40, 24 * time.Hour}} {
		a := core.Action{Refusals: tc.refusals, RefusedAt: t0}
		got := a.RetryAt()
		switch {
		case tc.wait < 0 && !got.IsZero():
			t.Errorf("%d refusals: retry at %v, want at once", tc.refusals, got)
		case tc.wait >= 0 && !got.Equal(t0.Add(tc.wait)):
			t.Errorf("%d refusals: retry at %v, want %v after the last", tc.refusals, got, tc.wait)
		}
	}
}

// TestRefusalsReportedOnce: an effect refused RefusalsBeforeReport times is
// reported by one internal note on the request, naming the step, the
// ticket and the refusal; a reported one is not reported again.
func TestRefusalsReportedOnce(t *testing.T) {
	p := loadTest(t)
	inst := state(p, core.PhaseRunning, map[string]core.StepState{"approval": approved, "0a": {Status: core.StepOpening}})
	inst.Outbox = []core.Action{{Kind: core.ActOpen, Ticket: parent, Step: "0a",
		Refusals: core.RefusalsBeforeReport, Refused: "not allowed", RefusedAt: t0}}
	got := core.Decide(core.Input{Procedure: p, State: inst, Policy: policy, Now: t0})
	var notes []core.Action
	for _, a := range got.Outbox {
		if a.Note == core.NoteRefused {
			notes = append(notes, a)
		}
	}
	if len(notes) != 1 {
		t.Fatalf("%d refused notes in %v, want 1", len(notes), got.Outbox)
	}
	if n := notes[0]; n.Ticket != parent || n.Public || n.Step != "0a" || n.Reason != "not allowed" || n.Command != string(core.ActOpen) {
		t.Errorf("note %+v: want an internal note on the request naming step 0a, the open and the refusal", n)
	}
	again := core.Decide(core.Input{Procedure: p, State: got, Policy: policy, Now: t0.Add(time.Minute)})
	count := 0
	for _, a := range again.Outbox {
		if a.Note == core.NoteRefused {
			count++
		}
	}
	if count != 1 {
		t.Errorf("after the next decision %d refused notes, want still the one", count)
	}
}
