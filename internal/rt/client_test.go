package rt_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/trackertest"
)

// The client is every tracker its consumers declare: the daemon's poll and
// executor, the daemon's union of both, and the contract suite.
var (
	_ daemon.Poller       = (*rt.Client)(nil)
	_ daemon.Actor        = (*rt.Client)(nil)
	_ daemon.Tracker      = (*rt.Client)(nil)
	_ trackertest.Tracker = (*rt.Client)(nil)
)

const (
	token    = "1-14-0123456789abcdef0123456789abcdef"
	password = "s3cret-pass"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	sim   *rtsim.Server
	c     *rt.Client
	clock *clock
	ctx   context.Context
}

func setup(t *testing.T, tz *time.Location, tweak func(*rt.Config)) *env {
	t.Helper()
	ck := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	sim := rtsim.New(rtsim.Options{
		Queues:   []string{"PROC19", "PROC20"},
		Users:    []rtsim.User{{Name: "root", ID: 14, Password: password, Token: token}},
		TimeZone: tz,
		Now:      ck.Now,
	})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	cfg := rt.Config{URL: sim.URL(), Token: token, TimeZone: tz, Timeout: 10 * time.Second}
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := rt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, sim: sim, c: c, clock: ck, ctx: context.Background()}
}

func (e *env) create(title string, parent core.TicketRef) core.Ticket {
	e.t.Helper()
	tk, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: title, Body: "body of " + title, Parent: parent})
	if err != nil {
		e.t.Fatalf("create %q: %v", title, err)
	}
	return tk
}

// raw sends a request straight to the simulator, for setups the client has
// no method for.
func (e *env) raw(method, path, body string) string {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.sim.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "token "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return string(b)
}

// noSecrets fails when an error text shows a credential.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{token, "0123456789abcdef0123456789abcdef", password} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error shows a credential: %v", err)
		}
	}
}

func TestCreateAndGet(t *testing.T) {
	e := setup(t, nil, nil)
	v, err := e.c.Ping(e.ctx)
	if err != nil || v != rtsim.Version {
		t.Fatalf("ping: %q %v", v, err)
	}
	tk, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "PROC19 new site", Body: "hello",
		Customer: "ops@example.com", Tags: []string{"ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	want := core.Ticket{
		Ref:       core.TicketRef{Tracker: "rt", ID: "1", Number: "1"},
		Title:     "PROC19 new site",
		Queue:     "PROC19",
		State:     "new",
		CreatedAt: e.clock.Now(),
		UpdatedAt: e.clock.Now(),
		URL:       strings.TrimSuffix(e.sim.URL(), "/REST/2.0") + "/Ticket/Display.html?id=1",
	}
	if !equalTicket(tk, want) {
		t.Errorf("created\n got %+v\nwant %+v", tk, want)
	}
	got, err := e.c.Get(e.ctx, "1")
	if err != nil || !equalTicket(got, want) {
		t.Errorf("get: %+v %v", got, err)
	}
	if got.Tags != nil {
		t.Errorf("tags %v", got.Tags)
	}
	if !strings.Contains(e.raw("GET", "/ticket/1", ""), "ops@example.com") {
		t.Error("requestor not set")
	}
}

func equalTicket(a, b core.Ticket) bool {
	return a.Ref == b.Ref && a.Title == b.Title && a.Queue == b.Queue && a.State == b.State &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt) && a.URL == b.URL
}

func TestChanged(t *testing.T) {
	// RT configured west of UTC by a fraction of an hour: a client that sent
	// UTC wall-clock literals would ask for changes hours too late.
	tz := time.FixedZone("UTC-03:30", -(3*3600 + 1800))
	e := setup(t, tz, func(c *rt.Config) { c.PerPage = 2 })

	e.create("PROC19 old", core.TicketRef{}) // 1, at 10:00:00
	e.clock.Add(10 * time.Minute)
	cursor := e.clock.Now().Add(500 * time.Millisecond)   // inside the second 10:10:00
	e.create("PROC19 at cursor second", core.TicketRef{}) // 2, 10:10:00: same second as the cursor
	e.clock.Add(time.Second)
	e.create("PROC19 it's quoted", core.TicketRef{}) // 3
	e.clock.Add(time.Second)
	e.create("other subject", core.TicketRef{}) // 4
	for i := 0; i < 3; i++ {
		e.clock.Add(time.Second)
		e.create("PROC19 many", core.TicketRef{}) // 5, 6, 7
	}
	e.clock.Add(time.Minute)
	if err := e.c.AddNote(e.ctx, "1", "touch the old one", false); err != nil { // 1 moves last
		t.Fatal(err)
	}

	got, err := e.c.Changed(e.ctx, "PROC19", cursor)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, tk := range got {
		order = append(order, tk.Ref.ID)
		if tk.Queue != "PROC19" || tk.Ref.Tracker != "rt" {
			t.Errorf("ticket %+v", tk)
		}
	}
	if strings.Join(order, ",") != "2,3,5,6,7,1" {
		t.Errorf("changed since cursor: %v", order)
	}
	for i := 1; i < len(got); i++ {
		if got[i].UpdatedAt.Before(got[i-1].UpdatedAt) {
			t.Errorf("not oldest first: %v", order)
		}
	}

	q, err := e.c.Changed(e.ctx, "it's", time.Time{})
	if err != nil || len(q) != 1 || q[0].Ref.ID != "3" {
		t.Errorf("quoted match: %+v %v", q, err)
	}
	none, err := e.c.Changed(e.ctx, "PROC19", e.clock.Now().Add(time.Hour))
	if err != nil || len(none) != 0 {
		t.Errorf("future cursor: %+v %v", none, err)
	}
}

func TestChangedWrongTimeZoneMisses(t *testing.T) {
	// Guards the test above: with the client's zone wrong, the same search
	// misses changes, so the time-zone handling is really exercised.
	tz := time.FixedZone("UTC-03:30", -(3*3600 + 1800))
	e := setup(t, tz, func(c *rt.Config) { c.TimeZone = time.UTC })
	cursor := e.clock.Now()
	e.create("PROC19 x", core.TicketRef{})
	got, err := e.c.Changed(e.ctx, "PROC19", cursor)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("a UTC literal against a -03:30 RT still found %d tickets", len(got))
	}
}

func TestNotesAndArticles(t *testing.T) {
	e := setup(t, nil, nil)
	tk := e.create("PROC19 notes", core.TicketRef{})
	e.clock.Add(time.Minute)
	if err := e.c.AddNote(e.ctx, tk.Ref.ID, "public reply", true); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if err := e.c.AddNote(e.ctx, tk.Ref.ID, "internal comment", false); err != nil {
		t.Fatal(err)
	}
	e.raw("POST", "/ticket/1/comment", `{"Content":"<p>Hello &amp; <b>bye</b></p><script>x()</script>","ContentType":"text/html"}`)

	arts, err := e.c.Articles(e.ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		body     string
		internal bool
	}{{"body of PROC19 notes", false}, {"public reply", false}, {"internal comment", true}, {"Hello & bye", true}}
	if len(arts) != len(want) {
		t.Fatalf("articles %+v", arts)
	}
	for i, w := range want {
		a := arts[i]
		if a.Body != w.body || a.Internal != w.internal || a.Author != "root" {
			t.Errorf("article %d: %+v, want %+v", i, a, w)
		}
		if i > 0 && a.ID <= arts[i-1].ID {
			t.Errorf("ids not ascending: %+v", arts)
		}
	}
	if !arts[1].CreatedAt.Equal(time.Date(2026, 11, 22, 10, 1, 0, 0, time.UTC)) {
		t.Errorf("created %v", arts[1].CreatedAt)
	}
	// A public reply on a new ticket opens it, as RT does.
	got, _ := e.c.Get(e.ctx, tk.Ref.ID)
	if got.State != "open" {
		t.Errorf("state after reply %q", got.State)
	}
}

func TestLinkAndChildren(t *testing.T) {
	e := setup(t, nil, nil)
	p := e.create("PROC19 parent", core.TicketRef{})
	p2 := e.create("PROC19 second parent", core.TicketRef{})
	c1 := e.create("PROC19 child one", p.Ref)
	c2 := e.create("PROC19 child two", core.TicketRef{})

	if err := e.c.Link(e.ctx, p.Ref, c2.Ref); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Link(e.ctx, p.Ref, c2.Ref); err != nil {
		t.Fatalf("second link: %v", err)
	}
	kids, err := e.c.Children(e.ctx, p.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(kids) != 2 || kids[0] != c1.Ref || kids[1] != c2.Ref {
		t.Errorf("children %v", kids)
	}
	// A second parent must not take the child from the first.
	if err := e.c.Link(e.ctx, p2.Ref, c1.Ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		parent core.Ticket
		want   int
	}{{p, 2}, {p2, 1}} {
		kids, err := e.c.Children(e.ctx, c.parent.Ref.ID)
		if err != nil || len(kids) != c.want {
			t.Errorf("children of %s: %v %v", c.parent.Ref, kids, err)
		}
	}
	// From the child's side RT lists both parents.
	body := e.raw("GET", "/ticket/"+c1.Ref.ID, "")
	for _, id := range []string{p.Ref.ID, p2.Ref.ID} {
		if !strings.Contains(body, `"ref" : "parent"`) && !strings.Contains(body, `"ref": "parent"`) || !strings.Contains(body, "/ticket/"+id+`"`) {
			t.Errorf("child does not show parent %s: %s", id, body)
		}
	}
	kids, err = e.c.Children(e.ctx, c1.Ref.ID)
	if err != nil || len(kids) != 0 {
		t.Errorf("children of a child: %v %v", kids, err)
	}

	err = e.c.Link(e.ctx, p.Ref, core.TicketRef{Tracker: "rt", ID: "999"})
	if !errors.Is(err, core.ErrNotFound) {
		t.Errorf("link to missing child: %v", err)
	}
	err = e.c.Link(e.ctx, p.Ref, core.TicketRef{Tracker: "ggus", ID: "5"})
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("link across trackers: %v", err)
	}
}

func TestCreateWithParents(t *testing.T) {
	e := setup(t, nil, nil)
	tk, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "orphan", Body: "x",
		Parent: core.TicketRef{Tracker: "rt", ID: "4242"}})
	if !errors.Is(err, core.ErrNotFound) || !strings.Contains(err.Error(), "4242") {
		t.Errorf("missing parent: %v", err)
	}
	if tk.Ref.ID != "1" {
		t.Errorf("the created ticket should still be returned: %+v", tk)
	}
	_, err = e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "from ggus", Body: "x",
		Parent: core.TicketRef{Tracker: "ggus", ID: "77", Number: "10077"}, ParentURL: "https://ggus.example/#ticket/zoom/77"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.raw("GET", "/ticket/2", ""), "https://ggus.example/#ticket/zoom/77") {
		t.Error("refers-to link to the GGUS parent missing")
	}
}

func TestSetState(t *testing.T) {
	e := setup(t, nil, nil)
	tk := e.create("PROC19 states", core.TicketRef{})
	id := tk.Ref.ID
	steps := []struct {
		state   string
		wantErr error
		want    string
	}{
		{"resolved", nil, "resolved"},
		{"resolved", nil, "resolved"}, // already there: RT answers nothing
		{"open", nil, "open"},         // reopen
		{"bogus", core.ErrInvalid, "open"},
		{"stalled", nil, "stalled"},
	}
	for _, s := range steps {
		err := e.c.SetState(e.ctx, id, s.state)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Errorf("SetState %s: %v, want %v", s.state, err, s.wantErr)
		}
		if s.state == "bogus" && (err == nil || !strings.Contains(err.Error(), "isn't a valid status")) {
			t.Errorf("bogus: the message should be RT's: %v", err)
		}
		got, err := e.c.Get(e.ctx, id)
		if err != nil || got.State != s.want {
			t.Errorf("after %s: %q %v", s.state, got.State, err)
		}
	}
	dep := e.create("PROC19 dependency", core.TicketRef{})
	e.raw("PUT", "/ticket/"+id, `{"AddDependsOn":`+dep.Ref.ID+`}`)
	err := e.c.SetState(e.ctx, id, "resolved")
	if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "unresolved dependencies") {
		t.Errorf("blocked by dependency: %v", err)
	}
}

func TestErrors(t *testing.T) {
	e := setup(t, nil, nil)
	e.create("PROC19 exists", core.TicketRef{})

	_, err := e.c.Create(e.ctx, core.NewTicket{Queue: "NoSuchQueue", Title: "x", Body: "y"})
	const want = `rt: create ticket in queue "NoSuchQueue": not allowed: No permission to create tickets in the queue 'NoSuchQueue' (HTTP 403)`
	if !errors.Is(err, core.ErrForbidden) || err.Error() != want {
		t.Errorf("unknown queue:\n got %v\nwant %s", err, want)
	}
	noSecrets(t, err)

	for name, call := range map[string]func() error{
		"Get":      func() error { _, err := e.c.Get(e.ctx, "404"); return err },
		"Articles": func() error { _, err := e.c.Articles(e.ctx, "404"); return err },
		"AddNote":  func() error { return e.c.AddNote(e.ctx, "404", "x", true) },
		"SetState": func() error { return e.c.SetState(e.ctx, "404", "open") },
		"Children": func() error { _, err := e.c.Children(e.ctx, "404"); return err },
		"Link": func() error {
			return e.c.Link(e.ctx, core.TicketRef{Tracker: "rt", ID: "404"}, core.TicketRef{Tracker: "rt", ID: "1"})
		},
	} {
		err := call()
		if !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s on a missing ticket: %v", name, err)
		}
		noSecrets(t, err)
	}
	if _, err := e.c.Get(e.ctx, "abc"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("non-numeric id: %v", err)
	}

	for name, cfg := range map[string]rt.Config{
		"bad token":      {URL: e.sim.URL(), Token: "1-14-0123456789abcdef0123456789abcdeX"},
		"wrong password": {URL: e.sim.URL(), User: "root", Password: password + "x"},
	} {
		c, err := rt.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(e.ctx, "1")
		if !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
		noSecrets(t, err)
		for _, s := range []string{cfg.Token, cfg.Password} {
			if s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("%s: error shows the credential: %v", name, err)
			}
		}
	}
	good, _ := rt.New(rt.Config{URL: e.sim.URL(), User: "root", Password: password})
	if _, err := good.Get(e.ctx, "1"); err != nil {
		t.Errorf("basic auth: %v", err)
	}

	if _, err := rt.New(rt.Config{URL: e.sim.URL()}); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("no credentials: %v", err)
	}
}

func TestUnavailable(t *testing.T) {
	e := setup(t, nil, func(c *rt.Config) { c.Timeout = 300 * time.Millisecond; c.ReadRetries = -1 })
	e.create("PROC19 there", core.TicketRef{})
	for _, k := range []rtsim.FaultKind{rtsim.Fault500, rtsim.Fault502, rtsim.Fault503, rtsim.Fault429, rtsim.FaultDrop, rtsim.FaultSlow} {
		e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{k}, Delay: 30 * time.Second})
		_, err := e.c.Get(e.ctx, "1")
		if !errors.Is(err, core.ErrUnavailable) {
			t.Errorf("fault %d: %v", k, err)
		}
		noSecrets(t, err)
	}

	// The answer to a create is lost after RT made the ticket: the client
	// must report failure without trying again, or there would be two.
	// (Go's transport may itself replay an idempotent GET once on a dropped
	// keep-alive connection, so only the POST is counted.)
	e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault502}, After: true, Methods: []string{"POST"}})
	before := e.sim.FaultCount()
	_, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "PROC19 once", Body: "x"})
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("lost create answer: %v", err)
	}
	if n := e.sim.FaultCount() - before; n != 1 {
		t.Errorf("POSTs sent %d, want 1: no retries of a create", n)
	}
	e.sim.SetFaults(rtsim.Faults{})
	got, err := e.c.Changed(e.ctx, "PROC19 once", time.Time{})
	if err != nil || len(got) != 1 {
		t.Errorf("tickets made by one lost create: %d %v", len(got), err)
	}

	e.sim.Close()
	_, err = e.c.Get(e.ctx, "1")
	if !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("server gone: %v", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	if _, err := e.c.Get(ctx, "1"); !errors.Is(err, context.Canceled) || !errors.Is(err, core.ErrUnavailable) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestRetries(t *testing.T) {
	e := setup(t, nil, func(c *rt.Config) { c.RetryWait, c.RetryMaxWait = time.Millisecond, 5*time.Millisecond })
	parent := e.create("PROC19 retries", core.TicketRef{})
	child := e.create("PROC19 retries child", core.TicketRef{})
	all := []rtsim.FaultKind{rtsim.Fault500, rtsim.Fault502, rtsim.Fault503, rtsim.Fault429, rtsim.FaultDrop}
	cases := []struct {
		name   string
		call   func() error
		method string
		path   string
		want   int
	}{
		{"a failing create is sent once", func() error {
			_, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "PROC19 x", Body: "x"})
			return err
		}, "POST", "/ticket", 1},
		{"a failing comment is sent once", func() error { return e.c.AddNote(e.ctx, parent.Ref.ID, "x", false) }, "POST", "/ticket/", 1},
		{"a failing state change is sent once", func() error { return e.c.SetState(e.ctx, parent.Ref.ID, "open") }, "PUT", "/ticket/", 1},
		{"a failing search is tried four times", func() error { _, err := e.c.Changed(e.ctx, "PROC19", time.Time{}); return err }, "GET", "/tickets", 4},
		{"a failing read is tried four times", func() error { _, err := e.c.Get(e.ctx, parent.Ref.ID); return err }, "GET", "/ticket/", 4},
	}
	for _, kind := range all {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("fault %d/%s", kind, tc.name), func(t *testing.T) {
				e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{kind}})
				defer e.sim.SetFaults(rtsim.Faults{})
				before := e.sim.CountRequests(tc.method, tc.path)
				if err := tc.call(); !errors.Is(err, core.ErrUnavailable) {
					t.Fatalf("err %v", err)
				}
				n := e.sim.CountRequests(tc.method, tc.path) - before
				// Go's transport itself sends a GET again once when a reused
				// connection is dropped; it never does so for a POST or PUT.
				if n != tc.want && !(kind == rtsim.FaultDrop && tc.method == "GET" && n > tc.want && n <= 2*tc.want) {
					t.Errorf("%d requests, want %d", n, tc.want)
				}
			})
		}
	}
	t.Run("a link whose answer is lost is sent once", func(t *testing.T) {
		e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.FaultDrop}, After: true, Methods: []string{"PUT"}})
		defer e.sim.SetFaults(rtsim.Faults{})
		before := e.sim.CountRequests("PUT", "/ticket/")
		if err := e.c.Link(e.ctx, parent.Ref, child.Ref); !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
		if n := e.sim.CountRequests("PUT", "/ticket/") - before; n != 1 {
			t.Errorf("%d PUTs, want 1", n)
		}
		e.sim.SetFaults(rtsim.Faults{})
		kids, err := e.c.Children(e.ctx, parent.Ref.ID)
		if err != nil || len(kids) != 1 {
			t.Errorf("children %v %v: the lost answer's link is there", kids, err)
		}
	})
	for _, kind := range all {
		t.Run(fmt.Sprintf("fault %d/a read succeeds after three faults", kind), func(t *testing.T) {
			e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{kind}, Max: 3})
			defer e.sim.SetFaults(rtsim.Faults{})
			before := e.sim.CountRequests("GET", "/ticket/"+parent.Ref.ID)
			got, err := e.c.Get(e.ctx, parent.Ref.ID)
			if err != nil || got.Ref != parent.Ref {
				t.Fatalf("Get: %v %+v", err, got.Ref)
			}
			if n := e.sim.CountRequests("GET", "/ticket/"+parent.Ref.ID) - before; n < 2 || n > 4 {
				t.Errorf("%d reads of the ticket, want 2 to 4", n)
			}
		})
	}
	t.Run("a search succeeds after three faults", func(t *testing.T) {
		e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault503, rtsim.Fault500, rtsim.FaultDrop}, Max: 3})
		defer e.sim.SetFaults(rtsim.Faults{})
		got, err := e.c.Changed(e.ctx, "PROC19 retries", time.Time{})
		if err != nil || len(got) != 2 {
			t.Fatalf("Changed: %d tickets, %v", len(got), err)
		}
	})
	t.Run("a timed-out read is retried", func(t *testing.T) {
		c, err := rt.New(rt.Config{URL: e.sim.URL(), Token: token, Timeout: 100 * time.Millisecond, RetryWait: time.Millisecond, RetryMaxWait: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.FaultSlow}, Delay: time.Minute, Max: 2})
		defer e.sim.SetFaults(rtsim.Faults{})
		before := e.sim.CountRequests("GET", "/ticket/"+parent.Ref.ID)
		if _, err := c.Get(e.ctx, parent.Ref.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.sim.CountRequests("GET", "/ticket/"+parent.Ref.ID) - before; n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("no retries when told so", func(t *testing.T) {
		c, err := rt.New(rt.Config{URL: e.sim.URL(), Token: token, ReadRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault503}})
		defer e.sim.SetFaults(rtsim.Faults{})
		before := e.sim.CountRequests("GET", "/ticket/")
		if _, err := c.Get(e.ctx, parent.Ref.ID); !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
		if n := e.sim.CountRequests("GET", "/ticket/") - before; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestRetryAfter checks that a 429's Retry-After is what the client waits,
// capped at RetryMaxWait, by the waits resty is handed and the number of
// attempts: nothing here measures time.
func TestRetryAfter(t *testing.T) {
	e := setup(t, nil, nil)
	tk := e.create("PROC19 retry after", core.TicketRef{})
	for _, tc := range []struct {
		name       string
		retryAfter int
		maxWait    time.Duration
		want       time.Duration
	}{
		{"honoured", 1, 5 * time.Second, time.Second},
		{"capped at the maximum wait", 30, 50 * time.Millisecond, 50 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := rt.New(rt.Config{URL: e.sim.URL(), Token: token, RetryWait: 10 * time.Millisecond, RetryMaxWait: tc.maxWait})
			if err != nil {
				t.Fatal(err)
			}
			var waits []time.Duration
			rt.OnRetryAfter(c, func(d time.Duration) { waits = append(waits, d) })
			e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault429}, RetryAfter: tc.retryAfter, Max: 1})
			defer e.sim.SetFaults(rtsim.Faults{})
			before := e.sim.CountRequests("GET", "/ticket/"+tk.Ref.ID)
			if _, err := c.Get(e.ctx, tk.Ref.ID); err != nil {
				t.Fatal(err)
			}
			if n := e.sim.CountRequests("GET", "/ticket/"+tk.Ref.ID) - before; n != 2 {
				t.Errorf("%d requests, want 2 (a 429, then the answer)", n)
			}
			if len(waits) != 1 || waits[0] != tc.want {
				t.Errorf("waits %v, want one of %v", waits, tc.want)
			}
		})
	}
	t.Run("other failures use the back-off", func(t *testing.T) {
		c, err := rt.New(rt.Config{URL: e.sim.URL(), Token: token, RetryWait: time.Millisecond, RetryMaxWait: 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var waits []time.Duration
		rt.OnRetryAfter(c, func(d time.Duration) { waits = append(waits, d) })
		e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault502, rtsim.Fault503, rtsim.Fault500}, Max: 3})
		defer e.sim.SetFaults(rtsim.Faults{})
		if _, err := c.Get(e.ctx, tk.Ref.ID); err != nil {
			t.Fatal(err)
		}
		if len(waits) != 0 {
			t.Errorf("waits %v asked for without a Retry-After", waits)
		}
	})
}

// TestProxyEchoingCredentials: a proxy in front of RT that shows the
// request's headers in its error page must not put them in procbot's errors.
func TestProxyEchoingCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html>upstream failed; request had Authorization: %s</html>", r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	for _, cfg := range []rt.Config{
		{URL: srv.URL + "/REST/2.0", Token: token, ReadRetries: -1},
		{URL: srv.URL + "/REST/2.0", User: "root", Password: password, ReadRetries: -1},
	} {
		c, err := rt.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Get(context.Background(), "1")
		if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "Authorization") {
			t.Fatalf("err %v, want the proxy's page", err)
		}
		noSecrets(t, err)
		if basic := base64.StdEncoding.EncodeToString([]byte("root:" + password)); strings.Contains(err.Error(), basic) {
			t.Errorf("error shows the basic-auth header: %v", err)
		}
	}
}
