package core_test

import (
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
)

// BenchmarkDecide is one decision on a PROC19 request half-way through,
// with a child just closed: the work of one changed request in one cycle.
func BenchmarkDecide(b *testing.B) {
	p, err := procedure.Embedded("proc19")
	if err != nil {
		b.Fatal(err)
	}
	inst := core.NewInstance(p, core.Ticket{Ref: parent}, "FooStack", t0)
	inst.Phase = core.PhaseRunning
	n := 2000
	for _, id := range p.Order() {
		n++
		ref := core.TicketRef{Tracker: "ggus", ID: itoa(n)}
		switch {
		case id == "approval":
			inst.Steps[id] = core.StepState{Status: core.StepDone, By: "ops@egi.eu"}
		case len(inst.Seen) < 15:
			inst.Steps[id] = core.StepState{Status: core.StepDone, Child: ref}
			inst.Seen = map[string]int64{ref.Key(): 3}
		case id != "announcement":
			inst.Steps[id] = core.StepState{Status: core.StepOpen, Child: ref, OpenedAt: t0}
		}
	}
	closed := inst.Steps["7a"].Child
	obs := core.Observation{Children: map[string]core.Snapshot{"7a": {Ticket: core.Ticket{Ref: closed, State: "solved"},
		Articles: []core.Article{article(4, "umd@egi.eu", "done, see the release notes")}}}}
	in := core.Input{Procedure: p, State: inst, Observed: obs, Policy: policy, Now: t0.Add(time.Hour)}
	b.ReportAllocs()
	for b.Loop() {
		core.Decide(in)
	}
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}
