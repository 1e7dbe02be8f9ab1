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
// a queue whose name has a space. The request's history runs past 100
// entries before procbot first reads it: the operator's /approve is on the
// oldest page, a /na after a hundred comments on the newest. Both are
// obeyed, and step 10 gets no child.
func TestPROC19AsLeastPrivilegeRTUser(t *testing.T) {
	url, _, tz := realRT(t)
	user, token, queue := os.Getenv("RT_PROCBOT_USER"), os.Getenv("RT_PROCBOT_TOKEN"), os.Getenv("RT_SPACED_QUEUE")
	if user == "" || token == "" || queue == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but RT_PROCBOT_USER, RT_PROCBOT_TOKEN or RT_SPACED_QUEUE is not set (deploy/dev/rt/start-rt.sh exports them)")
		}
		t.Skip("skipped: RT_PROCBOT_USER, RT_PROCBOT_TOKEN or RT_SPACED_QUEUE is not set; start RT with deploy/dev/rt/start-rt.sh")
	}
	ctx := context.Background()
	counted := countRequests(t, url)
	p, a := procbotInRT(t, rtWorld{url: counted.url, token: token, tz: tz, user: user, queue: queue}, app.Options{})
	applicant, operator, unit := as(t, url, "applicant", tz), as(t, url, "operator", tz), as(t, url, "unit", tz)

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
	const comments = 105
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
	closed := map[string]bool{}
	rounds, busiest := 0, 0
	for ; inst.Pending() && rounds < 40; rounds++ {
		for _, id := range p.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			if err := unit.SetState(ctx, st.Child.ID, "resolved"); err != nil {
				t.Fatal(err)
			}
			closed[st.Child.Key()] = true
		}
		counted.take()
		inst = cycle()
		busiest = max(busiest, counted.take())
	}
	cycle()
	counted.take()
	cycle()
	idle := counted.take()
	// Printed, not asserted: what a long history costs.
	t.Logf("RT requests by procbot: first read of the request with %d comments %d, busiest cycle %d, idle cycle %d", comments, first, busiest, idle)
	// The poll overlap still shows the last changes: a page of them, and
	// the empty page that ends the list (RT gives this user no total).
	if idle > 2 {
		t.Errorf("an idle cycle made %d RT requests, want a search of at most two pages", idle)
	}
	if inst.Phase != core.PhaseCompleted {
		t.Fatalf("request is %s after %d polls: %+v", inst.Phase, rounds, inst.Steps)
	}
	if st := inst.Steps["10"]; st.Status != core.StepSkipped || !st.Child.IsZero() {
		t.Errorf("step 10 is %+v, want skipped without a child", st)
	}
	for id, st := range inst.Steps {
		if st.Child.IsZero() {
			continue
		}
		child, err := unit.Get(ctx, st.Child.ID)
		if err != nil {
			t.Fatal(err)
		}
		if child.Queue != queue {
			t.Errorf("step %s's child %s is in queue %q, want %q", id, st.Child, child.Queue, queue)
		}
	}
}

// counter stands in front of RT and counts the requests through it.
type counter struct {
	url string // RT's REST 2.0 URL, through the counter
	n   atomic.Int64
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
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + u.Path
	return c
}

// take returns the requests counted since the last call.
func (c *counter) take() int { return int(c.n.Swap(0)) }

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
