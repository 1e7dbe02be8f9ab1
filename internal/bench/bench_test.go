package bench

import (
	"context"
	"testing"

	"github.com/procbot/procbot/internal/core"
)

// TestEveryFigureIsMeasured runs the benchmark at one live procedure and
// checks that every figure that cannot be zero was measured: a stage that
// is skipped, or a count that reads the wrong simulator, shows up as a
// zero. The figures themselves are not judged.
func TestEveryFigureIsMeasured(t *testing.T) {
	rows, err := Run(context.Background(), Options{Sizes: []int{1}, Cycles: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows for one size", len(rows))
	}
	r := rows[0]
	positive := []struct {
		name string
		v    int64
	}{
		{"live procedures", int64(r.Live)},
		{"build cycles", int64(r.BuildCycles)},
		{"requests to GGUS in the first cycle after filing", int64(r.BurstRequests[0])},
		{"requests to GGUS in the second cycle after filing", int64(r.BurstRequests[1])},
		{"procbot's GGUS requests per idle cycle", int64(r.Procbot.IdleRequests[core.TrackerGGUS])},
		{"procbot's RT requests per idle cycle", int64(r.Procbot.IdleRequests[core.TrackerRT])},
		{"naive poller's GGUS requests per idle cycle", int64(r.Naive.IdleRequests[core.TrackerGGUS])},
		{"procbot's idle cycle, wall", int64(r.Procbot.Idle.wall)},
		{"procbot's idle cycle, CPU", int64(r.Procbot.Idle.cpu)},
		{"procbot's idle cycle, allocated", int64(r.Procbot.Idle.alloc)},
		{"naive idle cycle, wall", int64(r.Naive.Idle.wall)},
		{"naive idle cycle, CPU", int64(r.Naive.Idle.cpu)},
		{"children closed", int64(r.Closed)},
		{"procbot's cycles after the closes", int64(r.Procbot.ChangedCycles)},
		{"procbot's cycle with children closed, wall", int64(r.Procbot.Changed.wall)},
		{"procbot's cycle with children closed, CPU", int64(r.Procbot.Changed.cpu)},
		{"naive cycle with children closed, wall", int64(r.Naive.Changed.wall)},
		{"cycles until a new request's first children", int64(r.FirstCycles)},
		{"new request → first children, wall", int64(r.FirstWall)},
		{"cold rebuild", int64(r.Procbot.Rebuild)},
		{"naive first cycle", int64(r.Naive.Rebuild)},
		{"database per procedure", r.DBBytes},
		{"peak RSS", r.PeakRSS},
	}
	for _, f := range positive {
		if f.v <= 0 {
			t.Errorf("%s: %d, want a measured figure", f.name, f.v)
		}
	}
	if r.Live != r.N+1 {
		t.Errorf("idle cycles ran with %d live procedures, want %d (N and the one filed for the latency)", r.Live, r.N+1)
	}
	// Two requests with two first-wave children each.
	if r.Closed != 4 {
		t.Errorf("%d children closed, want 4", r.Closed)
	}
	if cells := Cells(r); len(cells) != len(Columns) {
		t.Errorf("%d cells for %d columns", len(cells), len(Columns))
	}
}
