package daemon_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/mail/smtptest"
	"github.com/procbot/procbot/internal/rt/rtsim"
)

// world is procbot in the demo's simulated GGUS and RT.
type world struct {
	env  *demo.Env
	app  *app.App
	logs *syncBuffer
	mu   sync.Mutex
	what []string // audit entries, as written
}

func newWorld(t testing.TB, change func(*config.Config)) *world {
	t.Helper()
	return newWorldAt(t, change, nil)
}

func newWorldAt(t testing.TB, change func(*config.Config), now func() time.Time) *world {
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
	w := &world{env: env, logs: &syncBuffer{}}
	log := zerolog.New(w.logs)
	a, err := app.New(context.Background(), cfg, log, app.Options{Now: now, OnEvent: func(e core.AuditEntry) {
		w.mu.Lock()
		w.what = append(w.what, e.Step+" "+e.What)
		w.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	w.app = a
	return w
}

func (w *world) cycle(t *testing.T) {
	t.Helper()
	if err := w.app.Daemon.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (w *world) instance(t *testing.T, parent core.Ticket) core.Instance {
	t.Helper()
	inst, ok, err := w.app.Store.Instance(core.InstanceKey("PROC19", parent.Ref))
	if err != nil || !ok {
		t.Fatalf("request %s not recorded: %v", parent.Ref, err)
	}
	return inst
}

// approved files a complete request and approves it.
func (w *world) approved(t *testing.T) core.Ticket {
	t.Helper()
	ctx := context.Background()
	parent, err := w.env.FileRequest(ctx, "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	if err := w.env.Operator.AddNote(ctx, parent.Ref.ID, "/approve", true); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	return parent
}

// closeOpen closes every open child once, as the units would.
func (w *world) closeOpen(t *testing.T, inst core.Instance, closed map[string]bool) {
	t.Helper()
	for _, st := range inst.Steps {
		if st.Status == core.StepOpen && !closed[st.Child.Key()] {
			if _, err := w.env.CloseChild(context.Background(), st.Child); err != nil {
				t.Fatal(err)
			}
			closed[st.Child.Key()] = true
		}
	}
}

func (w *world) noDuplicates(t *testing.T) int {
	t.Helper()
	markers, err := w.env.Markers(context.Background(), "PROC19")
	if err != nil {
		t.Fatal(err)
	}
	for m, n := range markers {
		if n != 1 {
			t.Errorf("%s exists %d times", m, n)
		}
	}
	return len(markers)
}

// TestOneTrackerDownDoesNotStopTheOther: with RT answering only 503,
// GGUS's steps carry on; once RT is back its steps open, each once.
func TestOneTrackerDownDoesNotStopTheOther(t *testing.T) {
	w := newWorld(t, nil)
	w.env.RT.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault503}})
	parent := w.approved(t)
	closed := map[string]bool{}
	var inst core.Instance
	for i := 0; i < 6; i++ {
		inst = w.instance(t, parent)
		w.closeOpen(t, inst, closed)
		w.cycle(t)
	}
	inst = w.instance(t, parent)
	if s := inst.Steps["7c"].Status; s != core.StepOpening {
		t.Fatalf("7c (routed to RT) is %s while RT is down, want opening", s)
	}
	if s := inst.Steps["3d"].Status; s != core.StepOpen && s != core.StepDone {
		t.Errorf("GGUS step 3d is %s: GGUS work stopped while RT was down", s)
	}
	if !strings.Contains(w.logs.String(), `"tracker":"rt"`) || !strings.Contains(w.logs.String(), "failed_cycles") {
		t.Errorf("log does not say which tracker failed:\n%s", w.logs.String())
	}

	w.env.RT.SetFaults(rtsim.Faults{})
	for i := 0; i < 12 && inst.Pending(); i++ {
		w.cycle(t)
		inst = w.instance(t, parent)
		w.closeOpen(t, inst, closed)
	}
	if inst.Phase != core.PhaseCompleted {
		t.Fatalf("request %s after RT came back", inst.Phase)
	}
	if n := w.noDuplicates(t); n != 33 {
		t.Errorf("%d children, want 33", n)
	}
}

// TestLostCreateAnswerIsAdopted: RT creates the child but the answer is
// lost; procbot finds the child by its marker instead of creating another.
func TestLostCreateAnswerIsAdopted(t *testing.T) {
	w := newWorld(t, nil)
	w.env.RT.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault502}, After: true, Methods: []string{"POST"}})
	parent := w.approved(t)
	closed := map[string]bool{}
	inst := w.instance(t, parent)
	for i := 0; i < 8 && inst.Steps["7c"].Status != core.StepOpening; i++ {
		w.closeOpen(t, inst, closed)
		w.cycle(t)
		inst = w.instance(t, parent)
	}
	w.cycle(t) // the create "failed": the child exists, procbot did not hear of it
	w.env.RT.SetFaults(rtsim.Faults{})
	w.cycle(t)
	inst = w.instance(t, parent)
	if st := inst.Steps["7c"]; st.Status != core.StepOpen || st.Child.Tracker != "rt" {
		t.Fatalf("7c = %+v, want open in RT", st)
	}
	if !strings.Contains(strings.Join(w.what, "\n"), "7c adopted existing child") {
		t.Errorf("audit log does not record the adoption:\n%s", strings.Join(w.what, "\n"))
	}
	w.noDuplicates(t)
}

// TestQuietCycleReadsNoTickets: polling is incremental: once nothing
// changes, a cycle only searches, although polls overlap by two minutes.
func TestQuietCycleReadsNoTickets(t *testing.T) {
	// procbot's clock runs a minute ahead, so every change has settled.
	w := newWorldAt(t, nil, func() time.Time { return time.Now().Add(time.Minute) })
	w.approved(t)
	w.cycle(t)
	w.cycle(t)
	before := w.env.GGUS.CountRequests("GET", "/ticket_articles") + w.env.GGUS.CountRequests("GET", "/tickets/")
	searches := w.env.GGUS.CountRequests("POST", "/tickets/search")
	w.cycle(t)
	reads := w.env.GGUS.CountRequests("GET", "/ticket_articles") + w.env.GGUS.CountRequests("GET", "/tickets/") - before
	t.Logf("quiet cycle: %d searches, %d ticket reads", w.env.GGUS.CountRequests("POST", "/tickets/search")-searches, reads)
	if reads != 0 {
		t.Errorf("a quiet cycle read %d tickets or article lists, want none", reads)
	}
}

func TestRunFinishesTheCycleAndStops(t *testing.T) {
	w := newWorld(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.app.Daemon.Run(ctx, 10) }()
	if _, err := w.env.FileRequest(context.Background(), "FooStack", true); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// TestRecentChangeIsReadAgain: a change only seconds old may hide another
// made in the same second (RT stamps whole seconds), so the next poll
// reads the ticket again instead of trusting the first read.
func TestRecentChangeIsReadAgain(t *testing.T) {
	w := newWorld(t, nil)
	w.approved(t)
	w.cycle(t)
	before := w.env.GGUS.CountRequests("GET", "/ticket_articles")
	w.cycle(t)
	if reads := w.env.GGUS.CountRequests("GET", "/ticket_articles") - before; reads == 0 {
		t.Errorf("tickets changed a moment ago were not read again")
	}
}

// TestLostDatabase deletes procbot's database in the middle of a
// procedure. The next procbot, on an empty database, rebuilds the request
// from the trackers and carries on: no child opened twice, no answer
// posted twice, the approval not asked for again.
func TestLostDatabase(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent, err := w.env.FileRequest(ctx, "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	// The applicant tries to approve: procbot answers once.
	if err := w.env.Applicant.AddNote(ctx, parent.Ref.ID, "/approve", true); err != nil {
		t.Fatal(err)
	}
	if err := w.env.Operator.AddNote(ctx, parent.Ref.ID, "/approve", true); err != nil {
		t.Fatal(err)
	}
	closed := map[string]bool{}
	for i := 0; i < 3; i++ {
		w.cycle(t)
		w.closeOpen(t, w.instance(t, parent), closed)
	}
	w.cycle(t) // the second wave of children is open, not closed yet
	mid := w.instance(t, parent)

	// Lose the database.
	w.app.Close()
	if err := os.Remove(w.env.Config.DBPath); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, w.env.Config, zerolog.New(w.logs), app.Options{OnEvent: func(e core.AuditEntry) {
		w.mu.Lock()
		w.what = append(w.what, e.Step+" "+e.What)
		w.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	w.app = a
	w.cycle(t)
	rebuilt := w.instance(t, parent)
	if rebuilt.Phase != core.PhaseRunning {
		t.Fatalf("rebuilt request is %s, want running (the approval is on the ticket)", rebuilt.Phase)
	}
	for id, st := range mid.Steps {
		if !st.Child.IsZero() && rebuilt.Steps[id].Child.Key() != st.Child.Key() {
			t.Errorf("step %s: child %s before, %s after the rebuild", id, st.Child, rebuilt.Steps[id].Child)
		}
	}
	for i := 0; i < 12 && rebuilt.Pending(); i++ {
		w.closeOpen(t, rebuilt, closed)
		w.cycle(t)
		rebuilt = w.instance(t, parent)
	}
	if rebuilt.Phase != core.PhaseCompleted {
		t.Fatalf("request %s after the rebuild", rebuilt.Phase)
	}
	if n := w.noDuplicates(t); n != 33 {
		t.Errorf("%d children, want 33", n)
	}
	refusals := 0
	for _, a := range w.env.GGUS.Articles(mustAtoi(t, parent.Ref.ID)) {
		if strings.Contains(a.Body, "only these EGI Operations") {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("the applicant's /approve was answered %d times, want once", refusals)
	}
	if !strings.Contains(strings.Join(w.what, "\n"), "rebuilt the record of this request") {
		t.Errorf("the audit log does not say the request was rebuilt")
	}
}

// TestDuplicateRequest: a second request for a product whose request is
// still open is linked to the first, answered and closed; the first goes on.
func TestDuplicateRequest(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	first, err := w.env.FileRequest(ctx, "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	second, err := w.env.FileRequest(ctx, "  foostack ", true)
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	dup := w.instance(t, second)
	if dup.Phase != core.PhaseRejected || dup.DuplicateOf.Key() != first.Ref.Key() {
		t.Fatalf("second request: %s, duplicate of %q", dup.Phase, dup.DuplicateOf)
	}
	if tk, _ := w.env.GGUS.Ticket(mustAtoi(t, second.Ref.ID)); tk.State != "closed" {
		t.Errorf("the duplicate is %s, want closed", tk.State)
	}
	linked := false
	for _, l := range w.env.GGUS.Links() {
		if l.Type == "normal" {
			linked = true
		}
	}
	if !linked {
		t.Errorf("the duplicate is not linked to the first request: %+v", w.env.GGUS.Links())
	}
	if orig := w.instance(t, first); orig.Phase != core.PhaseAwaitingApproval {
		t.Errorf("the first request is %s", orig.Phase)
	}
}

// TestAnnouncementMailedAtCompletion: a whole procedure with an SMTP
// server configured mails the announcement once to the configured
// addresses when the procedure completes.
func TestAnnouncementMailedAtCompletion(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	w := newWorld(t, func(c *config.Config) {
		c.SMTP.Host, c.SMTP.Port, c.SMTP.TLS, c.SMTP.From = srv.Host, srv.Port, "none", "procbot <procbot@egi.example>"
		c.AnnounceTo = []string{"omb@egi.example", "Broadcast <broadcast@egi.example>"}
	})
	parent := w.approved(t)
	closed := map[string]bool{}
	inst := w.instance(t, parent)
	for i := 0; i < 12 && inst.Pending(); i++ {
		w.closeOpen(t, inst, closed)
		w.cycle(t)
		inst = w.instance(t, parent)
	}
	if inst.Phase != core.PhaseCompleted {
		t.Fatalf("request %s", inst.Phase)
	}
	w.cycle(t)
	msgs := srv.Messages()
	if len(msgs) != 1 || len(msgs[0].To) != 2 {
		t.Fatalf("%d announcement mails, want 1 to both addresses: %+v", len(msgs), msgs)
	}
	if !bytes.Contains(msgs[0].Data, []byte("FooStack")) {
		t.Errorf("the announcement mail does not name the product:\n%s", msgs[0].Data)
	}
	if !strings.Contains(strings.Join(w.what, "\n"), "mailed the announcement to omb@egi.example, broadcast@egi.example") {
		t.Errorf("the audit log does not record the mail")
	}
}
