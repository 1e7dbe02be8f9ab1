package daemon

import (
	"testing"
	"time"
)

// TestRecentChangeIsReadAgain: a change stamped to the whole second and
// only seconds old may hide another made in the same second (RT stamps
// whole seconds), so it is not recorded as read and the next poll reads
// the ticket again. A change stamped to the millisecond (GGUS) cannot hide
// a later one, so it is read once.
func TestRecentChangeIsReadAgain(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"whole second, a moment ago: read again", now.Add(-time.Second), false},
		{"whole second, in the second of the read: read again", now, false},
		{"whole second, just under the settle time: read again", now.Add(-readSettle + time.Second), false},
		{"whole second, settled: read once", now.Add(-readSettle), true},
		{"milliseconds, a moment ago: read once", now.Add(-time.Second + 123*time.Millisecond), true},
		{"milliseconds, ahead of procbot's clock: read once", now.Add(2*time.Second + time.Millisecond), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := settled(now, tc.at); got != tc.want {
				t.Errorf("settled(%s, %s) = %v, want %v", now.Format(time.RFC3339Nano), tc.at.Format(time.RFC3339Nano), got, tc.want)
			}
			d := &Daemon{cfg: Config{Now: func() time.Time { return now }}}
			_, recorded := d.markRead(nil, "ggus#1", tc.at)["ggus#1"]
			if recorded != tc.want {
				t.Errorf("markRead recorded the read: %v, want %v", recorded, tc.want)
			}
		})
	}
}
