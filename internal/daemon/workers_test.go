package daemon_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/trackertest"
)

// TestRequestsAdvanceAtOnce: while GGUS is slow to answer the create of
// one request's child, the other requests are not kept waiting: their
// children are created meanwhile.
func TestRequestsAdvanceAtOnce(t *testing.T) {
	var gate *trackertest.Gate
	w := newWorldAt(t, func(cfg *config.Config) {
		gate = trackertest.NewGate(t, cfg.GGUS.URL, func(r *http.Request) bool {
			return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tickets")
		})
		cfg.GGUS.URL = gate.URL
	}, func() time.Time { return time.Now().Add(time.Minute) })
	ctx := context.Background()
	for _, product := range []string{"FooStack", "BarStack", "BazStack"} {
		parent, err := w.env.FileRequest(ctx, product, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.env.Operator.AddNote(ctx, parent.Ref.ID, "/approve", true); err != nil {
			t.Fatal(err)
		}
	}
	creates := func() int {
		n := 0
		for _, r := range w.env.GGUS.Requests() {
			if r == "POST /tickets" || strings.HasPrefix(r, "POST /tickets?") {
				n++
			}
		}
		return n
	}
	filed := creates() // the applicants'
	done := make(chan error, 1)
	go func() { done <- w.app.Daemon.Cycle(ctx) }()
	<-gate.Held
	// The watchdog only turns a cycle that waits on the held create into
	// a failure; it asserts nothing about how long anything takes.
	watchdog := time.After(30 * time.Second)
	for creates() == filed {
		select {
		case <-watchdog:
			gate.Release()
			<-done
			t.Fatalf("no other child was created while one request's create was held")
		case <-time.After(5 * time.Millisecond):
		}
	}
	gate.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.noDuplicates(t)
}
