package daemon_test

import (
	"context"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// TestCloseWaitsForTheAnnouncementNote: the effects on one ticket keep
// their order. When GGUS does not confirm the announcement note, the
// request is not closed in that cycle; it is closed in a later one, after
// the note is on the ticket, and the note is there once, also when GGUS
// did store it but its answer was lost.
func TestCloseWaitsForTheAnnouncementNote(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault zammadsim.Faults
	}{
		{"note refused with a redirect", zammadsim.Faults{Kinds: []zammadsim.FaultKind{zammadsim.FaultRedirect}}},
		{"note answered with an HTML page", zammadsim.Faults{Kinds: []zammadsim.FaultKind{zammadsim.FaultHTML200}}},
		{"note stored but answered with {}", zammadsim.Faults{Kinds: []zammadsim.FaultKind{zammadsim.FaultEmpty200}, After: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			ctx := context.Background()
			parent := w.approved(t)
			// From here on, no note of procbot reaches GGUS confirmed: the
			// units close their children with state changes only.
			f := tc.fault
			f.Rate, f.Methods, f.Paths = 1, []string{"POST"}, []string{"/ticket_articles"}
			w.env.GGUS.SetFaults(f)
			closed := map[string]bool{}
			inst := w.instance(t, parent)
			for i := 0; i < 12 && inst.Phase != core.PhaseCompleted; i++ {
				w.closeOpen(t, inst, closed)
				_ = w.app.Daemon.Cycle(ctx) // the notes fail
				inst = w.instance(t, parent)
			}
			if inst.Phase != core.PhaseCompleted {
				t.Fatalf("request %s, want completed", inst.Phase)
			}
			notClosed := func(when string) {
				t.Helper()
				if st := w.state(t, parent); st == w.env.Config.GGUS.CloseState {
					t.Fatalf("%s: request ticket is %q although the announcement note failed", when, st)
				}
				if !w.inOutbox(t, parent, core.ActClose) {
					t.Fatalf("%s: the close of the request is no longer planned", when)
				}
			}
			notClosed("the cycle that completed the request")
			if !tc.fault.After {
				_ = w.app.Daemon.Cycle(ctx)
				notClosed("a further cycle in which the note fails")
			}

			w.env.GGUS.SetFaults(zammadsim.Faults{})
			w.cycle(t)
			if st := w.state(t, parent); st != w.env.Config.GGUS.CloseState {
				t.Errorf("request ticket is %q after the note landed, want %q", st, w.env.Config.GGUS.CloseState)
			}
			arts, err := w.env.Operator.Articles(ctx, parent.Ref.ID)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, a := range arts {
				if strings.HasPrefix(a.Body, "Announcement: ") {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d announcement notes on the request, want 1", n)
			}
			if inst := w.instance(t, parent); len(inst.Outbox) != 0 {
				t.Errorf("outbox still holds %+v", inst.Outbox)
			}
		})
	}
}

func (w *world) state(t *testing.T, tk core.Ticket) string {
	t.Helper()
	got, err := w.env.Operator.Get(context.Background(), tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.State
}

func (w *world) inOutbox(t *testing.T, tk core.Ticket, kind core.ActionKind) bool {
	t.Helper()
	for _, a := range w.instance(t, tk).Outbox {
		if a.Kind == kind && a.Ticket.Key() == tk.Ref.Key() {
			return true
		}
	}
	return false
}

// TestUnconfirmedWritesAreFoundAgain: every create, note and link that
// procbot sends is carried out by the trackers, but answered with a
// redirect, an HTML page or "{}". procbot counts none of them as done, and
// the next cycle finds each through its lookups (children by their marker,
// notes by their text): the request completes with no child and no note
// twice.
func TestUnconfirmedWritesAreFoundAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		ggus zammadsim.FaultKind
		rt   rtsim.FaultKind
	}{
		{"redirect", zammadsim.FaultRedirect, rtsim.FaultRedirect},
		{"HTML page", zammadsim.FaultHTML200, rtsim.FaultHTML200},
		{"empty object", zammadsim.FaultEmpty200, rtsim.FaultEmpty200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, nil)
			ctx := context.Background()
			parent := w.approved(t)
			w.env.GGUS.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{tc.ggus}, After: true, Methods: []string{"POST"},
				Paths: []string{"/tickets$", "/ticket_articles", "/links/add"}})
			w.env.RT.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{tc.rt}, After: true, Methods: []string{"POST"}})
			closed := map[string]bool{}
			inst := w.instance(t, parent)
			for i := 0; i < 40 && (inst.Phase != core.PhaseCompleted || len(inst.Outbox) > 0); i++ {
				w.closeOpen(t, inst, closed)
				_ = w.app.Daemon.Cycle(ctx)
				inst = w.instance(t, parent)
			}
			if inst.Phase != core.PhaseCompleted || len(inst.Outbox) > 0 {
				t.Fatalf("request %s with outbox %+v, want completed with nothing left", inst.Phase, inst.Outbox)
			}
			if w.env.GGUS.FaultsInjected() == 0 || w.env.RT.FaultCount() == 0 {
				t.Fatalf("faults injected: GGUS %d, RT %d; want some in both", w.env.GGUS.FaultsInjected(), w.env.RT.FaultCount())
			}
			if n := w.noDuplicates(t); n == 0 {
				t.Fatal("no child found")
			}
			arts, err := w.env.Operator.Articles(ctx, parent.Ref.ID)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for _, a := range arts {
				seen[a.Body]++
			}
			for body, n := range seen {
				if n > 1 {
					t.Errorf("note posted %d times on the request:\n%s", n, body)
				}
			}
		})
	}
}
