package daemon_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/testlog"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// readCounter is the daemon's store, noting the records a cycle reads
// and counting its writes.
type readCounter struct {
	daemon.Store
	mu     sync.Mutex
	read   []string
	writes int
}

func (s *readCounter) PutInstanceAudit(inst core.Instance, entries ...core.AuditEntry) error {
	s.mu.Lock()
	s.writes++
	s.mu.Unlock()
	return s.Store.PutInstanceAudit(inst, entries...)
}

// takeWrites returns the number of records written since the last call.
func (s *readCounter) takeWrites() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.writes
	s.writes = 0
	return n
}

func (s *readCounter) RecordsOf(keys []string) ([]core.Instance, []core.BadRecord, error) {
	s.mu.Lock()
	s.read = append(s.read, keys...)
	s.mu.Unlock()
	return s.Store.RecordsOf(keys)
}

// take returns the keys read since the last call, sorted, each once.
func (s *readCounter) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Compact(slices.Sorted(slices.Values(s.read)))
	s.read = nil
	return out
}

// countingWorld starts procbot on a new world, with its clock ahead by
// ahead and cfg changed by change, counting the records its cycles read.
func countingWorld(t *testing.T, change func(*config.Config), ahead time.Duration) (*world, *readCounter) {
	t.Helper()
	env, err := demo.NewEnv("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	cfg := env.Config
	if change != nil {
		change(&cfg)
	}
	counter := &readCounter{}
	a, err := app.New(context.Background(), cfg, zerolog.New(&testlog.Buffer{}), app.Options{
		Now: func() time.Time { return time.Now().Add(ahead) },
		Store: func(s daemon.Store) daemon.Store {
			counter.Store = s
			return counter
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &world{env: env, logs: &testlog.Buffer{}, app: a}, counter
}

// TestOverlapReadsNoRecord: the polls overlap, so an idle cycle right
// after requests were filed is shown every ticket again; each was read at
// that change already, and the cycle reads no record for them.
func TestOverlapReadsNoRecord(t *testing.T) {
	// procbot's clock runs a minute ahead, so every change has settled;
	// the 2-minute overlap shows every ticket again.
	w, counter := countingWorld(t, func(c *config.Config) { c.PollOverlap = 2 * time.Minute }, time.Minute)
	for _, product := range []string{"FooStack", "BarStack"} {
		parent := w.filed(t, product)
		if err := w.env.Operator.AddNote(context.Background(), parent.Ref.ID, "/approve", true); err != nil {
			t.Fatal(err)
		}
		w.cycle(t)
	}
	w.cycle(t)
	w.cycle(t)
	counter.take()
	w.cycle(t)
	if read := counter.take(); len(read) != 0 {
		t.Errorf("an idle cycle read the records of %v", read)
	}
}

// TestCycleReadsOnlyWhatChanged: a cycle reads the records of the requests
// whose tickets it was shown changed, not those of every live request. A
// request whose tickets did not change since the others were filed is not
// read, while a request whose child closed is read and advances.
func TestCycleReadsOnlyWhatChanged(t *testing.T) {
	// A poll shows only what changed at or after its cursor.
	w, counter := countingWorld(t, func(c *config.Config) { c.PollOverlap = 0 }, 0)
	env := w.env

	approve := func(product string) core.Ticket {
		parent := w.filed(t, product)
		if err := env.Operator.AddNote(context.Background(), parent.Ref.ID, "/approve", true); err != nil {
			t.Fatal(err)
		}
		w.cycle(t)
		return parent
	}
	quiet := approve("FooStack") // all its tickets change before the others are filed
	busy := approve("BarStack")
	approve("BazStack")
	w.cycle(t)
	counter.take()

	before := w.instance(t, busy)
	var child core.TicketRef
	for _, st := range before.Steps {
		if st.Status == core.StepOpen {
			child = st.Child
			break
		}
	}
	if child.IsZero() {
		t.Fatalf("%s has no open child: %v", before.Key, before.Steps)
	}
	if _, err := env.CloseChild(context.Background(), child); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	read := counter.take()
	if !slices.Contains(read, before.Key) {
		t.Errorf("the cycle after %s closed read %v, not the record of %s", child, read, before.Key)
	}
	if after := w.instance(t, busy); completed(after) <= completed(before) {
		t.Errorf("%s did not advance after its child %s closed", before.Key, child)
	}
	w.cycle(t)
	read = append(read, counter.take()...)
	quietKey := core.InstanceKey("PROC19", quiet.Ref)
	if slices.Contains(read, quietKey) {
		t.Errorf("cycles read %v, among them %s, whose tickets did not change", read, quietKey)
	}
	if live, err := counter.Live(); err != nil || len(live) != 3 {
		t.Fatalf("Live = %d entries, %v; want the 3 requests", len(live), err)
	}
}

// TestReminderFallsDueWithoutChange: a request none of whose tickets
// changed is still read when a reminder falls due, and the overdue
// children get their reminder.
func TestReminderFallsDueWithoutChange(t *testing.T) { reminded(t, false) }

// TestOutboxCarriedOutWithoutChange: reminders that a tracker did not take
// wait in the outbox; the request is read again for them in the next cycle
// although none of its tickets changed, and they are carried out.
func TestOutboxCarriedOutWithoutChange(t *testing.T) { reminded(t, true) }

func reminded(t *testing.T, outage bool) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	w := newWorldAt(t, func(c *config.Config) { c.PollOverlap = 0 }, clock)
	parent := w.approved(t)
	// A request filed later, so that the polls show none of the first
	// one's tickets again.
	later := w.filed(t, "BarStack")
	if err := w.env.Operator.AddNote(context.Background(), later.Ref.ID, "/approve", true); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	w.cycle(t)
	before := w.instance(t, parent)
	open := 0
	for _, st := range before.Steps {
		if st.Status == core.StepOpen {
			open++
			if !st.RemindedAt.IsZero() {
				t.Fatalf("a child was reminded before it fell due: %+v", st)
			}
		}
	}
	if open == 0 {
		t.Fatalf("%s has no open child", before.Key)
	}

	mu.Lock()
	now = now.Add(400 * 24 * time.Hour) // past every due date
	mu.Unlock()
	if outage {
		// The reminders are decided and recorded, but GGUS takes no note:
		// they wait in the outbox, and no ticket changes.
		w.env.GGUS.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault503},
			Methods: []string{"POST"}, Paths: []string{"/ticket_articles"}})
		w.cycle(t)
		w.env.GGUS.SetFaults(zammadsim.Faults{})
		if inst := w.instance(t, parent); len(inst.Outbox) == 0 {
			t.Fatalf("no reminder waits in the outbox after the outage")
		}
		mu.Lock()
		now = now.Add(time.Hour) // no reminder falls due again
		mu.Unlock()
	}
	w.cycle(t)
	after := w.instance(t, parent)
	for id, st := range before.Steps {
		if st.Status != core.StepOpen {
			continue
		}
		if got := after.Steps[id]; got.RemindedAt.IsZero() {
			t.Errorf("step %s: its child %s is overdue and was not reminded", id, st.Child)
		}
	}
	if len(after.Outbox) != 0 {
		t.Errorf("reminders left in the outbox: %v", after.Outbox)
	}
}

// TestBusyCycleWritesAFewTimesPerRequest: when a request's first children
// close, one cycle opens all their successors and posts a note; the record
// is written before the note (its attempt) and at the end, not once per
// child opened.
func TestBusyCycleWritesAFewTimesPerRequest(t *testing.T) {
	w, counter := countingWorld(t, nil, time.Minute)
	parent := w.approved(t)
	w.cycle(t)
	before := w.instance(t, parent)
	w.closeOpen(t, before, map[string]bool{})
	notes := len(w.robotNotes(t, parent.Ref))
	counter.takeWrites()
	w.cycle(t)
	writes := counter.takeWrites()
	after := w.instance(t, parent)
	opened := 0
	for id, st := range after.Steps {
		if st.Status == core.StepOpen && before.Steps[id].Status != core.StepOpen {
			opened++
		}
	}
	posted := len(w.robotNotes(t, parent.Ref)) - notes
	if opened < 5 || len(after.Outbox) != 0 {
		t.Fatalf("the cycle opened %d children and left %v in the outbox; the test needs at least 5 and none", opened, after.Outbox)
	}
	// One write for the decision, one before each note, one at the end.
	if most := 2 + posted; writes > most {
		t.Errorf("the cycle opened %d children, posted %d notes and wrote the record %d times, want at most %d", opened, posted, writes, most)
	}
}
