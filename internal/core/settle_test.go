package core

import (
	"testing"
	"time"
)

// TestSettled: a GGUS change counts as read at once, also when its
// millisecond stamp falls on a whole second; an RT change (whole seconds)
// only once it is ReadSettle old.
func TestSettled(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		tracker string
		at      time.Time
		want    bool
	}{
		{"GGUS, milliseconds, a moment ago", TrackerGGUS, now.Add(-time.Second + 123*time.Millisecond), true},
		{"GGUS, a stamp on the whole second, a moment ago", TrackerGGUS, now.Add(-time.Second), true},
		{"GGUS, in the second of the read", TrackerGGUS, now, true},
		{"GGUS, ahead of procbot's clock", TrackerGGUS, now.Add(2 * time.Second), true},
		{"RT, a moment ago", TrackerRT, now.Add(-time.Second), false},
		{"RT, in the second of the read", TrackerRT, now, false},
		{"RT, just under the settle time", TrackerRT, now.Add(-ReadSettle + time.Second), false},
		{"RT, settled", TrackerRT, now.Add(-ReadSettle), true},
		{"a tracker not known to stamp finer, a moment ago", "other", now.Add(-time.Second + 123*time.Millisecond), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := settled(now, tc.at, tc.tracker); got != tc.want {
				t.Errorf("settled(%s, %s) = %v, want %v", tc.tracker, tc.at.Format(time.RFC3339Nano), got, tc.want)
			}
		})
	}
}
