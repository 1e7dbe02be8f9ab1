package zammad_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/trackertest"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// The client is every tracker its consumers declare: the daemon's poll and
// executor, the daemon's union of both, and the contract suite.
var (
	_ daemon.Poller       = (*zammad.Client)(nil)
	_ daemon.Actor        = (*zammad.Client)(nil)
	_ daemon.Tracker      = (*zammad.Client)(nil)
	_ trackertest.Tracker = (*zammad.Client)(nil)
)

const (
	robotToken    = "s3cret-robot-token-0123456789"
	readerToken   = "s3cret-reader-token-0123456789"
	applicantTok  = "s3cret-applicant-token-0123456789"
	opsGroup      = "Operations"
	gocdbGroup    = "Second Level::Services::EGI Services and Service Components::Configuration Database (GOCDB)"
	robotLogin    = "procbot@example.org"
	requestSuffix = "to EGI Production Infrastructure (PROC19)"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

type fixture struct {
	sim *zammadsim.Server
	clk *fakeClock
	c   *zammad.Client
}

func setup(t *testing.T, cfg func(*zammad.Config)) *fixture {
	t.Helper()
	clk := &fakeClock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	sim := zammadsim.New(zammadsim.Options{
		Groups: []string{opsGroup, gocdbGroup},
		Users: []zammadsim.User{
			{Login: robotLogin, Email: robotLogin, Token: robotToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
			{Login: "reader@example.org", Email: "reader@example.org", Token: readerToken, Agent: true,
				Groups: map[string][]string{opsGroup: {"read"}}},
			{Login: "alice@example.org", Email: "alice@example.org", Token: applicantTok},
		},
		Now: clk.Now,
	})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	f := &fixture{sim: sim, clk: clk}
	f.c = f.client(t, cfg)
	return f
}

func (f *fixture) client(t *testing.T, mutate func(*zammad.Config)) *zammad.Client {
	t.Helper()
	cfg := zammad.Config{URL: f.sim.URL(), Token: robotToken, Timeout: 5 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := zammad.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends a request as another user, for what humans do in the helpdesk.
func (f *fixture) raw(t *testing.T, token, method, path string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, f.sim.URL()+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Token token="+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, m)
	}
	return m
}

func (f *fixture) create(t *testing.T, title, group string) core.Ticket {
	t.Helper()
	tk, err := f.c.Create(context.Background(), core.NewTicket{Queue: group, Title: title, Body: "body of " + title})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestNewChecksConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  zammad.Config
	}{
		{"URL is required", zammad.Config{Token: "x"}},
		{"URL must be http(s)", zammad.Config{URL: "ftp://h/api/v1", Token: "x"}},
		{"token is required", zammad.Config{URL: "https://h/api/v1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := zammad.New(tc.cfg); err == nil {
				t.Error("no error")
			}
		})
	}
	t.Run("name defaults to ggus", func(t *testing.T) {
		c, err := zammad.New(zammad.Config{URL: "https://h/api/v1", Token: "x"})
		if err != nil || c.Name() != "ggus" {
			t.Errorf("%v %v", c, err)
		}
	})
}

func TestMe(t *testing.T) {
	f := setup(t, nil)
	login, id, err := f.c.Me(context.Background())
	if err != nil || login != robotLogin || id == 0 {
		t.Errorf("Me = %q %d %v", login, id, err)
	}
}

func TestCreateAndGet(t *testing.T) {
	f := setup(t, func(c *zammad.Config) { c.WebURL = "https://helpdesk.example.org/" })
	ctx := context.Background()
	created, err := f.c.Create(ctx, core.NewTicket{
		Queue: gocdbGroup, Title: "PROC19 FooStack: GOCDB integration", Body: "Please register FooStack.",
		Tags: []string{"proc19", "proc19-child"}, ParentURL: "https://rt.example.org/Ticket/Display.html?id=7",
		Parent: core.TicketRef{Tracker: "rt", ID: "7"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.c.Get(ctx, created.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := f.sim.Ticket(mustAtoi(t, created.Ref.ID))
	arts := f.sim.Articles(snap.ID)
	checks := []struct {
		name string
		ok   bool
		show any
	}{
		{"reference names the tracker, id and distinct number", created.Ref.Tracker == "ggus" && created.Ref.Number != "" && created.Ref.Number != created.Ref.ID, created.Ref},
		{"queue is the full group path", created.Queue == gocdbGroup && got.Queue == gocdbGroup, got.Queue},
		{"state is read back by name", created.State == "new" && got.State == "new", got.State},
		{"tags are set on create and read back", fmt.Sprint(created.Tags) == "[proc19 proc19-child]" && fmt.Sprint(got.Tags) == "[proc19 proc19-child]", got.Tags},
		{"URL uses the web base and the id", got.URL == "https://helpdesk.example.org/#ticket/zoom/"+created.Ref.ID, got.URL},
		{"timestamps are read", got.CreatedAt.Equal(f.clk.Now()) && got.UpdatedAt.Equal(f.clk.Now()), got.UpdatedAt},
		{"Get agrees with Create", got.Ref == created.Ref && got.Title == created.Title, got},
		{"customer defaults to procbot itself", snap.Customer == robotLogin, snap.Customer},
		{"first article is a public plain-text note", len(arts) == 1 && arts[0].Type == "note" && !arts[0].Internal && arts[0].ContentType == "text/plain", arts},
		{"a parent in another tracker is named by URL in the body", len(arts) == 1 && strings.Contains(arts[0].Body, "https://rt.example.org/Ticket/Display.html?id=7"), arts},
		{"no link is made to a parent in another tracker", len(f.sim.Links()) == 0, f.sim.Links()},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("got %+v", c.show)
			}
		})
	}

	t.Run("an existing customer is named by login", func(t *testing.T) {
		tk, err := f.c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "for alice", Body: "x", Customer: "alice@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := f.sim.Ticket(mustAtoi(t, tk.Ref.ID)); s.Customer != "alice@example.org" {
			t.Errorf("customer %q", s.Customer)
		}
		// Zammad mails the customer only an email article: a note would
		// leave them unaware of the ticket.
		if arts := f.sim.Articles(mustAtoi(t, tk.Ref.ID)); len(arts) != 1 || arts[0].Type != "email" || arts[0].To != "alice@example.org" || arts[0].Internal {
			t.Errorf("first article %+v, want a public email to alice@example.org", arts)
		}
	})
	t.Run("an unknown customer email is created by guess", func(t *testing.T) {
		before := f.sim.CountRequests("POST", "/tickets")
		tk, err := f.c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "for bob", Body: "x", Customer: "bob@example.org"})
		if err != nil {
			t.Fatal(err)
		}
		if s, _ := f.sim.Ticket(mustAtoi(t, tk.Ref.ID)); s.Customer != "bob@example.org" {
			t.Errorf("customer %q", s.Customer)
		}
		if n := f.sim.CountRequests("POST", "/tickets") - before; n != 2 {
			t.Errorf("%d creates sent, want the rejected one and the guess", n)
		}
		if n := len(f.sim.Tickets()); n != 3 {
			t.Errorf("%d tickets exist, want 3", n)
		}
	})
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func titles(ts []core.Ticket) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Title)
	}
	return out
}

func TestChanged(t *testing.T) {
	f := setup(t, func(c *zammad.Config) { c.PerPage = 3 })
	ctx := context.Background()
	a := f.create(t, "Request for integration of Alpha "+requestSuffix, opsGroup)
	f.clk.Advance(time.Minute)
	f.create(t, "Something unrelated", opsGroup)
	f.clk.Advance(time.Minute)
	b := f.create(t, "Request for integration of Beta "+requestSuffix, opsGroup)

	all, err := f.c.Changed(ctx, "(PROC19)", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("first poll returns matching tickets oldest change first", func(t *testing.T) {
		if got := fmt.Sprint(titles(all)); got != fmt.Sprint([]string{a.Title, b.Title}) {
			t.Errorf("got %s", got)
		}
		if all[0].State != "new" || all[0].Queue != opsGroup {
			t.Errorf("names missing: %+v", all[0])
		}
	})

	cursor := all[len(all)-1].UpdatedAt
	f.clk.Advance(time.Minute)
	if err := f.c.AddNote(ctx, a.Ref.ID, "progress", false); err != nil {
		t.Fatal(err)
	}
	next, err := f.c.Changed(ctx, "(PROC19)", cursor.Add(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("incremental poll returns only what changed after the cursor", func(t *testing.T) {
		if len(next) != 1 || next[0].Ref != a.Ref {
			t.Errorf("got %v", titles(next))
		}
	})
	again, err := f.c.Changed(ctx, "(PROC19)", cursor)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the cursor itself is included", func(t *testing.T) {
		if fmt.Sprint(titles(again)) != fmt.Sprint([]string{b.Title, a.Title}) {
			t.Errorf("got %v", titles(again))
		}
	})

	t.Run("paging follows every page", func(t *testing.T) {
		for i := 0; i < 8; i++ {
			f.clk.Advance(time.Second)
			f.create(t, fmt.Sprintf("PROC19 bulk %d (PROC19)", i), opsGroup)
		}
		before := f.sim.CountRequests("POST", "/tickets/search")
		got, err := f.c.Changed(ctx, "(PROC19)", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 10 {
			t.Errorf("%d tickets, want 10: %v", len(got), titles(got))
		}
		for i := 1; i < len(got); i++ {
			if got[i].UpdatedAt.Before(got[i-1].UpdatedAt) {
				t.Errorf("not oldest first at %d: %v", i, titles(got))
			}
		}
		// 10 tickets at 3 per page: pages of 3, 3, 3, 1; the total Zammad
		// counted (with_total_count) ends the list.
		if n := f.sim.CountRequests("POST", "/tickets/search") - before; n != 4 {
			t.Errorf("%d search requests, want 4", n)
		}
	})
	t.Run("an exact multiple of the page size ends with an empty page", func(t *testing.T) {
		f.clk.Advance(time.Second)
		f.create(t, "two (PROC19)", opsGroup)
		f.create(t, "more (PROC19)", opsGroup)
		got, err := f.c.Changed(ctx, "(PROC19)", time.Time{})
		if err != nil || len(got) != 12 {
			t.Errorf("%d tickets, err %v", len(got), err)
		}
	})
}

func TestChangedPagesPastTheServerCap(t *testing.T) {
	f := setup(t, nil)
	for i := 0; i < 205; i++ {
		f.create(t, fmt.Sprintf("bulk %d (PROC19)", i), opsGroup)
	}
	got, err := f.c.Changed(context.Background(), "(PROC19)", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 205 {
		t.Errorf("%d tickets, want 205", len(got))
	}
}

func TestNotesAndArticles(t *testing.T) {
	f := setup(t, nil)
	ctx := context.Background()
	tk := f.create(t, "notes", opsGroup)
	if err := f.c.AddNote(ctx, tk.Ref.ID, "internal progress", false); err != nil {
		t.Fatal(err)
	}
	if err := f.c.AddNote(ctx, tk.Ref.ID, "public answer", true); err != nil {
		t.Fatal(err)
	}
	f.raw(t, robotToken, "PUT", "/tickets/"+tk.Ref.ID, map[string]any{"customer": "alice@example.org"})
	f.raw(t, applicantTok, "POST", "/ticket_articles", map[string]any{
		"ticket_id": mustAtoi(t, tk.Ref.ID), "content_type": "text/html",
		"body": `<div><p>Product name: <b>Foo&amp;Bar</b></p><p>Contact:&nbsp;Alice</p><ul><li>one</li><li>two</li></ul>` +
			`<script>alert("x")</script><style>p{}</style>line<br>break</div>`,
	})
	arts, err := f.c.Articles(ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 4 {
		t.Fatalf("%d articles: %+v", len(arts), arts)
	}
	cases := []struct {
		name string
		a    core.Article
		body string
		auth string
		intl bool
	}{
		{"the first article is the description", arts[0], "body of notes", robotLogin, false},
		{"a private note is internal", arts[1], "internal progress", robotLogin, true},
		{"a public note is not internal", arts[2], "public answer", robotLogin, false},
		{"an HTML body is converted to text", arts[3], "Product name: Foo&Bar\nContact: Alice\none\ntwo\nline\nbreak", "alice@example.org", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.a.Body != tc.body || tc.a.Author != tc.auth || tc.a.Internal != tc.intl {
				t.Errorf("got %+v", tc.a)
			}
		})
	}
	t.Run("articles are oldest first", func(t *testing.T) {
		for i := 1; i < len(arts); i++ {
			if arts[i].ID <= arts[i-1].ID {
				t.Errorf("order %d after %d", arts[i].ID, arts[i-1].ID)
			}
		}
	})
}

func TestLinkAndChildren(t *testing.T) {
	f := setup(t, nil)
	ctx := context.Background()
	parent := f.create(t, "Request for integration of Foo "+requestSuffix, opsGroup)
	before := len(f.sim.Requests())
	child, err := f.c.Create(ctx, core.NewTicket{Queue: gocdbGroup, Title: "PROC19 Foo: GOCDB", Body: "x", Parent: parent.Ref})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("a child takes one request: the create names its parent", func(t *testing.T) {
		if got := f.sim.Requests()[before:]; len(got) != 1 {
			t.Errorf("requests %q", got)
		}
	})
	t.Run("create with a parent in this tracker stores child-of-parent", func(t *testing.T) {
		want := []zammadsim.Link{{Type: "child", Source: mustAtoi(t, child.Ref.ID), Target: mustAtoi(t, parent.Ref.ID)}}
		if got := f.sim.Links(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("links %v, want %v", got, want)
		}
	})
	t.Run("the parent lists the child with its number", func(t *testing.T) {
		kids, err := f.c.Children(ctx, parent.Ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(kids) != 1 || kids[0] != child.Ref {
			t.Errorf("children %v, want [%v]", kids, child.Ref)
		}
	})
	t.Run("the child has no children of its own", func(t *testing.T) {
		kids, err := f.c.Children(ctx, child.Ref.ID)
		if err != nil || len(kids) != 0 {
			t.Errorf("children %v %v", kids, err)
		}
	})
	t.Run("linking again is not an error and adds nothing", func(t *testing.T) {
		before := f.sim.CountRequests("POST", "/links/add")
		if err := f.c.Link(ctx, parent.Ref, child.Ref); err != nil {
			t.Fatal(err)
		}
		if n := f.sim.CountRequests("POST", "/links/add") - before; n != 0 {
			t.Errorf("%d link requests sent", n)
		}
		if len(f.sim.Links()) != 1 {
			t.Errorf("links %v", f.sim.Links())
		}
	})
	t.Run("a child given by id only is looked up for its number", func(t *testing.T) {
		other := f.create(t, "PROC19 Foo: ARGO", opsGroup)
		if err := f.c.Link(ctx, parent.Ref, core.TicketRef{Tracker: "ggus", ID: other.Ref.ID}); err != nil {
			t.Fatal(err)
		}
		kids, err := f.c.Children(ctx, parent.Ref.ID)
		if err != nil || len(kids) != 2 || kids[1] != other.Ref {
			t.Errorf("children %v %v", kids, err)
		}
	})
	t.Run("a link stored in the mirrored form counts as made", func(t *testing.T) {
		third := f.create(t, "PROC19 Foo: APEL", opsGroup)
		f.raw(t, robotToken, "POST", "/links/add", map[string]any{"link_type": "parent", "link_object_source": "Ticket",
			"link_object_source_number": parent.Ref.Number, "link_object_target": "Ticket", "link_object_target_value": mustAtoi(t, third.Ref.ID)})
		if err := f.c.Link(ctx, parent.Ref, third.Ref); err != nil {
			t.Errorf("mirrored link: %v", err)
		}
	})
	t.Run("linking into another tracker is refused", func(t *testing.T) {
		err := f.c.Link(ctx, core.TicketRef{Tracker: "rt", ID: "5"}, child.Ref)
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("err %v", err)
		}
	})
}

func TestSetState(t *testing.T) {
	f := setup(t, nil)
	ctx := context.Background()
	tk := f.create(t, "states", opsGroup)
	id := mustAtoi(t, tk.Ref.ID)
	steps := []struct {
		name  string
		state string
	}{
		{"a ticket can be solved", "solved"},
		{"a closed ticket can be reopened", "reopened"},
		{"and closed again", "closed"},
	}
	var firstClose *time.Time
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			f.clk.Advance(time.Minute)
			if err := f.c.SetState(ctx, tk.Ref.ID, st.state); err != nil {
				t.Fatal(err)
			}
			got, err := f.c.Get(ctx, tk.Ref.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != st.state || !got.UpdatedAt.Equal(f.clk.Now()) {
				t.Errorf("state %q updated %v", got.State, got.UpdatedAt)
			}
			snap, _ := f.sim.Ticket(id)
			if firstClose == nil {
				firstClose = snap.CloseAt
			}
			if snap.CloseAt == nil || !snap.CloseAt.Equal(*firstClose) {
				t.Errorf("close_at %v, want the first close %v", snap.CloseAt, firstClose)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := setup(t, func(c *zammad.Config) { c.ReadRetries = -1 })
	ctx := context.Background()
	tk := f.create(t, "errors", opsGroup)
	var seen []error
	cases := []struct {
		name    string
		client  func() *zammad.Client
		faults  *zammadsim.Faults
		call    func(c *zammad.Client) error
		kind    error
		message string
	}{
		{name: "unknown group is invalid", call: func(c *zammad.Client) error {
			_, err := c.Create(ctx, core.NewTicket{Queue: "No Such SU", Title: "x", Body: "x"})
			return err
		}, kind: core.ErrInvalid,
			message: `ggus: create ticket in group "No Such SU": rejected as invalid: No lookup value found for 'group': "No Such SU" (HTTP 422)`},
		{name: "unknown state is invalid", call: func(c *zammad.Client) error { return c.SetState(ctx, tk.Ref.ID, "done") },
			kind: core.ErrInvalid, message: `ggus: set state of ticket ` + tk.Ref.ID + ` to "done": rejected as invalid: No lookup value found for 'state': "done" (HTTP 422)`},
		{name: "bad token is unauthorized", client: func() *zammad.Client {
			return f.client(t, func(c *zammad.Config) { c.Token = "s3cret-wrong-token" })
		}, call: func(c *zammad.Client) error { _, _, err := c.Me(ctx); return err }, kind: core.ErrUnauthorized,
			message: "ggus: read own user (users/me): credentials refused: Can't find User for Token (HTTP 401)"},
		{name: "missing ticket is not found", call: func(c *zammad.Client) error { _, err := c.Get(ctx, "999999"); return err },
			kind: core.ErrNotFound, message: "ggus: read ticket 999999: not found: Couldn't find Ticket with 'id'=999999 (HTTP 404)"},
		{name: "articles of a missing ticket are not found", call: func(c *zammad.Client) error { _, err := c.Articles(ctx, "999999"); return err },
			kind: core.ErrNotFound},
		{name: "note on a missing ticket is not found", call: func(c *zammad.Client) error { return c.AddNote(ctx, "999999", "x", false) },
			kind: core.ErrNotFound},
		{name: "creating without the right is forbidden", client: func() *zammad.Client {
			return f.client(t, func(c *zammad.Config) { c.Token = readerToken })
		}, call: func(c *zammad.Client) error {
			_, err := c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "x", Body: "x", Customer: "alice@example.org"})
			return err
		}, kind: core.ErrForbidden},
		{name: "a non-numeric id is invalid", call: func(c *zammad.Client) error { _, err := c.Get(ctx, "../users/me"); return err },
			kind: core.ErrInvalid},
		{name: "a 503 is unavailable", faults: &zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault503}},
			call: func(c *zammad.Client) error { _, err := c.Get(ctx, tk.Ref.ID); return err }, kind: core.ErrUnavailable,
			message: "ggus: read ticket " + tk.Ref.ID + ": tracker unavailable: Service Unavailable (HTTP 503)"},
		{name: "a 429 is unavailable", faults: &zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault429}},
			call: func(c *zammad.Client) error { _, err := c.Children(ctx, tk.Ref.ID); return err }, kind: core.ErrUnavailable},
		{name: "a masked 500 is unavailable", faults: &zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault500}},
			call: func(c *zammad.Client) error { return c.AddNote(ctx, tk.Ref.ID, "x", true) }, kind: core.ErrUnavailable},
		{name: "a dropped connection is unavailable", faults: &zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultDrop}},
			call: func(c *zammad.Client) error { _, err := c.Changed(ctx, "x", time.Time{}); return err }, kind: core.ErrUnavailable},
		{name: "a timeout is unavailable", faults: &zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultSlow}, SlowDelay: time.Minute},
			client: func() *zammad.Client {
				return f.client(t, func(c *zammad.Config) { c.Timeout = 100 * time.Millisecond; c.ReadRetries = -1 })
			}, call: func(c *zammad.Client) error { return c.SetState(ctx, tk.Ref.ID, "open") }, kind: core.ErrUnavailable},
		{name: "a refused connection is unavailable", client: func() *zammad.Client {
			return f.client(t, func(c *zammad.Config) { c.URL = "http://127.0.0.1:1/api/v1"; c.ReadRetries = -1 })
		}, call: func(c *zammad.Client) error { _, err := c.Get(ctx, "1"); return err }, kind: core.ErrUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := f.c
			if tc.client != nil {
				c = tc.client()
			}
			if tc.faults != nil {
				f.sim.SetFaults(*tc.faults)
				defer f.sim.SetFaults(zammadsim.Faults{})
			}
			err := tc.call(c)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err %v, want kind %v", err, tc.kind)
			}
			if tc.message != "" && err.Error() != tc.message {
				t.Errorf("message\n got %s\nwant %s", err, tc.message)
			}
			seen = append(seen, err)
		})
	}
	t.Run("no error text contains a token", func(t *testing.T) {
		if len(seen) != len(cases) {
			t.Fatalf("only %d of %d cases produced an error", len(seen), len(cases))
		}
		for _, err := range seen {
			for _, tok := range []string{robotToken, readerToken, "s3cret"} {
				if strings.Contains(err.Error(), tok) || strings.Contains(fmt.Sprintf("%+v", err), tok) {
					t.Errorf("error shows a token: %v", err)
				}
			}
		}
	})
}

func TestRetries(t *testing.T) {
	f := setup(t, func(c *zammad.Config) { c.RetryWait, c.RetryMaxWait = time.Millisecond, 5*time.Millisecond })
	ctx := context.Background()
	tk := f.create(t, "retries", opsGroup)
	// Every kind of failure at once: resty retries any method on a
	// transport error unless told otherwise.
	all := []zammadsim.FaultKind{zammadsim.Fault500, zammadsim.Fault502, zammadsim.Fault503, zammadsim.Fault429, zammadsim.FaultDrop}
	cases := []struct {
		name   string
		call   func() error
		method string
		path   string
		want   int
	}{
		{"a failing note is sent once", func() error { return f.c.AddNote(ctx, tk.Ref.ID, "x", false) }, "POST", "/ticket_articles", 1},
		{"a failing create is sent once", func() error {
			_, err := f.c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "x", Body: "x", Customer: "alice@example.org"})
			return err
		}, "POST", "/tickets", 1},
		{"a failing state change is sent once", func() error { return f.c.SetState(ctx, tk.Ref.ID, "open") }, "PUT", "/tickets/", 1},
		{"a failing condition search is tried four times", func() error { _, err := f.c.Changed(ctx, "x", time.Time{}); return err }, "POST", "/tickets/search", 4},
		{"a failing read is tried four times", func() error { _, err := f.c.Articles(ctx, tk.Ref.ID); return err }, "GET", "/ticket_articles/", 4},
	}
	for _, kind := range all {
		for _, tc := range cases {
			t.Run(string(kind)+"/"+tc.name, func(t *testing.T) {
				f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{kind}})
				defer f.sim.SetFaults(zammadsim.Faults{})
				before := f.sim.CountRequests(tc.method, tc.path)
				if err := tc.call(); !errors.Is(err, core.ErrUnavailable) {
					t.Fatalf("err %v", err)
				}
				n := f.sim.CountRequests(tc.method, tc.path) - before
				// Go's transport itself sends a GET again once when a reused
				// connection is dropped; it never does so for a POST or PUT.
				if n != tc.want && !(kind == zammadsim.FaultDrop && tc.method == "GET" && n > tc.want && n <= 2*tc.want) {
					t.Errorf("%d requests, want %d", n, tc.want)
				}
			})
		}
	}
	t.Run("a lost answer to a create is not retried", func(t *testing.T) {
		f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultDrop, zammadsim.Fault502}, After: true, Methods: []string{"POST"}})
		defer f.sim.SetFaults(zammadsim.Faults{})
		before := f.sim.CountRequests("POST", "/tickets")
		if _, err := f.c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "made once", Body: "x", Customer: "alice@example.org"}); !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
		if n := f.sim.CountRequests("POST", "/tickets") - before; n != 1 {
			t.Errorf("%d creates sent, want 1", n)
		}
		f.sim.SetFaults(zammadsim.Faults{})
		found := 0
		for _, tk := range f.sim.Tickets() {
			if tk.Title == "made once" {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%d tickets made, want 1", found)
		}
	})
	for _, kind := range all {
		t.Run(string(kind)+"/a read succeeds after three faults", func(t *testing.T) {
			f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{kind}, Max: 3})
			defer f.sim.SetFaults(zammadsim.Faults{})
			before := f.sim.CountRequests("GET", "/tickets/"+tk.Ref.ID)
			got, err := f.c.Get(ctx, tk.Ref.ID)
			if err != nil || got.Ref != tk.Ref {
				t.Fatalf("Get: %v %+v", err, got.Ref)
			}
			if n := f.sim.CountRequests("GET", "/tickets/"+tk.Ref.ID) - before; n < 2 || n > 4 {
				t.Errorf("%d reads of the ticket, want 2 to 4", n)
			}
			if n := f.sim.FaultsInjected(); n < 3 {
				t.Errorf("%d faults injected, want 3", n)
			}
		})
	}
	t.Run("a search succeeds after three faults", func(t *testing.T) {
		f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault503, zammadsim.Fault500, zammadsim.FaultDrop}, Max: 3})
		defer f.sim.SetFaults(zammadsim.Faults{})
		got, err := f.c.Changed(ctx, "retries", time.Time{})
		if err != nil || len(got) != 1 {
			t.Fatalf("Changed: %d tickets, %v", len(got), err)
		}
	})
	t.Run("a timed-out read is retried", func(t *testing.T) {
		c := f.client(t, func(c *zammad.Config) {
			c.Timeout, c.RetryWait, c.RetryMaxWait = 100*time.Millisecond, time.Millisecond, 5*time.Millisecond
		})
		f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultSlow}, SlowDelay: time.Minute, Max: 2})
		defer f.sim.SetFaults(zammadsim.Faults{})
		before := f.sim.CountRequests("GET", "/ticket_articles/")
		if _, err := c.Articles(ctx, tk.Ref.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.sim.CountRequests("GET", "/ticket_articles/") - before; n != 3 {
			t.Errorf("%d requests, want 3", n)
		}
	})
	t.Run("no retries when told so", func(t *testing.T) {
		c := f.client(t, func(c *zammad.Config) { c.ReadRetries = -1 })
		f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault503}})
		defer f.sim.SetFaults(zammadsim.Faults{})
		before := f.sim.CountRequests("GET", "/ticket_articles/")
		if _, err := c.Articles(ctx, tk.Ref.ID); !errors.Is(err, core.ErrUnavailable) {
			t.Fatalf("err %v", err)
		}
		if n := f.sim.CountRequests("GET", "/ticket_articles/") - before; n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

// TestRetryAfter checks that a 429's Retry-After is what the client waits,
// capped at RetryMaxWait, by the waits resty is handed and the number of
// attempts: nothing here measures time.
func TestRetryAfter(t *testing.T) {
	f := setup(t, nil)
	ctx := context.Background()
	tk := f.create(t, "retry after", opsGroup)
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
			c := f.client(t, func(c *zammad.Config) { c.RetryWait, c.RetryMaxWait = 10*time.Millisecond, tc.maxWait })
			var waits []time.Duration
			zammad.OnRetryAfter(c, func(d time.Duration) { waits = append(waits, d) })
			f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault429}, RetryAfter: tc.retryAfter, Max: 1})
			defer f.sim.SetFaults(zammadsim.Faults{})
			before := f.sim.CountRequests("GET", "/tickets/"+tk.Ref.ID)
			if _, err := c.Get(ctx, tk.Ref.ID); err != nil {
				t.Fatal(err)
			}
			if n := f.sim.CountRequests("GET", "/tickets/"+tk.Ref.ID) - before; n != 2 {
				t.Errorf("%d requests, want 2 (a 429, then the answer)", n)
			}
			if len(waits) != 1 || waits[0] != tc.want {
				t.Errorf("waits %v, want one of %v", waits, tc.want)
			}
		})
	}
	t.Run("other failures use the back-off", func(t *testing.T) {
		c := f.client(t, func(c *zammad.Config) { c.RetryWait, c.RetryMaxWait = time.Millisecond, 5*time.Millisecond })
		var waits []time.Duration
		zammad.OnRetryAfter(c, func(d time.Duration) { waits = append(waits, d) })
		f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault502, zammadsim.Fault503, zammadsim.Fault500}, Max: 3})
		defer f.sim.SetFaults(zammadsim.Faults{})
		if _, err := c.Get(ctx, tk.Ref.ID); err != nil {
			t.Fatal(err)
		}
		if len(waits) != 0 {
			t.Errorf("waits %v asked for without a Retry-After", waits)
		}
	})
}

func TestLinkRacingAnotherWriter(t *testing.T) {
	sim := zammadsim.New(zammadsim.Options{
		Groups: []string{opsGroup},
		Users:  []zammadsim.User{{Login: robotLogin, Token: robotToken, Agent: true, Groups: map[string][]string{"*": {"full"}}}},
	})
	// The link list procbot reads is stale: another writer links the
	// tickets between procbot's read and its write.
	stale := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if stale && r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/links") {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"links":[],"assets":{}}`))
			return
		}
		sim.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := zammad.New(zammad.Config{URL: srv.URL + "/api/v1", Token: robotToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	parent, err := c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "parent", Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	child, err := c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "child", Body: "x", Parent: parent.Ref})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Link(ctx, parent.Ref, child.Ref); err != nil {
		t.Errorf("Link after the link exists: %v", err)
	}
	if n := len(sim.Links()); n != 1 {
		t.Errorf("%d links stored, want 1", n)
	}
	// The create linked the child; Link's links/add was answered 422.
	if n := sim.CountRequests("POST", "/links/add"); n != 1 {
		t.Errorf("%d links/add requests, want 1 (answered 422)", n)
	}
}

// TestProxyEchoingCredentials: a server that repeats the request's
// Authorization in its error must not put the token in procbot's errors.
func TestProxyEchoingCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Failure", "bad "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "refused " + r.Header.Get("Authorization")})
	}))
	defer srv.Close()
	c, err := zammad.New(zammad.Config{URL: srv.URL + "/api/v1", Token: robotToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get(context.Background(), "1")
	if !errors.Is(err, core.ErrUnauthorized) || !strings.Contains(err.Error(), "refused Token token=") {
		t.Fatalf("err %v, want the server's message", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", err, err), robotToken) {
		t.Errorf("error shows the token: %v", err)
	}
}

// TestIgnoredConditionFallsBackToQuery: a server that answers the
// condition search without applying the condition (a proxy that drops the
// body, an older Zammad) returns tickets that do not meet it. procbot does
// not page through every ticket the helpdesk holds: it reads one page,
// logs an error naming the request, and asks the query search Zammad
// documents instead, which finds the ticket by the words of its title;
// the next poll goes to the query search directly. A server that ignores
// the query too fails the poll loudly, on the first page where no ticket
// meets it.
func TestIgnoredConditionFallsBackToQuery(t *testing.T) {
	f := setup(t, nil)
	ctx := context.Background()
	want := f.create(t, "Request for integration of Foo "+requestSuffix, opsGroup)
	for i := range 5 {
		f.create(t, fmt.Sprintf("unrelated ticket %d", i), opsGroup)
	}
	// A near miss: the words of the suffix, not the suffix.
	f.create(t, "EGI Production Infrastructure PROC19 review", opsGroup)
	stripQuery := false
	stripping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tickets/search") {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			delete(body, "condition")
			b, _ := json.Marshal(body)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		if stripQuery {
			q := r.URL.Query()
			q.Del("query")
			r.URL.RawQuery = q.Encode()
		}
		u, _ := url.Parse(f.sim.URL())
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host}).ServeHTTP(w, r)
	}))
	defer stripping.Close()
	u, _ := url.Parse(f.sim.URL())
	var log bytes.Buffer
	c := f.client(t, func(cfg *zammad.Config) {
		cfg.URL, cfg.PerPage, cfg.Log = stripping.URL+u.Path, 2, zerolog.New(&log)
	})
	since := f.clk.Now().Add(-time.Hour)
	posts, gets := f.sim.CountRequests("POST", "/tickets/search"), f.sim.CountRequests("GET", "/tickets/search")

	got, err := c.Changed(ctx, requestSuffix, since)
	if err != nil {
		t.Fatalf("Changed: %v, want the query search's answer", err)
	}
	if len(got) != 1 || got[0].Ref.ID != want.Ref.ID {
		t.Errorf("Changed found %v, want only %s", got, want.Ref)
	}
	if n := f.sim.CountRequests("POST", "/tickets/search") - posts; n != 1 {
		t.Errorf("%d condition searches, want the first page only", n)
	}
	if n := f.sim.CountRequests("GET", "/tickets/search") - gets; n == 0 {
		t.Error("no query search")
	}
	if !strings.Contains(log.String(), `"level":"error"`) || !strings.Contains(log.String(), "POST /tickets/search") {
		t.Errorf("the log does not name the ignored request as an error:\n%s", log.String())
	}

	posts = f.sim.CountRequests("POST", "/tickets/search")
	if got, err := c.Changed(ctx, requestSuffix, since); err != nil || len(got) != 1 {
		t.Errorf("second poll: %v, %v", got, err)
	}
	if n := f.sim.CountRequests("POST", "/tickets/search") - posts; n != 0 {
		t.Errorf("the second poll made %d condition searches, want the query search directly", n)
	}

	stripQuery = true
	gets = f.sim.CountRequests("GET", "/tickets/search")
	_, err = c.Changed(ctx, requestSuffix, since)
	if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "does not meet the search's condition") {
		t.Errorf("Changed with the query ignored too: %v, want an unavailable error saying the answer does not meet the condition", err)
	}
	// Its first page holds the request (the oldest change), its second
	// nothing that meets the query: there it stops, of five pages.
	if n := f.sim.CountRequests("GET", "/tickets/search") - gets; n != 2 {
		t.Errorf("%d query searches with the query ignored, want 2: up to the first page without a ticket that meets it", n)
	}
}

// TestChangedWithoutTotalPagesToAnEmptyPage: a Zammad that does not count
// (no with_total_count) and caps the page size below the one asked for
// answers short pages with more to come: procbot reads on until an empty
// page and misses no ticket.
func TestChangedWithoutTotalPagesToAnEmptyPage(t *testing.T) {
	f := setup(t, nil)
	for i := range 10 {
		f.create(t, fmt.Sprintf("capped %d (PROC19)", i), opsGroup)
	}
	u, _ := url.Parse(f.sim.URL())
	capping := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/tickets/search") {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			delete(body, "with_total_count")
			body["per_page"] = 2 // the server's cap, below the 3 asked for
			b, _ := json.Marshal(body)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}
		httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host}).ServeHTTP(w, r)
	}))
	defer capping.Close()
	c := f.client(t, func(cfg *zammad.Config) { cfg.URL, cfg.PerPage = capping.URL+u.Path, 3 })
	before := f.sim.CountRequests("POST", "/tickets/search")
	got, err := c.Changed(context.Background(), "(PROC19)", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Errorf("%d tickets, want 10", len(got))
	}
	if n := f.sim.CountRequests("POST", "/tickets/search") - before; n != 6 {
		t.Errorf("%d search requests, want 6: five pages of 2 and the empty one", n)
	}
}
