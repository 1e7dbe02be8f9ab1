package daemon_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
)

// TestRefusedRouteIsReportedOnce: a step routed to a queue the tracker
// refuses procbot (here one RT does not have) is tried at once a few
// times, then reported once on the request, naming the step and the
// queue, and tried again only after a wait; the other steps go on.
func TestRefusedRouteIsReportedOnce(t *testing.T) {
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Minute + time.Duration(offset.Load())) }
	const queue = "No Such Queue"
	w := newWorldAt(t, func(c *config.Config) { c.Routes = "0a=rt:" + queue }, now)
	parent := w.approved(t)
	creates := func() int {
		n := 0
		for _, r := range w.env.RT.Requests() {
			if strings.HasPrefix(r, "POST /ticket") && !strings.Contains(r, "/ticket/") {
				n++
			}
		}
		return n
	}
	for range 6 {
		w.cycle(t)
	}
	refusedNotes := func() []string {
		var out []string
		for _, n := range w.robotNotes(t, parent.Ref) {
			if strings.HasPrefix(n, "procbot cannot open the child ticket of step 0a") {
				out = append(out, n)
			}
		}
		return out
	}
	notes := refusedNotes()
	if len(notes) != 1 {
		t.Fatalf("%d notes on the request about the refused step, want 1: %q", len(notes), w.robotNotes(t, parent.Ref))
	}
	if !strings.Contains(notes[0], `"`+queue+`"`) {
		t.Errorf("the note does not name the queue %q:\n%s", queue, notes[0])
	}
	if n := creates(); n != core.RefusalsBeforeReport {
		t.Errorf("%d create attempts in 7 cycles, want %d before the wait", n, core.RefusalsBeforeReport)
	}
	var status string
	for _, n := range w.robotNotes(t, parent.Ref) {
		if strings.HasPrefix(n, "PROC19 progress") {
			status = n
		}
	}
	if !strings.Contains(status, "(blocked)") {
		t.Errorf("the status note does not show step 0a as blocked:\n%s", status)
	}
	inst := w.instance(t, parent)
	if st := inst.Steps["0b"]; st.Status != core.StepOpen {
		t.Errorf("step 0b is %s while 0a is refused, want open", st.Status)
	}
	// After the wait, one more attempt, and no second note.
	offset.Store(int64(61 * time.Minute))
	w.cycle(t)
	w.cycle(t)
	if n := creates(); n != core.RefusalsBeforeReport+1 {
		t.Errorf("%d create attempts after the wait, want %d", n, core.RefusalsBeforeReport+1)
	}
	if n := len(refusedNotes()); n != 1 {
		t.Errorf("%d notes about the refused step after the wait, want still 1", n)
	}
}
