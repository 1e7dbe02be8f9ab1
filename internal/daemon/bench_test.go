package daemon_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkQuietCycle is one poll cycle with 10 and 100 requests under way
// (approved, first children open) and nothing changed in either tracker
// since: what procbot costs when it has nothing to do, against the
// simulators over HTTP on loopback. The default 2-minute poll overlap shows
// every ticket again in each of these cycles.
func BenchmarkQuietCycle(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("live=%d", n), func(b *testing.B) {
			// procbot's clock runs a minute ahead, so every change has settled.
			w := newWorldAt(b, nil, func() time.Time { return time.Now().Add(time.Minute) })
			ctx := context.Background()
			for i := range n {
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
		})
	}
}
