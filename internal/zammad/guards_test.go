package zammad_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/trackertest"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// TestRedirectsAreNotFollowed: GGUS (or what stands at its URL) answers
// every request with a redirect to another port of the same host, where Go
// would send the token along. procbot follows none: the other listener sees
// no request, and the error names the request and the target without the
// token.
func TestRedirectsAreNotFollowed(t *testing.T) {
	f := setup(t, func(c *zammad.Config) { c.ReadRetries = -1 })
	parent := f.create(t, "parent "+requestSuffix, opsGroup)
	child := f.create(t, "child", opsGroup)
	// The other listener answers like a Zammad would.
	rec := trackertest.NewRedirectTarget(t, func(r *http.Request) string {
		if strings.Contains(r.URL.Path, "search") || strings.Contains(r.URL.Path, "by_ticket") {
			return "[]"
		}
		return `{"id": 1, "number": "1", "title": "t", "group": "g", "state": "new", "ticket_id": 1}`
	})
	f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultRedirect},
		RedirectTo: rec.URL + "/api/v1/steal?token=" + robotToken})
	ctx := context.Background()

	trackertest.CheckRedirectsRefused(t, "ggus", rec, rec.URL+"/api/v1/steal", []trackertest.Call{
		{Name: "read a ticket", Request: "GET /tickets/" + parent.Ref.ID, Do: func() error { _, err := f.c.Get(ctx, parent.Ref.ID); return err }},
		{Name: "search", Request: "POST /tickets/search", Do: func() error { _, err := f.c.Changed(ctx, "PROC19", f.clk.Now()); return err }},
		{Name: "read articles", Request: "GET /ticket_articles/by_ticket/" + parent.Ref.ID, Do: func() error { _, err := f.c.Articles(ctx, parent.Ref.ID); return err }},
		{Name: "create", Request: "POST /tickets", Do: func() error {
			_, err := f.c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "x", Body: "y", Customer: "alice@example.org"})
			return err
		}},
		{Name: "note", Request: "POST /ticket_articles", Do: func() error { return f.c.AddNote(ctx, parent.Ref.ID, "hello", true) }},
		{Name: "state", Request: "PUT /tickets/" + parent.Ref.ID, Do: func() error { return f.c.SetState(ctx, parent.Ref.ID, "closed") }},
		{Name: "link", Request: "GET /links", Do: func() error { return f.c.Link(ctx, parent.Ref, child.Ref) }},
	}, func(t *testing.T, err error) {
		if strings.Contains(fmt.Sprintf("%v %+v", err, err), robotToken) {
			t.Errorf("error shows the token: %v", err)
		}
	})
}

// streamer answers with size bytes of a JSON array whose first string never
// ends.
func streamer(size int) http.HandlerFunc {
	return trackertest.Streamer(`[{"id": 1, "title": "`, size)
}

// TestAnswersAreBounded: a server that streams 200 MB in answer to every
// request costs procbot less than 100 MB, and the error names the tracker
// and the request.
func TestAnswersAreBounded(t *testing.T) {
	srv := httptest.NewServer(streamer(trackertest.HugeAnswer))
	defer srv.Close()
	c, err := zammad.New(zammad.Config{URL: srv.URL + "/api/v1", Token: robotToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	trackertest.CheckAnswersBounded(t, "ggus", []trackertest.Call{
		{Name: "search", Request: "POST /tickets/search", Do: func() error { _, err := c.Changed(ctx, "PROC19", time.Time{}); return err }},
		{Name: "ticket", Request: "GET /tickets/5", Do: func() error { _, err := c.Get(ctx, "5"); return err }},
		{Name: "articles", Request: "GET /tickets/5", Do: func() error { _, err := c.Articles(ctx, "5"); return err }},
		{Name: "own user", Request: "GET /users/me", Do: func() error { _, _, err := c.Me(ctx); return err }},
	})
}

// TestOversizedArticleIsKeptWithoutText: one article too long to read does
// not hide the others: the ticket's articles are read one by one, the long
// one comes back without its text, and a warning names ticket and article.
func TestOversizedArticleIsKeptWithoutText(t *testing.T) {
	huge := streamer(trackertest.HugeAnswer)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/ticket_articles/by_ticket/7", huge)
	mux.HandleFunc("GET /api/v1/ticket_articles/31", huge)
	mux.HandleFunc("GET /api/v1/ticket_articles/32", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 32, "ticket_id": 7, "body": "/approve", "content_type": "text/plain", "created_by": "op@example.org"}`))
	})
	mux.HandleFunc("GET /api/v1/tickets/7", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 7, "number": "7", "title": "t", "group": "Operations", "state": "open", "article_ids": [32, 31]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var logged bytes.Buffer
	c, err := zammad.New(zammad.Config{URL: srv.URL + "/api/v1", Token: robotToken, Log: zerolog.New(&logged)})
	if err != nil {
		t.Fatal(err)
	}
	trackertest.CheckOversizedArticleKept(t, func() ([]core.Article, error) { return c.Articles(context.Background(), "7") }, &logged)
}

// TestWritesNeedConfirmation: a change counts only when Zammad's answer
// confirms it. A redirect, a 200 with an HTML page or a 200 with "{}" in
// answer to a create, note, link or state change is an error.
func TestWritesNeedConfirmation(t *testing.T) {
	answers := []zammadsim.FaultKind{zammadsim.FaultRedirect, zammadsim.FaultHTML200, zammadsim.FaultEmpty200}
	writes := []struct {
		name, method, path string
		call               func(f *fixture, parent, child core.Ticket) error
	}{
		{"create", "POST", "/tickets", func(f *fixture, _, _ core.Ticket) error {
			_, err := f.c.Create(context.Background(), core.NewTicket{Queue: opsGroup, Title: "new", Body: "b"})
			return err
		}},
		{"note", "POST", "/ticket_articles", func(f *fixture, parent, _ core.Ticket) error {
			return f.c.AddNote(context.Background(), parent.Ref.ID, "a note", true)
		}},
		{"link", "POST", "/links/add", func(f *fixture, parent, child core.Ticket) error {
			return f.c.Link(context.Background(), parent.Ref, child.Ref)
		}},
		{"relate", "POST", "/links/add", func(f *fixture, parent, child core.Ticket) error {
			return f.c.Relate(context.Background(), child.Ref, parent.Ref)
		}},
		{"state", "PUT", "/tickets/", func(f *fixture, parent, _ core.Ticket) error {
			return f.c.SetState(context.Background(), parent.Ref.ID, "closed")
		}},
	}
	for _, w := range writes {
		for _, kind := range answers {
			t.Run(w.name+" answered "+string(kind), func(t *testing.T) {
				f := setup(t, nil)
				parent := f.create(t, "parent", opsGroup)
				child := f.create(t, "child", opsGroup)
				f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{kind},
					Methods: []string{w.method}, Paths: []string{w.path}, Max: 1})
				err := w.call(f, parent, child)
				if err == nil {
					t.Fatal("no error: the change was counted as done")
				}
				if !errors.Is(err, core.ErrUnavailable) || !strings.Contains(err.Error(), "ggus") {
					t.Errorf("error %v, want the tracker unavailable, naming ggus", err)
				}
				if f.sim.FaultsInjected() != 1 {
					t.Errorf("%d faults injected, want 1", f.sim.FaultsInjected())
				}
			})
		}
	}
}

// TestOversizedArticlesWithoutIDsFail: when the articles are too long to
// read at once and the ticket does not list them, reading them fails
// instead of returning none.
func TestOversizedArticlesWithoutIDsFail(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/ticket_articles/by_ticket/7", streamer(trackertest.HugeAnswer))
	mux.HandleFunc("GET /api/v1/tickets/7", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 7, "number": "7", "title": "t", "group": "Operations", "state": "open"}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c, err := zammad.New(zammad.Config{URL: srv.URL + "/api/v1", Token: robotToken})
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Articles(context.Background(), "7")
	if err == nil || !strings.Contains(err.Error(), "GET /ticket_articles/by_ticket/7 is longer than") || !strings.Contains(err.Error(), "no article ids") {
		t.Fatalf("articles %v, error %v; want an error naming the request", arts, err)
	}
}
