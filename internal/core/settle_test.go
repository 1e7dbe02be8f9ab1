package core

import (
	"testing"
	"time"
)

// TestSettled: a change counts as read only once it is ReadSettle old, on
// either tracker: RT stamps whole seconds, and a GGUS stamp is taken no
// finer (see settled).
func TestSettled(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		tracker string
		at      time.Time
		want    bool
	}{
		{"GGUS, milliseconds, a moment ago", TrackerGGUS, now.Add(-time.Second + 123*time.Millisecond), false},
		{"GGUS, settled", TrackerGGUS, now.Add(-ReadSettle), true},
		{"RT, a moment ago", TrackerRT, now.Add(-time.Second), false},
		{"RT, in the second of the read", TrackerRT, now, false},
		{"RT, just under the settle time", TrackerRT, now.Add(-ReadSettle + time.Second), false},
		{"RT, settled", TrackerRT, now.Add(-ReadSettle), true},
		{"ahead of procbot's clock", TrackerRT, now.Add(2 * time.Second), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := settled(now, tc.at); got != tc.want {
				t.Errorf("settled(%s, %s) = %v, want %v", tc.tracker, tc.at.Format(time.RFC3339Nano), got, tc.want)
			}
		})
	}
}
