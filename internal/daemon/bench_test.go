package daemon_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkQuietCycle is one poll cycle with 10 requests under way and
// nothing changed in either tracker: what procbot costs when it has nothing
// to do, against the simulators over HTTP on loopback.
func BenchmarkQuietCycle(b *testing.B) {
	// procbot's clock runs a minute ahead, so every change has settled.
	w := newWorldAt(b, nil, func() time.Time { return time.Now().Add(time.Minute) })
	ctx := context.Background()
	for i := range 10 {
		p, err := w.env.FileRequest(ctx, fmt.Sprintf("Bench%d", i), true)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.env.Operator.AddNote(ctx, p.Ref.ID, "/approve", true); err != nil {
			b.Fatal(err)
		}
	}
	for range 3 {
		if err := w.app.Daemon.Cycle(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.app.Daemon.Cycle(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
