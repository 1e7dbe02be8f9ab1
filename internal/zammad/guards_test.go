package zammad_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// recorder is a second listener that notes every request it gets and
// answers like a Zammad would, so that a client which follows a redirect
// to it would see success.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD /path Authorization: …"
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path+" Authorization: "+r.Header.Get("Authorization"))
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(r.URL.Path, "search") || strings.Contains(r.URL.Path, "by_ticket") {
			_, _ = w.Write([]byte("[]"))
			return
		}
		_, _ = w.Write([]byte(`{"id": 1, "number": "1", "title": "t", "group": "g", "state": "new", "ticket_id": 1}`))
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// TestRedirectsAreNotFollowed: GGUS (or what stands at its URL) answers
// every request with a redirect to another port of the same host, where Go
// would send the token along. procbot follows none: the other listener sees
// no request, and the error names the request and the target without the
// token.
func TestRedirectsAreNotFollowed(t *testing.T) {
	f := setup(t, func(c *zammad.Config) { c.ReadRetries = -1 })
	parent := f.create(t, "parent "+requestSuffix, opsGroup)
	child := f.create(t, "child", opsGroup)
	rec := newRecorder(t)
	f.sim.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultRedirect},
		RedirectTo: rec.srv.URL + "/api/v1/steal?token=" + robotToken})
	ctx := context.Background()

	for _, tc := range []struct {
		name    string
		request string
		call    func() error
	}{
		{"read a ticket", "GET /tickets/" + parent.Ref.ID, func() error { _, err := f.c.Get(ctx, parent.Ref.ID); return err }},
		{"search", "POST /tickets/search", func() error { _, err := f.c.Changed(ctx, "PROC19", f.clk.Now()); return err }},
		{"read articles", "GET /ticket_articles/by_ticket/" + parent.Ref.ID, func() error { _, err := f.c.Articles(ctx, parent.Ref.ID); return err }},
		{"create", "POST /tickets", func() error {
			_, err := f.c.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "x", Body: "y", Customer: "alice@example.org"})
			return err
		}},
		{"note", "POST /ticket_articles", func() error { return f.c.AddNote(ctx, parent.Ref.ID, "hello", true) }},
		{"state", "PUT /tickets/" + parent.Ref.ID, func() error { return f.c.SetState(ctx, parent.Ref.ID, "closed") }},
		{"link", "GET /links", func() error { return f.c.Link(ctx, parent.Ref, child.Ref) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error, want one naming the redirect")
			}
			msg := err.Error()
			for _, want := range []string{"ggus", tc.request, "redirect", rec.srv.URL + "/api/v1/steal"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if strings.Contains(fmt.Sprintf("%v %+v", err, err), robotToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
	if seen := rec.requests(); len(seen) > 0 {
		t.Errorf("the other listener got %d requests, want none: %q", len(seen), seen)
	}
}

// streamer answers with size bytes of a JSON array whose first string never
// ends, written
// in chunks, without a Content-Length: what a broken or hostile tracker
// might send.
func streamer(size int) http.HandlerFunc {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write([]byte(`[{"id": 1, "title": "`)); err != nil {
			return
		}
		for n := 1; n < size; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client stopped reading
			}
		}
	}
}

// allocated is how many bytes call allocates on the heap, counted by the
// runtime: an upper bound of what it holds at any moment.
func allocated(call func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	call()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

const (
	hugeAnswer = 200 << 20
	memBudget  = 100 << 20
)

// TestAnswersAreBounded: a server that streams 200 MB in answer to every
// request costs procbot less than 100 MB, and the error names the tracker
// and the request.
func TestAnswersAreBounded(t *testing.T) {
	srv := httptest.NewServer(streamer(hugeAnswer))
	defer srv.Close()
	c, err := zammad.New(zammad.Config{URL: srv.URL + "/api/v1", Token: robotToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, request string
		call          func() error
	}{
		{"search", "POST /tickets/search", func() error { _, err := c.Changed(ctx, "PROC19", time.Time{}); return err }},
		{"ticket", "GET /tickets/5", func() error { _, err := c.Get(ctx, "5"); return err }},
		{"articles", "GET /tickets/5", func() error { _, err := c.Articles(ctx, "5"); return err }},
		{"own user", "GET /users/me", func() error { _, _, err := c.Me(ctx); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() { err = tc.call() })
			t.Logf("allocated %.1f MiB for a %d MiB answer", float64(n)/(1<<20), hugeAnswer>>20)
			if n > memBudget {
				t.Errorf("allocated %d MiB, want under %d MiB", n>>20, memBudget>>20)
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range []string{"ggus", tc.request, "longer than"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

// TestOversizedArticleIsKeptWithoutText: one article too long to read does
// not hide the others: the ticket's articles are read one by one, the long
// one comes back without its text, and a warning names ticket and article.
func TestOversizedArticleIsKeptWithoutText(t *testing.T) {
	huge := streamer(hugeAnswer)
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
	var arts []core.Article
	n := allocated(func() { arts, err = c.Articles(context.Background(), "7") })
	t.Logf("allocated %.1f MiB", float64(n)/(1<<20))
	if n > memBudget {
		t.Errorf("allocated %d MiB, want under %d MiB", n>>20, memBudget>>20)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].ID != 31 || arts[0].Body != "" || arts[1].ID != 32 || arts[1].Body != "/approve" {
		t.Fatalf("articles %+v, want 31 without text and 32 with its text", arts)
	}
	for _, want := range []string{`"ticket":7`, `"article":31`, "without its text"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log %q lacks %s", logged.String(), want)
		}
	}
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
	mux.HandleFunc("GET /api/v1/ticket_articles/by_ticket/7", streamer(hugeAnswer))
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
