package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	bbolt "go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/core"
)

// TestBadRecordIsSetAside: one recorded request that does not decode is
// set aside, logged once with its key, and left alone, while the other
// requests go on: the cycle does not fail, and the set-aside request gets
// no new child and no note (it is not taken for a new request either).
func TestBadRecordIsSetAside(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	var parents []core.Ticket
	for _, product := range []string{"FooStack", "BarStack"} {
		p, err := w.env.FileRequest(ctx, product, true)
		if err != nil {
			t.Fatal(err)
		}
		parents = append(parents, p)
	}
	w.cycle(t)
	for _, p := range parents {
		if err := w.env.Operator.AddNote(ctx, p.Ref.ID, "/approve", true); err != nil {
			t.Fatal(err)
		}
	}
	w.cycle(t)
	bad, good := w.instance(t, parents[0]), w.instance(t, parents[1])
	if bad.Phase != core.PhaseRunning || good.Phase != core.PhaseRunning {
		t.Fatalf("requests are %s and %s, want both running", bad.Phase, good.Phase)
	}

	// Damage the first request's record, as a bad disk or an old procbot
	// writing another layout would.
	w.app.Close()
	raw, err := bbolt.Open(w.env.Config.DBPath, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("instances")).Put([]byte(bad.Key), []byte(`{"key":"`+bad.Key+`","steps":"not a map"}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, w.env.Config, zerolog.New(w.logs), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w.app = a

	// The units close every open child, and the applicant writes on the
	// set-aside request, so that its ticket shows up in the next polls.
	closed := map[string]bool{}
	w.closeOpen(t, bad, closed)
	w.closeOpen(t, good, closed)
	if err := w.env.Applicant.AddNote(ctx, parents[0].Ref.ID, "Any news?", true); err != nil {
		t.Fatal(err)
	}
	badID := mustAtoi(t, parents[0].Ref.ID)
	articlesBefore := len(w.env.GGUS.Articles(badID))
	childrenBefore := children(t, w, parents)

	for range 3 {
		w.cycle(t)
	}

	after := w.instance(t, parents[1])
	if completed(after) <= completed(good) {
		t.Errorf("the good request did not advance: %d steps complete before, %d after", completed(good), completed(after))
	}
	childrenAfter := children(t, w, parents)
	if childrenAfter[1] <= childrenBefore[1] {
		t.Errorf("the good request got no new children (%d before, %d after)", childrenBefore[1], childrenAfter[1])
	}
	if childrenAfter[0] != childrenBefore[0] {
		t.Errorf("the set-aside request has %d children, had %d: procbot worked on it", childrenAfter[0], childrenBefore[0])
	}
	if n := len(w.env.GGUS.Articles(badID)); n != articlesBefore {
		t.Errorf("the set-aside request has %d articles, had %d: procbot wrote on it", n, articlesBefore)
	}
	w.noDuplicates(t)

	setAside, err := w.app.Store.BadRecords()
	if err != nil {
		t.Fatal(err)
	}
	if len(setAside) != 1 || setAside[0].Key != bad.Key || setAside[0].Err == nil {
		t.Fatalf("BadRecords = %v; want only %s, with why", setAside, bad.Key)
	}
	if _, ok, err := w.app.Store.Instance(bad.Key); ok || err == nil {
		t.Errorf("the damaged record was replaced (ok %v, err %v); it must be kept as it is", ok, err)
	}

	var lines []string
	for _, l := range strings.Split(w.logs.String(), "\n") {
		if strings.Contains(l, bad.Key) && strings.Contains(l, "set aside") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Errorf("%d log lines set %s aside over three cycles, want 1:\n%s", len(lines), bad.Key, strings.Join(lines, "\n"))
	} else if !strings.Contains(lines[0], "not map") && !strings.Contains(lines[0], "cannot unmarshal") {
		t.Errorf("the log line does not say why the record is set aside: %s", lines[0])
	}
}

// children counts the child tickets of each request, by their markers.
func children(t *testing.T, w *world, parents []core.Ticket) []int {
	t.Helper()
	markers, err := w.env.Markers(context.Background(), "PROC19")
	if err != nil {
		t.Fatal(err)
	}
	n := make([]int, len(parents))
	for i, p := range parents {
		prefix := strings.TrimSuffix(core.ChildMarker("PROC19", p.Ref, ""), "]")
		for m, c := range markers {
			if strings.HasPrefix(m, prefix) {
				n[i] += c
			}
		}
	}
	return n
}

func completed(inst core.Instance) int {
	n := 0
	for _, st := range inst.Steps {
		if st.Status.Complete() {
			n++
		}
	}
	return n
}
