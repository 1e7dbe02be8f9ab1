package zammad_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/trackertest"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

const operatorToken = "s3cret-operator-token-0123456789"

// contractTarget serves a simulator (optionally behind wrap) on a clock the
// suite's Tick moves, and describes it for the contract suite.
func contractTarget(t *testing.T, legacy bool, wrap func(http.Handler) http.Handler) (trackertest.Target, *zammadsim.Server, string) {
	clk := &fakeClock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	sim := zammadsim.New(zammadsim.Options{
		Groups: []string{opsGroup, gocdbGroup},
		Users: []zammadsim.User{
			{Login: robotLogin, Email: robotLogin, Token: robotToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
			{Login: "operator@example.org", Email: "operator@example.org", Token: operatorToken, Agent: true,
				Groups: map[string][]string{"*": {"full"}}},
		},
		LegacySearchEnvelope: legacy,
		Now:                  clk.Now,
	})
	var h http.Handler = sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base := srv.URL + "/api/v1"
	client := func(token string, per int) *zammad.Client {
		c, err := zammad.New(zammad.Config{URL: base, Token: token, Timeout: 5 * time.Second, PerPage: per, ReadRetries: -1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	const badToken = "s3cret-refused-token-0123456789"
	return trackertest.Target{
		Tracker:         client(robotToken, 0),
		Author:          robotLogin,
		Queue:           opsGroup,
		OtherQueue:      gocdbGroup,
		UnknownQueue:    "No Such Group::" + trackertest.Unique(),
		UnknownQueueErr: core.ErrInvalid, // Zammad answers 422 for a group it does not know
		BadCredentials:  client(badToken, 0),
		SmallPages:      func(t *testing.T, per int) trackertest.Tracker { return client(robotToken, per) },
		OpenState:       "open",
		TerminalState:   "closed",
		Other:           client(operatorToken, 0),
		OtherAuthor:     "operator@example.org",
		Tick:            func() { clk.Advance(2 * time.Second) },
		Secrets:         []string{robotToken, operatorToken, badToken},
	}, sim, base
}

func TestContractZammadSim(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Target {
		tg, _, _ := contractTarget(t, false, nil)
		return tg
	})
}

// With the legacy switch on, searches without expand answer with the
// {tickets, tickets_count, assets} envelope; the client asks with expand and
// must still read every ticket.
func TestContractZammadSimLegacyEnvelope(t *testing.T) {
	trackertest.Run(t, func(t *testing.T) trackertest.Target {
		tg, _, _ := contractTarget(t, true, nil)
		return tg
	})
}

// capture records the bodies of search requests and the query strings of
// every request.
type capture struct {
	mu      sync.Mutex
	bodies  []map[string]any
	queries []string
}

func (c *capture) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		c.mu.Lock()
		c.queries = append(c.queries, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		if strings.HasSuffix(r.URL.Path, "/tickets/search") {
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			c.bodies = append(c.bodies, m)
		}
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func TestZammadFidelity(t *testing.T) {
	ctx := context.Background()
	cp := &capture{}
	tg, sim, base := contractTarget(t, true, cp.wrap)

	t.Run("search asks for at most 200 per page", func(t *testing.T) {
		c, err := zammad.New(zammad.Config{URL: base, Token: robotToken, PerPage: 500})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Changed(ctx, "anything", time.Time{}); err != nil {
			t.Fatal(err)
		}
		cp.mu.Lock()
		defer cp.mu.Unlock()
		if len(cp.bodies) == 0 {
			t.Fatal("no search recorded")
		}
		for _, b := range cp.bodies {
			if pp, _ := b["per_page"].(float64); pp < 1 || pp > 200 {
				t.Errorf("search body asks per_page %v", b["per_page"])
			}
		}
	})

	t.Run("the simulator caps lists at 100 and searches at 200", func(t *testing.T) {
		for range 210 {
			if _, err := tg.Tracker.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "cap", Body: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		count := func(method, path, body string) int {
			req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Token token="+robotToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var list []any
			if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			return len(list)
		}
		if n := count("GET", "/tickets?per_page=500", ""); n != 100 {
			t.Errorf("list with per_page 500: %d tickets, want 100", n)
		}
		if n := count("POST", "/tickets/search", `{"condition":{"ticket.title":{"operator":"contains","value":"cap"}},"expand":true,"per_page":500}`); n != 200 {
			t.Errorf("search with per_page 500: %d tickets, want 200", n)
		}
	})

	t.Run("number is not id, and links name the child by number", func(t *testing.T) {
		p, err := tg.Tracker.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "numbers parent", Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tg.Tracker.Create(ctx, core.NewTicket{Queue: opsGroup, Title: "numbers child", Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if p.Ref.Number == "" || p.Ref.Number == p.Ref.ID {
			t.Errorf("ref %+v: number should differ from id", p.Ref)
		}
		if err := tg.Tracker.Link(ctx, p.Ref, c.Ref); err != nil {
			t.Fatal(err)
		}
		kids, err := tg.Tracker.Children(ctx, p.Ref.ID)
		if err != nil || len(kids) != 1 || kids[0].ID != c.Ref.ID || kids[0].Number != c.Ref.Number {
			t.Errorf("children %+v %v, want %+v", kids, err, c.Ref)
		}
		if n := sim.CountRequests("POST", "/links/add"); n != 1 {
			t.Errorf("%d links/add requests", n)
		}
	})

	t.Run("errors carry error_human", func(t *testing.T) {
		_, err := tg.Tracker.Create(ctx, core.NewTicket{Queue: "Nowhere", Title: "x", Body: "x"})
		if err == nil || !strings.Contains(err.Error(), "Nowhere") {
			t.Errorf("unknown group: %v", err)
		}
	})
}
