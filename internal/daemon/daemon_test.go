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
	"github.com/procbot/procbot/internal/testlog"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// world is procbot in the demo's simulated GGUS and RT.
type world struct {
	env  *demo.Env
	app  *app.App
	logs *testlog.Buffer
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
	w := &world{env: env, logs: &testlog.Buffer{}}
	w.start(t, cfg, now)
	return w
}

// start builds procbot on cfg, logging to w.logs and noting its audit
// entries in w.what, and closes it when the test ends.
func (w *world) start(t testing.TB, cfg config.Config, now func() time.Time) {
	t.Helper()
	a, err := app.New(context.Background(), cfg, zerolog.New(w.logs), app.Options{Now: now, OnEvent: func(e core.AuditEntry) {
		w.mu.Lock()
		w.what = append(w.what, e.Step+" "+e.What)
		w.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	w.app = a
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

// filed files a complete request for product and runs one cycle, in
// which procbot takes it up.
func (w *world) filed(t *testing.T, product string) core.Ticket {
	t.Helper()
	parent, err := w.env.FileRequest(context.Background(), product, true)
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	return parent
}

// approved files a complete request and approves it.
func (w *world) approved(t *testing.T) core.Ticket {
	t.Helper()
	ctx := context.Background()
	parent := w.filed(t, "FooStack")
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
	inst := w.advance(t, parent, closed, 8, func(inst core.Instance) bool { return inst.Steps["7c"].Status == core.StepOpening })
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

// TestLostDatabase deletes procbot's database in the middle of a
// procedure. The next procbot, on an empty database, rebuilds the request
// from the trackers and carries on: no child opened twice, no answer
// posted twice, the approval not asked for again.
func TestLostDatabase(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.filed(t, "FooStack")
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

	w.loseDatabase(t)
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

// loseDatabase stops procbot, deletes its database and starts procbot
// again on an empty one.
func (w *world) loseDatabase(t *testing.T) {
	t.Helper()
	w.app.Close()
	if err := os.Remove(w.env.Config.DBPath); err != nil {
		t.Fatal(err)
	}
	w.start(t, w.env.Config, nil)
}

// rebuild runs what "procbot rebuild" runs.
func (w *world) rebuild(t *testing.T) {
	t.Helper()
	if err := w.app.Daemon.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// rebuildFromScratch loses the database, runs a rebuild on the empty one
// and returns the rebuilt request; the rebuild must ask the trackers for
// no change.
func (w *world) rebuildFromScratch(t *testing.T, parent core.Ticket) core.Instance {
	t.Helper()
	w.loseDatabase(t)
	before := len(w.writes())
	w.rebuild(t)
	if writes := w.writes()[before:]; len(writes) != 0 {
		t.Errorf("the rebuild changed the trackers: %v", writes)
	}
	return w.instance(t, parent)
}

// writes lists the changes both trackers were asked for so far: every
// request but reads and searches.
func (w *world) writes() []string {
	var out []string
	for _, r := range append(w.env.GGUS.Requests(), w.env.RT.Requests()...) {
		if strings.HasPrefix(r, "GET ") || strings.Contains(r, "/search") {
			continue
		}
		out = append(out, r)
	}
	return out
}

// robotNotes returns the texts of procbot's notes on a GGUS ticket.
func (w *world) robotNotes(t *testing.T, ticket core.TicketRef) []string {
	t.Helper()
	var out []string
	for _, a := range w.env.GGUS.Articles(mustAtoi(t, ticket.ID)) {
		if a.CreatedBy == w.env.RobotLogin() {
			out = append(out, a.Body)
		}
	}
	return out
}

// finish closes every open child until the request is finished.
func (w *world) finish(t *testing.T, parent core.Ticket, closed map[string]bool) core.Instance {
	t.Helper()
	return w.advance(t, parent, closed, 16, func(inst core.Instance) bool { return !inst.Pending() })
}

// advance closes every open child once and runs a cycle, again and again,
// until done holds for the request or most cycles ran; it returns the
// request as it then stands.
func (w *world) advance(t *testing.T, parent core.Ticket, closed map[string]bool, most int, done func(core.Instance) bool) core.Instance {
	t.Helper()
	inst := w.instance(t, parent)
	for i := 0; i < most && !done(inst); i++ {
		w.closeOpen(t, inst, closed)
		w.cycle(t)
		inst = w.instance(t, parent)
	}
	return inst
}

// sameSteps reports the steps whose status or child differ.
func sameSteps(t *testing.T, want, got core.Instance) {
	t.Helper()
	for id, st := range want.Steps {
		g := got.Steps[id]
		if g.Status != st.Status || g.Child.Key() != st.Child.Key() {
			t.Errorf("step %s: %s %s before the database was lost, %s %s after the rebuild", id, st.Status, st.Child, g.Status, g.Child)
		}
	}
}

// TestLostDatabaseAfterCompletion: the database is lost after a request
// completed. The rebuild records it as completed, every step as it was,
// and changes nothing in the trackers.
func TestLostDatabaseAfterCompletion(t *testing.T) {
	w := newWorld(t, nil)
	parent := w.approved(t)
	done := w.finish(t, parent, map[string]bool{})
	if done.Phase != core.PhaseCompleted {
		t.Fatalf("request %s", done.Phase)
	}
	got := w.rebuildFromScratch(t, parent)
	if got.Phase != core.PhaseCompleted || len(got.Outbox) != 0 {
		t.Errorf("rebuilt request is %s with %d actions to do, want completed with none: %+v", got.Phase, len(got.Outbox), got.Outbox)
	}
	sameSteps(t, done, got)
	before := len(w.writes())
	w.cycle(t)
	if writes := w.writes()[before:]; len(writes) != 0 {
		t.Errorf("the cycle after the rebuild changed the trackers: %v", writes)
	}
}

// TestLostDatabaseAfterRejection: the database is lost after an operator
// rejected a request. The rebuild records it as rejected, with the
// operator's reason, and changes nothing in the trackers.
func TestLostDatabaseAfterRejection(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.filed(t, "FooStack")
	if err := w.env.Operator.AddNote(ctx, parent.Ref.ID, "/reject the OMB found no Resource Centre to run it", true); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	if inst := w.instance(t, parent); inst.Phase != core.PhaseRejected || len(inst.Outbox) != 0 {
		t.Fatalf("request %s with %d actions to do", inst.Phase, len(inst.Outbox))
	}
	got := w.rebuildFromScratch(t, parent)
	if got.Phase != core.PhaseRejected || got.RejectReason != "the OMB found no Resource Centre to run it" || len(got.Outbox) != 0 {
		t.Errorf("rebuilt request is %s (%q) with %d actions to do, want rejected for the operator's reason with none",
			got.Phase, got.RejectReason, len(got.Outbox))
	}
}

// TestLostDatabaseAfterAPersonClosedTheRequest: an operator closes a
// running request in GGUS; procbot stops and closes the children that
// were open. After a lost database the rebuild records it as closed, each
// step as its child shows (those procbot closed as done: the tracker
// cannot tell them apart), and opens and closes nothing.
func TestLostDatabaseAfterAPersonClosedTheRequest(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.approved(t)
	closed := map[string]bool{}
	for i := 0; i < 2; i++ {
		w.closeOpen(t, w.instance(t, parent), closed)
		w.cycle(t)
	}
	if err := w.env.Operator.SetState(ctx, parent.Ref.ID, "closed"); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	was := w.instance(t, parent)
	if was.Phase != core.PhaseClosed {
		t.Errorf("request closed by a person is %s, want closed", was.Phase)
	}
	for id, st := range was.Steps {
		if st.Status != core.StepOpen {
			continue
		}
		child, err := w.env.Unit(st.Child.Tracker).Get(ctx, st.Child.ID)
		if err != nil {
			t.Fatal(err)
		}
		if child.State != w.env.Config.GGUS.CloseState && child.State != w.env.Config.RT.CloseState {
			t.Errorf("step %s's child %s is %q after the request was closed, want closed by procbot", id, st.Child, child.State)
		}
		st.Status = core.StepDone // as the rebuild reads the closed child
		was.Steps[id] = st
	}
	got := w.rebuildFromScratch(t, parent)
	if got.Phase != core.PhaseClosed || len(got.Outbox) != 0 {
		t.Errorf("rebuilt request is %s with %d actions to do, want closed with none", got.Phase, len(got.Outbox))
	}
	sameSteps(t, was, got)
}

// TestLostDatabaseMidwayPostsStatusOnlyWhenChanged: a rebuild in the
// middle of a procedure posts no status note when the progress is what
// procbot's last note on the request says; when a child was closed while
// procbot was down, it posts one.
func TestLostDatabaseMidwayPostsStatusOnlyWhenChanged(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.approved(t)
	closed := map[string]bool{}
	w.closeOpen(t, w.instance(t, parent), closed)
	w.cycle(t)
	w.cycle(t)
	was := w.instance(t, parent)
	notes := len(w.robotNotes(t, parent.Ref))

	w.loseDatabase(t)
	w.rebuild(t)
	got := w.instance(t, parent)
	sameSteps(t, was, got)
	if n := len(w.robotNotes(t, parent.Ref)); n != notes {
		t.Errorf("the rebuild posted %d notes on the request; the progress did not change", n-notes)
	}
	if len(got.Outbox) != 0 {
		t.Errorf("%d actions left: %+v", len(got.Outbox), got.Outbox)
	}
	if !strings.Contains(strings.Join(w.what, "\n"), "status note already on "+parent.Ref.String()+", not posted again") {
		t.Errorf("the audit log does not say why no status note was posted:\n%s", strings.Join(w.what, "\n"))
	}

	// A child is closed while procbot is down.
	var step string
	for _, id := range w.env.Proc.Order() {
		if st := got.Steps[id]; st.Status == core.StepOpen && step == "" {
			step = id
			if _, err := w.env.CloseChild(ctx, st.Child); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.loseDatabase(t)
	w.rebuild(t)
	got = w.instance(t, parent)
	if s := got.Steps[step].Status; s != core.StepDone {
		t.Errorf("step %s, closed while procbot was down, is %s after the rebuild", step, s)
	}
	mine := w.robotNotes(t, parent.Ref)
	if n := len(mine) - notes; n != 1 || !strings.Contains(mine[len(mine)-1], "progress for FooStack") {
		t.Errorf("the rebuild posted %d notes, want one status note", n)
	}
}

// TestDuplicateRequest: a second request for a product whose request is
// still open is linked to the first, answered and closed; the first goes on.
func TestDuplicateRequest(t *testing.T) {
	w := newWorld(t, nil)
	first := w.filed(t, "FooStack")
	second := w.filed(t, "  foostack ")
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
	inst := w.advance(t, parent, closed, 12, func(inst core.Instance) bool { return !inst.Pending() })
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

// TestAnnouncementWaitsForAReopenedStep: a unit resolves the first step of
// an area, then reopens it while the area's last step is still open. The
// step is open again, and procbot neither announces nor closes the request
// while it is open, although every area's last step completes; resolved
// again, it lets the announcement out.
func TestAnnouncementWaitsForAReopenedStep(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.approved(t)
	closed := map[string]bool{}
	var reopened core.StepState
	inst := w.instance(t, parent)
	for i := 0; i < 16 && inst.Pending(); i++ {
		if st := inst.Steps["1a"]; reopened.Child.IsZero() && st.Status == core.StepDone && inst.Steps["1b"].Status == core.StepOpen {
			if err := w.env.Unit(st.Child.Tracker).SetState(ctx, st.Child.ID, "open"); err != nil {
				t.Fatal(err)
			}
			reopened = st
		}
		w.closeOpen(t, inst, closed) // the reopened child was closed once: it stays open
		w.cycle(t)
		inst = w.instance(t, parent)
	}
	if reopened.Child.IsZero() {
		t.Fatalf("step 1a never was done while 1b was open: %+v", inst.Steps["1a"])
	}
	if inst.Phase != core.PhaseRunning || inst.Steps["1a"].Status != core.StepOpen {
		t.Fatalf("with 1a reopened the request is %s and 1a %s, want running and open", inst.Phase, inst.Steps["1a"].Status)
	}
	for id, st := range inst.Steps {
		if id != "1a" && id != "announcement" && !st.Status.Complete() {
			t.Fatalf("step %s is %s: the test wants every other step complete", id, st.Status)
		}
	}
	announcements := func() int {
		n := 0
		for _, a := range w.env.GGUS.Articles(mustAtoi(t, parent.Ref.ID)) {
			if strings.HasPrefix(a.Body, "Announcement:") {
				n++
			}
		}
		return n
	}
	if n := announcements(); n != 0 {
		t.Errorf("the announcement was posted %d times while step 1a was open", n)
	}
	if tk, _ := w.env.GGUS.Ticket(mustAtoi(t, parent.Ref.ID)); tk.State == "closed" {
		t.Errorf("the request was closed while step 1a was open")
	}

	if _, err := w.env.CloseChild(ctx, reopened.Child); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4 && inst.Pending(); i++ {
		w.cycle(t)
		inst = w.instance(t, parent)
	}
	if inst.Phase != core.PhaseCompleted {
		t.Fatalf("request %s after 1a was resolved again", inst.Phase)
	}
	if n := announcements(); n != 1 {
		t.Errorf("the announcement was posted %d times, want once", n)
	}
}

// TestStatusNoteWithLostAnswerIsPostedOnce: GGUS stores a status note but
// its answer is lost; on the next cycle nothing has changed, the same
// status note is decided again, and it is looked for before it is posted.
func TestStatusNoteWithLostAnswerIsPostedOnce(t *testing.T) {
	w := newWorld(t, nil)
	parent, err := w.env.FileRequest(context.Background(), "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	w.env.GGUS.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault502}, After: true,
		Methods: []string{"POST"}, Paths: []string{"/ticket_articles"}, Max: 1})
	if err := w.app.Daemon.Cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := w.env.GGUS.FaultsInjected(); n != 1 {
		t.Fatalf("%d answers lost, want 1", n)
	}
	w.env.GGUS.SetFaults(zammadsim.Faults{})
	w.cycle(t)
	w.cycle(t)
	if notes := w.robotNotes(t, parent.Ref); len(notes) != 1 {
		t.Errorf("procbot's status note is on the request %d times, want once", len(notes))
	}
}

// TestRecordOfAnOlderProcbotIsCarriedOn: an older procbot recorded that it
// would open a child as the step's status alone ("opening", nothing in the
// outbox), created the child and stopped before recording it. The current
// procbot, on that database, adopts the child by its marker instead of
// opening a second, also when the child is too old to show in a poll.
func TestRecordOfAnOlderProcbotIsCarriedOn(t *testing.T) {
	w := newWorld(t, func(c *config.Config) { c.PollOverlap = 0 })
	parent := w.approved(t)
	w.cycle(t) // reads the children and notes the approval made
	w.cycle(t) // and now polls past them
	inst := w.instance(t, parent)
	var step string
	var child core.TicketRef
	for id, st := range inst.Steps {
		if st.Status == core.StepOpen && !st.Child.IsZero() {
			step, child = id, st.Child
		}
	}
	if step == "" {
		t.Fatalf("no child opened after the approval: %+v", inst.Steps)
	}
	st := inst.Steps[step]
	st.Status, st.Child, st.ChildURL, st.OpenedAt = core.StepOpening, core.TicketRef{}, "", time.Time{}
	inst.Steps[step] = st
	for _, a := range inst.Outbox {
		if a.Kind == core.ActOpen {
			t.Fatalf("the outbox already holds an opening: %+v", a)
		}
	}
	if err := w.app.Store.PutInstanceAudit(inst); err != nil {
		t.Fatal(err)
	}
	children := w.noDuplicates(t)

	w.cycle(t)
	got := w.instance(t, parent)
	if st := got.Steps[step]; st.Status != core.StepOpen || st.Child != child {
		t.Errorf("step %s = %s with child %v, want open with the child the older procbot created, %v", step, st.Status, st.Child, child)
	}
	if n := w.noDuplicates(t); n != children {
		t.Errorf("%d children, want the %d there were", n, children)
	}
	if !strings.Contains(strings.Join(w.what, "\n"), step+" adopted existing child") {
		t.Errorf("audit log does not record the adoption:\n%s", strings.Join(w.what, "\n"))
	}
}
