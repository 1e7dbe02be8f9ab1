// Package zammadsim is an in-process Zammad REST API (v1) that procbot's
// tests and demos talk to over real HTTP. It keeps tickets, articles, links
// and tags in memory and reproduces the behaviours procbot relies on: the
// search response shapes, the direction rules of links, the number-vs-id
// asymmetry of links/add, close_at bookkeeping, updated_at bumps, lookups by
// name with Zammad's 422 texts, permission checks and injected failures.
//
// It is a test double, not a Zammad: anything procbot does not rely on is
// simplified or left out.
package zammadsim

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults used when Options leave users or groups empty, so a demo can start
// a simulator without configuring anything.
const (
	DefaultLogin = "procbot@example.org"
	DefaultToken = "procbot-sim-token"
	DefaultGroup = "Users"
)

// Options configure a simulator.
type Options struct {
	// Groups are full "::" paths; missing parent groups are created too.
	// Empty: a single group DefaultGroup.
	Groups []string
	// Users that can call the API. Empty: one agent DefaultLogin with token
	// DefaultToken and full access to every group.
	Users []User
	// States replaces the stock-plus-GGUS state list (DefaultStates).
	States []State
	// LegacySearchEnvelope makes searches without expand answer with the
	// Zammad ≤ 6.4 {"tickets","tickets_count","assets"} envelope.
	LegacySearchEnvelope bool
	// SearchLag hides tickets updated less than this long ago from `query`
	// searches (the search index lags the database) but not from
	// `condition` searches, which read the database.
	SearchLag time.Duration
	// Now is the simulator's clock. Default time.Now.
	Now func() time.Time
	// DenyNewTags makes adding a tag that no ticket has ever carried (and
	// that is not in KnownTags) fail with 403, as when the instance setting
	// tag_new is off. The default allows new tags.
	DenyNewTags bool
	// KnownTags exist from the start.
	KnownTags []string
	// FirstTicketID and FirstTicketNumber start the two sequences; they
	// default to 1000 and 10100 so that an id never equals a number.
	FirstTicketID     int
	FirstTicketNumber int
}

// User is an account of the simulator.
type User struct {
	Login     string
	Email     string
	Firstname string
	Lastname  string
	Token     string
	// Agent users see tickets by group permission; others are customers and
	// see only their own tickets.
	Agent bool
	// Groups maps a full group name, or "*" for every group, to access
	// levels: "read", "create", "change" or "full" (all of them).
	Groups map[string][]string
}

// State is a ticket state and its Zammad state type ("new", "open",
// "pending reminder", "pending action", "closed", "merged", "removed").
type State struct {
	Name string
	Type string
}

// DefaultStates is Zammad's stock state list followed by the states GGUS uses.
func DefaultStates() []State {
	return []State{
		{"new", "new"},
		{"open", "open"},
		{"pending reminder", "pending reminder"},
		{"closed", "closed"},
		{"merged", "merged"},
		{"removed", "removed"},
		{"pending close", "pending action"},
		{"assigned", "open"},
		{"in progress", "open"},
		{"on hold", "open"},
		{"waiting for reply", "open"},
		{"reopened", "open"},
		{"solved", "closed"},
		{"unsolved", "closed"},
		{"verified", "closed"},
	}
}

// Server is a running (or startable) simulator. It is safe for concurrent use.
type Server struct {
	mu  sync.Mutex
	now func() time.Time
	db  *store

	legacyEnvelope bool
	searchLag      time.Duration
	denyNewTags    bool

	faults faultState
	// plain switches off the compression of large answers (Uncompressed).
	plain atomic.Bool

	reqMu    sync.Mutex
	requests []string

	handler http.Handler
	srv     *http.Server
	ln      net.Listener
}

// New builds a simulator from opts. Call Start to serve it on 127.0.0.1, or
// mount Handler yourself.
// Uncompressed makes the server answer without compression, as a Zammad
// behind a proxy that does not compress would: procbot bench measures
// procbot, and compressing is the server's work.
func (s *Server) Uncompressed() { s.plain.Store(true) }

func New(opts Options) *Server {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		now:            now,
		legacyEnvelope: opts.LegacySearchEnvelope,
		searchLag:      opts.SearchLag,
		denyNewTags:    opts.DenyNewTags,
	}
	s.db = newStore(opts, s.clock())
	s.handler = s.routes()
	return s
}

// clock returns the simulator time at Zammad's precision (milliseconds, UTC).
func (s *Server) clock() time.Time {
	return s.now().UTC().Truncate(time.Millisecond)
}

// Handler is the simulator as an http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves the simulator on a free port of 127.0.0.1.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.ln = ln
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener is gone; requests will fail and show it
		}
	}()
	return nil
}

// URL is the API base, e.g. "http://127.0.0.1:41234/api/v1"; empty before Start.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String() + "/api/v1"
}

// Close stops serving; requests in flight are cut off.
func (s *Server) Close() {
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
		_ = s.srv.Close()
	}
}

// Requests lists every request received so far as "METHOD /path" (the path
// below /api/v1, without query), including those answered by an injected
// fault. Tests use it to check that mutations are not retried.
func (s *Server) Requests() []string {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]string(nil), s.requests...)
}

// CountRequests counts received requests with the given method whose path
// starts with prefix (below /api/v1).
func (s *Server) CountRequests(method, prefix string) int {
	n := 0
	for _, r := range s.Requests() {
		m, p, _ := strings.Cut(r, " ")
		if m == method && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

func (s *Server) record(r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, apiPrefix)
	s.reqMu.Lock()
	s.requests = append(s.requests, r.Method+" "+p)
	s.reqMu.Unlock()
}
