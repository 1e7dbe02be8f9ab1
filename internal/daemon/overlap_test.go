package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
)

// TestOverlapDoesNotReadABurstAgain: 50 requests filed and approved at
// once all come back in every poll for the next two minutes (the poll
// overlap). Once procbot has read them, and then read once more what its
// own notes and children changed, an idle cycle costs one search per
// tracker and reads no ticket, although procbot's clock is the trackers'
// and every change is seconds old: GGUS stamps milliseconds, so a ticket
// shown again at a change already read costs no request.
func TestOverlapDoesNotReadABurstAgain(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	for i := range 50 {
		p, err := w.env.FileRequest(ctx, fmt.Sprintf("Burst%d", i), true)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.env.Operator.AddNote(ctx, p.Ref.ID, "/approve", true); err != nil {
			t.Fatal(err)
		}
	}
	w.cycle(t) // reads the 50 requests, opens their first children, posts their status notes
	w.cycle(t) // reads what that changed: the parents' notes, the new children
	for i := range 3 {
		ggus, rt := len(w.env.GGUS.Requests()), len(w.env.RT.Requests())
		w.cycle(t)
		gotGGUS, gotRT := w.env.GGUS.Requests()[ggus:], w.env.RT.Requests()[rt:]
		// GGUS's one page of the burst carries its total: no second page.
		if len(gotGGUS) != 1 || len(gotRT) != 1 {
			t.Errorf("idle cycle %d in the overlap made %d GGUS and %d RT requests, want one search each; GGUS: %s",
				i+1, len(gotGGUS), len(gotRT), summary(gotGGUS))
		}
	}
}

// summary counts requests by method and first path element.
func summary(reqs []string) string {
	counts := map[string]int{}
	var order []string
	for _, r := range reqs {
		method, path, _ := strings.Cut(r, " ")
		parts := strings.SplitN(strings.TrimPrefix(path, "/"), "/", 2)
		k := method + " /" + parts[0]
		if counts[k] == 0 {
			order = append(order, k)
		}
		counts[k]++
	}
	var b strings.Builder
	for _, k := range order {
		fmt.Fprintf(&b, "%s ×%d; ", k, counts[k])
	}
	return b.String()
}

// TestOwnChildIsNotReadBack: a child procbot created counts as read at
// the change its creation made, so the next poll, which shows it in the
// overlap, reads none of procbot's new GGUS children; only what changed
// since (the parent, with procbot's note) is read.
func TestOwnChildIsNotReadBack(t *testing.T) {
	w := newWorld(t, nil)
	parent := w.approved(t) // opens the first children
	inst := w.instance(t, parent)
	var kids []string
	for _, st := range inst.Steps {
		if st.Status == core.StepOpen && st.Child.Tracker == core.TrackerGGUS {
			kids = append(kids, st.Child.ID)
		}
	}
	if len(kids) == 0 {
		t.Fatalf("no GGUS child opened; steps %v", inst.Steps)
	}
	ggus := len(w.env.GGUS.Requests())
	w.cycle(t)
	got := w.env.GGUS.Requests()[ggus:]
	for _, r := range got {
		for _, id := range kids {
			if strings.HasSuffix(r, "/tickets/"+id) || strings.Contains(r, "/by_ticket/"+id) {
				t.Errorf("the cycle after procbot created child %s read it back: %s", id, r)
			}
		}
	}
}
