package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
)

// TestPROC19AsLeastPrivilegeRTUser runs PROC19 wholly in the real RT as
// EGI's production RT has procbot: a user with rights on its own queues
// only, to whom RT answers history pages without a total, the children in
// a queue whose name has a space, the UMD representative's in a queue on a
// lifecycle of its own (the harness's Requirements). The operator's
// /approve is on the oldest page of the request's history, a /na after 5
// or 105 comments on the newest; both are obeyed, and step 10 gets no
// child. The unit takes 7b's child through its lifecycle; an operator's
// /na on 7d makes procbot close that child through the queue's close path;
// a unit reopens 0a's child, and the step reopens until it is resolved
// again. The RT requests procbot makes are counted by a proxy in front of
// RT and printed.
func TestPROC19AsLeastPrivilegeRTUser(t *testing.T) {
	url, _, tz := realRT(t)
	user, token, queue, lifecycle := os.Getenv("RT_PROCBOT_USER"), os.Getenv("RT_PROCBOT_TOKEN"), os.Getenv("RT_SPACED_QUEUE"), os.Getenv("RT_LIFECYCLE_QUEUE")
	if user == "" || token == "" || queue == "" || lifecycle == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but RT_PROCBOT_USER, RT_PROCBOT_TOKEN, RT_SPACED_QUEUE or RT_LIFECYCLE_QUEUE is not set (deploy/dev/rt/start-rt.sh exports them)")
		}
		t.Skip("skipped: RT_PROCBOT_USER, RT_PROCBOT_TOKEN, RT_SPACED_QUEUE or RT_LIFECYCLE_QUEUE is not set; start RT with deploy/dev/rt/start-rt.sh")
	}
	for _, comments := range []int{5, 105} {
		t.Run(fmt.Sprintf("%d comments", comments), func(t *testing.T) {
			leastPrivilegeRun(t, rtWorld{url: url, token: token, tz: tz, user: user, queue: queue, lifecycle: lifecycle}, comments)
		})
	}
}

func leastPrivilegeRun(t *testing.T, w rtWorld, comments int) {
	ctx := context.Background()
	counted := countRequests(t, w.url)
	world := w
	world.url = counted.url
	p, a := procbotInRT(t, world, app.Options{})
	applicant, operator, unit := as(t, w.url, "applicant", w.tz), as(t, w.url, "operator", w.tz), as(t, w.url, "unit", w.tz)

	// A first cycle reads what earlier tests left in this RT, so that the
	// counts below are this request's.
	if err := a.Daemon.Cycle(ctx); err != nil {
		t.Fatal(err)
	}
	product := fmt.Sprintf("LeastStack%d", time.Now().UnixNano()%1e9)
	title := strings.ReplaceAll(p.Request.Subject, "{product}", product)
	// In a queue procbot's user may see: it has no rights on General.
	parent, err := applicant.Create(ctx, core.NewTicket{Queue: "PROC19", Title: title, Body: demo.RequestBody(product, true)})
	if err != nil {
		t.Fatal(err)
	}
	if err := operator.AddNote(ctx, parent.Ref.ID, "OMB approved.\n/approve", false); err != nil {
		t.Fatal(err)
	}
	for i := range comments {
		if err := applicant.AddNote(ctx, parent.Ref.ID, fmt.Sprintf("Comment %d on the integration plan.", i+1), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := operator.AddNote(ctx, parent.Ref.ID, "/na 10 e-GRANT was retired", false); err != nil {
		t.Fatal(err)
	}

	cycle := cycler(t, a, p, parent)
	counted.take()
	inst := cycle()
	first := counted.take()
	if inst.Phase != core.PhaseRunning {
		t.Fatalf("after the first read of a history of %d comments the request is %s, want running: the /approve on its oldest page was not read", comments, inst.Phase)
	}
	if st := inst.Steps["10"]; st.Status != core.StepSkipped {
		t.Fatalf("step 10 is %+v, want skipped: the /na on the newest page was not read", st)
	}
	// A cycle reads 0a's and 0b's new children and procbot's own status
	// note once. RT stamps changes to the second, so procbot reads a
	// ticket again until its last change is core.ReadSettle old: once
	// that has passed, a cycle settles them.
	cycle()
	time.Sleep(core.ReadSettle)
	cycle()
	// One more comment: the request changed, nothing to do.
	if err := applicant.AddNote(ctx, parent.Ref.ID, "One more comment.", false); err != nil {
		t.Fatal(err)
	}
	counted.take()
	cycle()
	oneNote, oneSearch := counted.take(), counted.searches()
	// The unit moves a child as its queue's lifecycle allows.
	resolve := func(t *testing.T, ref core.TicketRef) {
		t.Helper()
		child, err := unit.Get(ctx, ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		path := []string{"resolved"}
		if child.Queue == w.lifecycle {
			path = []string{"accepted", "in progress", "resolved"}
		}
		for _, st := range path {
			if err := unit.SetState(ctx, ref.ID, st); err != nil {
				t.Fatal(err)
			}
		}
	}
	closed := map[string]bool{}
	reopened := false
	rounds, busiest, busy, busyCycles := 0, 0, 0, 0
	for ; inst.Pending() && rounds < 40; rounds++ {
		for _, id := range p.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			closed[st.Child.Key()] = true
			if id == "7d" {
				if err := operator.AddNote(ctx, parent.Ref.ID, "/na 7d released with the next UMD update", false); err != nil {
					t.Fatal(err)
				}
				continue
			}
			resolve(t, st.Child)
		}
		counted.take()
		inst = cycle()
		n := counted.take()
		busiest, busy, busyCycles = max(busiest, n), busy+n, busyCycles+1
		if st := inst.Steps["0a"]; !reopened && st.Status == core.StepDone {
			reopened = true
			if err := unit.SetState(ctx, st.Child.ID, "open"); err != nil {
				t.Fatal(err)
			}
			if inst = cycle(); inst.Steps["0a"].Status != core.StepOpen {
				t.Fatalf("0a's child was reopened; the step is %s, want open", inst.Steps["0a"].Status)
			}
			delete(closed, st.Child.Key()) // resolved again in the next round
		}
	}
	cycle()
	counted.take()
	cycle()
	idle, idleSearch := counted.take(), counted.searches()
	// Printed, not asserted: what a history of this length costs.
	t.Logf("RT requests by procbot, request with %d comments: first read %d (opening 0a and 0b), a cycle after one new comment %d (%d of them search pages), busy cycles %d on average (busiest %d, %d cycles), idle cycle %d (%d search pages)",
		comments, first, oneNote, oneSearch, busy/max(busyCycles, 1), busiest, busyCycles, idle, idleSearch)
	// The poll's search pages (how many depends on what else changed in
	// this RT lately: RT gives this user no total, so an empty page ends
	// the list), and nothing else: no ticket is read.
	if idle != idleSearch {
		t.Errorf("an idle cycle made %d RT requests, %d of them search pages: it read tickets", idle, idleSearch)
	}
	// The changed request costs at most 3: the ticket, the history after
	// what was read, the new comment's text; the same with 5 or 105 notes.
	if reads := oneNote - oneSearch; reads > 3 {
		t.Errorf("a cycle after one new comment on the request made %d RT requests beside the search, want at most 3", reads)
	}
	if inst.Phase != core.PhaseCompleted {
		t.Fatalf("request is %s after %d polls: %+v", inst.Phase, rounds, inst.Steps)
	}
	if !reopened {
		t.Error("0a's child was never reopened")
	}
	for id, want := range map[string]core.StepStatus{"10": core.StepSkipped, "7d": core.StepSkipped, "7b": core.StepDone, "0a": core.StepDone} {
		if st := inst.Steps[id]; st.Status != want {
			t.Errorf("step %s is %s, want %s", id, st.Status, want)
		}
	}
	if st := inst.Steps["10"]; !st.Child.IsZero() {
		t.Errorf("step 10 has child %s, want none", st.Child)
	}
	for id, st := range inst.Steps {
		if st.Child.IsZero() {
			continue
		}
		child, err := unit.Get(ctx, st.Child.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := w.queue
		if id == "7b" || id == "7d" {
			want = w.lifecycle
		}
		if child.Queue != want {
			t.Errorf("step %s's child %s is in queue %q, want %q", id, st.Child, child.Queue, want)
		}
		// 7d's child was closed by procbot, through the close path.
		if child.State != "resolved" {
			t.Errorf("step %s's child %s is %q, want resolved", id, st.Child, child.State)
		}
	}
}

// counter stands in front of RT and counts the requests through it, and
// among them the ticket searches.
type counter struct {
	url       string // RT's REST 2.0 URL, through the counter
	n, search atomic.Int64
	searched  int64 // the searches counted up to the last take
}

func countRequests(t *testing.T, target string) *counter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.n.Add(1)
		if strings.HasSuffix(r.URL.Path, "/tickets") {
			c.search.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + u.Path
	return c
}

// take returns the requests counted since the last call.
func (c *counter) take() int {
	c.searched = c.search.Swap(0)
	return int(c.n.Swap(0))
}

// searches is how many of the requests the last take counted were
// ticket searches.
func (c *counter) searches() int { return int(c.searched) }

// TestCheckAgainstRealRT: procbot check, as the least-privilege RT user,
// reports a step routed to a queue the user has no rights on, and a wrong
// time zone (which fails start-up, naming the setting); with both right,
// every check passes.
func TestCheckAgainstRealRT(t *testing.T) {
	url, _, tz := realRT(t)
	user, token, queue, forbidden := os.Getenv("RT_PROCBOT_USER"), os.Getenv("RT_PROCBOT_TOKEN"), os.Getenv("RT_SPACED_QUEUE"), os.Getenv("RT_FORBIDDEN_QUEUE")
	if user == "" || token == "" || queue == "" || forbidden == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the least-privilege account's RT_* variables are not set (deploy/dev/rt/start-rt.sh exports them)")
		}
		t.Skip("skipped: the least-privilege account's RT_* variables are not set; start RT with deploy/dev/rt/start-rt.sh")
	}
	ctx := context.Background()
	_, cfg := rtConfig(t, rtWorld{url: url, token: token, tz: tz, user: user, queue: queue})
	// A ticket procbot's user may see, to prove the zone with.
	if _, err := as(t, url, "applicant", tz).Create(ctx, core.NewTicket{Queue: queue, Title: "zone proof", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, cfg config.Config) (string, int) {
		t.Helper()
		a, err := app.New(ctx, cfg, zerolog.Nop(), app.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		var out bytes.Buffer
		problems, err := app.PrintCheck(&out, a.Check(ctx))
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), problems
	}
	t.Run("right settings pass", func(t *testing.T) {
		if out, problems := check(t, cfg); problems != 0 {
			t.Errorf("%d problems:\n%s", problems, out)
		}
	})
	t.Run("a queue without rights is a problem", func(t *testing.T) {
		bad := cfg
		bad.Routes = strings.Replace(bad.Routes, "7d=rt:"+queue, "7d=rt:"+forbidden, 1)
		if bad.Routes == cfg.Routes {
			t.Fatalf("no route of step 7d to replace in %q", cfg.Routes)
		}
		out, problems := check(t, bad)
		if problems != 1 || !strings.Contains(out, forbidden) || !strings.Contains(out, "SeeQueue") {
			t.Errorf("%d problems, want 1 naming %s:\n%s", problems, forbidden, out)
		}
	})
	t.Run("an operator listed by address is a problem naming the login", func(t *testing.T) {
		bad := cfg
		bad.Operators = []string{"operator@rt.test"}
		out, problems := check(t, bad)
		if problems != 1 || !strings.Contains(out, "list operator in PROCBOT_OPERATORS") {
			t.Errorf("%d problems, want 1 naming the login operator:\n%s", problems, out)
		}
	})
	t.Run("a wrong time zone fails start-up naming the setting", func(t *testing.T) {
		bad := cfg
		bad.RT.TimeZone = "Asia/Tokyo"
		if _, off := time.Now().In(tz).Zone(); off > 0 {
			bad.RT.TimeZone = "America/Los_Angeles"
		}
		_, err := app.New(ctx, bad, zerolog.Nop(), app.Options{})
		if err == nil || !strings.Contains(err.Error(), "PROCBOT_RT_TIMEZONE") {
			t.Errorf("start-up with RT_TIMEZONE %s: %v, want an error naming PROCBOT_RT_TIMEZONE", bad.RT.TimeZone, err)
		}
	})
}
