package daemon_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/testlog"
	"github.com/procbot/procbot/internal/zammad"
)

// hangingTracker is a tracker whose polls hang: Changed signals that it
// was called, waits until the test lets go, then until the poll's own
// deadline, and fails.
type hangingTracker struct {
	daemon.Tracker
	called   chan struct{}
	letGo    chan struct{}
	returned atomic.Bool
}

func (h *hangingTracker) Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error) {
	select {
	case h.called <- struct{}{}:
	default:
	}
	defer h.returned.Store(true)
	<-h.letGo
	<-ctx.Done()
	return nil, ctx.Err()
}

// signalTracker signals each time a poll's search has answered.
type signalTracker struct {
	daemon.Tracker
	answered chan struct{}
}

func (s *signalTracker) Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error) {
	ts, err := s.Tracker.Changed(ctx, match, since)
	select {
	case s.answered <- struct{}{}:
	default:
	}
	return ts, err
}

// TestHangingGGUSDoesNotHoldUpRT: GGUS stops answering polls while an RT
// child was resolved. RT's poll answers while GGUS's still hangs, and in
// that same cycle, once GGUS's poll reached its own deadline, the RT step
// is done and its successor opened in RT.
func TestHangingGGUSDoesNotHoldUpRT(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.approved(t)
	closed := map[string]bool{}
	inst := w.advance(t, parent, closed, 10, func(inst core.Instance) bool { return inst.Steps["7c"].Status == core.StepOpen })
	if inst.Steps["7c"].Status != core.StepOpen || inst.Steps["7c"].Child.Tracker != core.TrackerRT {
		t.Fatalf("step 7c is %+v, want open in RT", inst.Steps["7c"])
	}
	// 7d also waits for the security validation (11d): the other steps
	// go on, 7c stays open.
	closed[inst.Steps["7c"].Child.Key()] = true
	for i := 0; i < 10 && inst.Steps["11d"].Status != core.StepDone; i++ {
		w.closeOpen(t, inst, closed)
		w.cycle(t)
		inst = w.instance(t, parent)
	}
	if inst.Steps["11d"].Status != core.StepDone || inst.Steps["7c"].Status != core.StepOpen {
		t.Fatalf("step 11d is %s and 7c %s, want done and open", inst.Steps["11d"].Status, inst.Steps["7c"].Status)
	}
	if _, err := w.env.CloseChild(ctx, inst.Steps["7c"].Child); err != nil {
		t.Fatal(err)
	}
	w.app.Close()

	cfg := w.env.Config
	ggusClient, err := zammad.New(zammad.Config{URL: cfg.GGUS.URL, Token: cfg.GGUS.Token.Reveal(), Name: core.TrackerGGUS})
	if err != nil {
		t.Fatal(err)
	}
	robot, _, err := ggusClient.Me(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rtClient, err := rt.New(rt.Config{URL: cfg.RT.URL, Token: cfg.RT.Token.Reveal(), User: cfg.RT.User, Name: core.TrackerRT})
	if err != nil {
		t.Fatal(err)
	}
	ggus := &hangingTracker{Tracker: ggusClient, called: make(chan struct{}, 1), letGo: make(chan struct{})}
	rtTracker := &signalTracker{Tracker: rtClient, answered: make(chan struct{}, 1)}
	db, err := bolt.Open(cfg.DBPath, bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rnd, err := app.Renderer("")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	d, err := daemon.New(daemon.Config{
		Procedures: []*procedure.Procedure{w.env.Proc}, Trackers: []daemon.Tracker{ggus, rtTracker}, Store: db, Renderer: rnd,
		Policy: core.Policy{Operators: cfg.Operators,
			Terminal: map[string][]string{core.TrackerGGUS: cfg.GGUS.Terminal, core.TrackerRT: cfg.RT.Terminal},
			Robots:   map[string]string{core.TrackerGGUS: robot, core.TrackerRT: cfg.RT.User}},
		Overlap: cfg.PollOverlap, PollTimeout: 2 * time.Second, Log: zerolog.New(logs),
	})
	if err != nil {
		t.Fatal(err)
	}

	cycleCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Cycle(cycleCtx) }()
	// The watchdog only turns a cycle that waits for GGUS forever into a
	// failure; it asserts nothing about how long anything takes.
	watchdog := time.NewTimer(30 * time.Second)
	defer watchdog.Stop()
	select {
	case <-rtTracker.answered:
		if ggus.returned.Load() {
			t.Errorf("RT's poll answered only after GGUS's poll returned")
		}
	case <-watchdog.C:
		close(ggus.letGo)
		cancel()
		<-done
		t.Fatalf("RT was not polled while GGUS's poll hung")
	}
	// The polls start at once; RT's may answer before GGUS's is sent.
	select {
	case <-ggus.called:
	case <-watchdog.C:
		t.Errorf("GGUS was not polled")
	}
	close(ggus.letGo) // from now on GGUS's poll ends at its own deadline
	if err := <-done; err != nil {
		t.Fatalf("cycle: %v", err)
	}
	got, ok, err := db.Instance(inst.Key)
	if err != nil || !ok {
		t.Fatalf("request not recorded: %v", err)
	}
	if s := got.Steps["7c"].Status; s != core.StepDone {
		t.Errorf("RT step 7c is %s after the cycle in which GGUS hung, want done", s)
	}
	if st := got.Steps["7d"]; st.Status != core.StepOpen || st.Child.Tracker != core.TrackerRT {
		t.Errorf("RT step 7d is %+v after that cycle, want open in RT", st)
	}
	if !strings.Contains(logs.String(), `"tracker":"ggus"`) || !strings.Contains(logs.String(), "poll of ggus not done within 2s") {
		t.Errorf("the log does not say that GGUS's poll reached its deadline:\n%s", logs.String())
	}
}
