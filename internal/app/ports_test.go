package app

import "github.com/procbot/procbot/internal/daemon"

// The wrappers New puts around the tracker clients are trackers as the
// daemon holds them.
var (
	_ daemon.Tracker = (*link)(nil)
	_ daemon.Tracker = dryTracker{}
)
