package daemon_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/trackertest"
)

// TestCreateThatLandsLateIsNotDoubled: procbot's request to create a child
// gets no answer in time, and GGUS carries it out later, after procbot's
// next attempt looked for the child and found none. procbot does not
// create a second child while the first may still land; once it has
// landed, procbot adopts it.
func TestCreateThatLandsLateIsNotDoubled(t *testing.T) {
	var offset atomic.Int64 // procbot's clock, ahead of the trackers'
	now := func() time.Time { return time.Now().Add(time.Minute + time.Duration(offset.Load())) }
	var gate *trackertest.Gate
	w := newWorldAt(t, func(cfg *config.Config) {
		gate = trackertest.NewGate(t, cfg.GGUS.URL, func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tickets")
		})
		gate.Late = true
		cfg.GGUS.URL, cfg.GGUS.Timeout = gate.URL, 300*time.Millisecond
	}, now)
	ctx := context.Background()
	parent := w.filed(t, "FooStack")
	if err := w.env.Operator.AddNote(ctx, parent.Ref.ID, "/approve", true); err != nil {
		t.Fatal(err)
	}
	_ = w.app.Daemon.Cycle(ctx) // the first child's create times out
	<-gate.Cancelled
	inst := w.instance(t, parent)
	var step string
	for _, a := range inst.Outbox {
		if a.Kind == core.ActOpen && !a.Tried.IsZero() {
			step = a.Step
		}
	}
	if step == "" {
		t.Fatalf("no opening recorded as tried without an answer; outbox %v", inst.Outbox)
	}
	// The next attempt, while the create may still land: no other child.
	_ = w.app.Daemon.Cycle(ctx)
	gate.Release() // now GGUS carries the first create out

	markers := func() map[string]int {
		m, err := w.env.Markers(ctx, "[PROC19")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	marker := core.ChildMarker("PROC19", parent.Ref, step)
	<-gate.Landed
	if n := markers()[marker]; n != 1 {
		t.Fatalf("step %s has %d child tickets once the late create landed, want 1", step, n)
	}
	// Past the hold, procbot finds the child that landed and adopts it.
	offset.Store(int64(10 * time.Minute))
	w.cycle(t)
	if n := markers()[marker]; n != 1 {
		t.Errorf("step %s has %d child tickets, want 1", step, n)
	}
	if st := w.instance(t, parent).Steps[step]; st.Child.IsZero() {
		t.Errorf("step %s has no child recorded: %+v", step, st)
	}
}
