package rt_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/trackertest"
)

// TestRedirectsAreNotFollowed: RT (or what stands at its URL) answers every
// request with a redirect to another port of the same host, where Go would
// send the credentials along. procbot follows none, with a token or with a
// password: the other listener sees no request, and the error names the
// request and the target without the credentials.
func TestRedirectsAreNotFollowed(t *testing.T) {
	for _, auth := range []struct {
		name   string
		tweak  func(*rt.Config)
		secret string // the credential that a redirect's Location repeats
	}{
		{"token", func(c *rt.Config) { c.ReadRetries = -1 }, token},
		{"password", func(c *rt.Config) { c.ReadRetries, c.Token, c.User, c.Password = -1, "", "root", password }, password},
	} {
		t.Run(auth.name, func(t *testing.T) {
			e := setup(t, time.UTC, auth.tweak)
			parent := e.create("parent", core.TicketRef{})
			child := e.create("child", core.TicketRef{})
			// The other listener answers like RT would.
			rec := trackertest.NewRedirectTarget(t, func(*http.Request) string {
				return `{"id": 1, "Subject": "t", "Status": "new", "total": 0, "items": []}`
			})
			e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.FaultRedirect},
				RedirectTo: rec.URL + "/REST/2.0/steal?auth=" + auth.secret})
			id := parent.Ref.ID
			trackertest.CheckRedirectsRefused(t, "rt: ", rec, rec.URL+"/REST/2.0/steal", []trackertest.Call{
				{Name: "read a ticket", Request: "GET /ticket/" + id, Do: func() error { _, err := e.c.Get(e.ctx, id); return err }},
				{Name: "search", Request: "GET /tickets", Do: func() error { _, err := e.c.Changed(e.ctx, "parent", time.Time{}); return err }},
				{Name: "read articles", Request: "GET /ticket/" + id + "/history", Do: func() error { _, err := e.c.Articles(e.ctx, id); return err }},
				{Name: "create", Request: "POST /ticket", Do: func() error {
					_, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "x", Body: "y"})
					return err
				}},
				{Name: "note", Request: "POST /ticket/" + id + "/correspond", Do: func() error { return e.c.AddNote(e.ctx, id, "hello", true) }},
				{Name: "state", Request: "PUT /ticket/" + id, Do: func() error { return e.c.SetState(e.ctx, id, "resolved") }},
				{Name: "link", Request: "GET /ticket/" + id, Do: func() error { return e.c.Link(e.ctx, parent.Ref, child.Ref) }},
			}, noSecrets)
		})
	}
}

// streamer answers with size bytes of a JSON object whose first string
// never ends.
func streamer(size int) http.HandlerFunc {
	return trackertest.Streamer(`{"total": 1, "items": [{"id": "1", "Content": "`, size)
}

// TestAnswersAreBounded: a server that streams 200 MB in answer to every
// request costs procbot less than 100 MB, and the error names the tracker
// and the request.
func TestAnswersAreBounded(t *testing.T) {
	srv := httptest.NewServer(streamer(trackertest.HugeAnswer))
	defer srv.Close()
	c, err := rt.New(rt.Config{URL: srv.URL + "/REST/2.0", Token: token})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	trackertest.CheckAnswersBounded(t, "rt: ", []trackertest.Call{
		{Name: "search", Request: "GET /tickets", Do: func() error { _, err := c.Changed(ctx, "PROC19", time.Time{}); return err }},
		{Name: "ticket", Request: "GET /ticket/5", Do: func() error { _, err := c.Get(ctx, "5"); return err }},
		{Name: "history", Request: "GET /ticket/5/history", Do: func() error { _, err := c.Articles(ctx, "5"); return err }},
		{Name: "ping", Request: "GET /rt", Do: func() error { _, err := c.Ping(ctx); return err }},
		{Name: "answer to a change", Request: "POST /ticket/5/comment", Do: func() error { return c.AddNote(ctx, "5", "x", false) }},
	})
}

// TestOversizedArticleIsKeptWithoutText: one transaction too long to read
// does not hide the others: it comes back without its text, and a warning
// names ticket and transaction.
func TestOversizedArticleIsKeptWithoutText(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /REST/2.0/ticket/7/history", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"total": 2, "count": 2, "page": 1, "per_page": 100, "items": [
			{"id": "31", "type": "transaction", "Type": "Correspond", "Creator": {"id": "op"}, "Created": "2026-11-22T10:00:00Z"},
			{"id": "32", "type": "transaction", "Type": "Correspond", "Creator": {"id": "op"}, "Created": "2026-11-22T10:01:00Z"}]}`))
	})
	mux.HandleFunc("GET /REST/2.0/transaction/31/attachments", streamer(trackertest.HugeAnswer))
	mux.HandleFunc("GET /REST/2.0/transaction/32/attachments", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"total": 1, "items": [{"Content": "/approve", "ContentType": "text/plain", "Filename": ""}]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var logged bytes.Buffer
	c, err := rt.New(rt.Config{URL: srv.URL + "/REST/2.0", Token: token, Log: zerolog.New(&logged)})
	if err != nil {
		t.Fatal(err)
	}
	trackertest.CheckOversizedArticleKept(t, func() ([]core.Article, error) { return c.Articles(context.Background(), "7") }, &logged)
}

// TestWritesNeedConfirmation: a change counts only when RT confirms it. A
// redirect, a 200 with an HTML page or a 200 with "{}" in answer to a
// create, note, link or status change is an error.
func TestWritesNeedConfirmation(t *testing.T) {
	answers := []struct {
		name string
		kind rtsim.FaultKind
	}{{"302", rtsim.FaultRedirect}, {"200 html", rtsim.FaultHTML200}, {"200 {}", rtsim.FaultEmpty200}}
	writes := []struct {
		name, method string
		path         func(parent, child core.Ticket) string
		call         func(e *env, parent, child core.Ticket) error
	}{
		{"create", "POST", func(_, _ core.Ticket) string { return "/ticket" }, func(e *env, parent, _ core.Ticket) error {
			_, err := e.c.Create(e.ctx, core.NewTicket{Queue: "PROC19", Title: "new", Body: "b", Parent: parent.Ref})
			return err
		}},
		{"public note", "POST", func(p, _ core.Ticket) string { return "/ticket/" + p.Ref.ID + "/correspond" }, func(e *env, parent, _ core.Ticket) error {
			return e.c.AddNote(e.ctx, parent.Ref.ID, "a note", true)
		}},
		{"internal note", "POST", func(p, _ core.Ticket) string { return "/ticket/" + p.Ref.ID + "/comment" }, func(e *env, parent, _ core.Ticket) error {
			return e.c.AddNote(e.ctx, parent.Ref.ID, "a note", false)
		}},
		{"link", "PUT", func(p, _ core.Ticket) string { return "/ticket/" + p.Ref.ID }, func(e *env, parent, child core.Ticket) error {
			return e.c.Link(e.ctx, parent.Ref, child.Ref)
		}},
		{"relate", "PUT", func(_, c core.Ticket) string { return "/ticket/" + c.Ref.ID }, func(e *env, parent, child core.Ticket) error {
			return e.c.Relate(e.ctx, child.Ref, parent.Ref)
		}},
		{"state", "PUT", func(p, _ core.Ticket) string { return "/ticket/" + p.Ref.ID }, func(e *env, parent, _ core.Ticket) error {
			return e.c.SetState(e.ctx, parent.Ref.ID, "resolved")
		}},
	}
	for _, w := range writes {
		for _, a := range answers {
			t.Run(w.name+" answered "+a.name, func(t *testing.T) {
				e := setup(t, time.UTC, nil)
				parent := e.create("parent", core.TicketRef{})
				child := e.create("child", core.TicketRef{})
				e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{a.kind},
					Methods: []string{w.method}, Paths: []string{w.path(parent, child)}, Max: 1})
				before := e.sim.FaultCount()
				err := w.call(e, parent, child)
				if err == nil {
					t.Fatal("no error: the change was counted as done")
				}
				if !strings.Contains(err.Error(), "rt: ") {
					t.Errorf("error %v does not name rt", err)
				}
				if n := e.sim.FaultCount() - before; n != 1 {
					t.Errorf("%d faults injected, want 1", n)
				}
				noSecrets(t, err)
			})
		}
	}
}

// TestWriteConfirmedByRecordStillCounts: when the answer is lost but RT
// made the change, re-reading the ticket confirms it (status and links),
// so nothing is done twice.
func TestWriteConfirmedByRecordStillCounts(t *testing.T) {
	e := setup(t, time.UTC, nil)
	parent := e.create("parent", core.TicketRef{})
	child := e.create("child", core.TicketRef{})
	e.sim.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.FaultEmpty200}, After: true,
		Methods: []string{"PUT"}})
	if err := e.c.SetState(e.ctx, parent.Ref.ID, "resolved"); err != nil {
		t.Errorf("status set but answered {}: %v", err)
	}
	if err := e.c.Link(e.ctx, parent.Ref, child.Ref); err != nil {
		t.Errorf("link made but answered {}: %v", err)
	}
	if n := e.sim.FaultCount(); n != 2 {
		t.Errorf("%d faults injected, want 2", n)
	}
}
