// Package rtsim is an in-process stand-in for the REST 2.0 API of Request
// Tracker 5.0.3, so procbot's RT client can be tested over real HTTP without a
// Perl stack. It reproduces the shapes and the traps procbot has met in the
// real server (ids that are strings or numbers, "pages": 0.0, errors inside
// 200 answers, silently dropped links, time-zone-dependent TicketSQL dates,
// unordered searches), not RT's permission model or mail.
package rtsim

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is what GET /rt reports, the Debian 12 build procbot runs against.
const Version = "5.0.3+dfsg-3~deb12u6"

// User is an RT user that may authenticate.
type User struct {
	Name     string
	ID       int    // RT user id; the token must carry it
	Password string // basic auth; empty: basic auth refused
	// Token in RT's format "1-<user id>-<secret>"; empty: no token.
	Token string
}

// Options configure a simulated RT.
type Options struct {
	// Queues to create besides General (id 1) and the disabled ___Approvals
	// (id 2); they get ids from 3 in order, like a fresh RT database.
	Queues []string
	// CustomFields are ticket custom fields (freeform) applied to every queue.
	CustomFields []string
	// Users that may log in. Empty: root (id 14), password "password",
	// token DefaultToken.
	Users []User
	// TimeZone is RT's $Timezone: how TicketSQL date literals are read.
	// Default UTC.
	TimeZone *time.Location
	// Now is the clock; default time.Now. RT keeps whole seconds.
	Now func() time.Time
	// RTName is $rtname, used in link URIs (fsck.com-rt://<RTName>/ticket/N).
	// Default "rt.test".
	RTName string
	// Statuses of the ticket lifecycle; default new, open, stalled,
	// resolved, rejected, deleted. The first is the initial status.
	Statuses []string
}

// DefaultToken is root's token when Options.Users is empty.
const DefaultToken = "1-14-5f1c0a9e2b7d4c3a8e6f0b1d2c3e4f5a"

// Server is a simulated RT. All methods are safe for concurrent use.
type Server struct {
	opts Options

	mu       sync.Mutex
	queues   []*queue
	users    []User
	tickets  map[int]*ticket
	links    []link
	txns     map[int]*txn
	atts     map[int]*attachment
	cfs      []string
	nextTkt  int
	nextTxn  int
	nextAtt  int
	faults   faultState
	reqMu    sync.Mutex
	requests []string
	baseURL  string
	srv      *http.Server
	listener net.Listener
}

// New builds a simulator; call Start to serve it, or mount Handler.
func New(opts Options) *Server {
	if opts.TimeZone == nil {
		opts.TimeZone = time.UTC
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RTName == "" {
		opts.RTName = "rt.test"
	}
	if len(opts.Statuses) == 0 {
		opts.Statuses = []string{"new", "open", "stalled", "resolved", "rejected", "deleted"}
	}
	users := opts.Users
	if len(users) == 0 {
		users = []User{{Name: "root", ID: 14, Password: "password", Token: DefaultToken}}
	}
	s := &Server{
		opts:    opts,
		users:   users,
		tickets: map[int]*ticket{},
		txns:    map[int]*txn{},
		atts:    map[int]*attachment{},
		cfs:     append([]string(nil), opts.CustomFields...),
		nextTkt: 1,
		// A fresh RT has spent transaction ids on its initial data; starting
		// high keeps transaction ids from coinciding with ticket ids.
		nextTxn: 38,
		nextAtt: 1,
	}
	s.queues = append(s.queues, &queue{id: 1, name: "General", desc: "The default queue"},
		&queue{id: 2, name: "___Approvals", desc: "A system-internal queue for the approvals system", disabled: true})
	for i, name := range opts.Queues {
		s.queues = append(s.queues, &queue{id: 3 + i, name: name})
	}
	return s
}

// Start serves the simulator on 127.0.0.1 on a free port.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.listener = ln
	s.baseURL = "http://" + ln.Addr().String() + "/REST/2.0"
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	srv := s.srv
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// URL is the REST 2.0 base, e.g. http://127.0.0.1:PORT/REST/2.0.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// WebURL is the base of the web UI links.
func (s *Server) WebURL() string { return strings.TrimSuffix(s.URL(), "/REST/2.0") }

// Close stops the server and drops open connections.
func (s *Server) Close() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
	}
}

// Handler serves the simulator; paths start with /REST/2.0.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// TokenFor returns the token of the named user ("" if none).
func (s *Server) TokenFor(name string) string {
	for _, u := range s.users {
		if u.Name == name {
			return u.Token
		}
	}
	return ""
}

type ctxKey struct{}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	if f, ok := s.pickFault(r); ok {
		if !f.after {
			s.applyFault(w, r, f)
			return
		}
		s.route(discardWriter{h: http.Header{}}, r)
		s.applyFault(w, r, f)
		return
	}
	s.route(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	const prefix = "/REST/2.0"
	p := r.URL.Path
	if p != prefix && !strings.HasPrefix(p, prefix+"/") {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	user, ok := s.authenticate(r)
	if !ok {
		if strings.Contains(r.UserAgent(), "Mozilla") {
			http.Redirect(w, r, "/NoAuth/Login.html?next="+p, http.StatusFound)
			return
		}
		writeMsg(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, user.Name))
	s.mu.Lock()
	if s.baseURL == "" { // mounted through Handler without Start
		s.baseURL = "http://" + r.Host + prefix
	}
	s.mu.Unlock()
	parts := strings.Split(strings.Trim(strings.TrimPrefix(p, prefix), "/"), "/")
	m := r.Method
	switch {
	case len(parts) == 1 && parts[0] == "rt" && m == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"Version": Version, "Plugins": []any{}})
	case len(parts) == 1 && parts[0] == "ticket" && m == http.MethodPost:
		s.createTicket(w, r)
	case len(parts) == 2 && parts[0] == "ticket":
		switch m {
		case http.MethodGet:
			s.getTicket(w, r, parts[1])
		case http.MethodPut:
			s.updateTicket(w, r, parts[1])
		case http.MethodDelete:
			s.deleteTicket(w, r, parts[1])
		default:
			writeMsg(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		}
	case len(parts) == 3 && parts[0] == "ticket" && parts[2] == "history" && m == http.MethodGet:
		s.history(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "ticket" && (parts[2] == "comment" || parts[2] == "correspond") && m == http.MethodPost:
		s.message(w, r, parts[1], parts[2])
	case len(parts) == 1 && parts[0] == "tickets" && (m == http.MethodGet || m == http.MethodPost):
		s.search(w, r)
	case len(parts) == 2 && parts[0] == "transaction" && m == http.MethodGet:
		s.getTxn(w, r, parts[1])
	case len(parts) == 3 && parts[0] == "transaction" && parts[2] == "attachments" && m == http.MethodGet:
		s.txnAttachments(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "attachment" && m == http.MethodGet:
		s.getAttachment(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "queue" && m == http.MethodGet:
		s.getQueue(w, r, parts[1])
	case len(parts) == 2 && parts[0] == "queues" && parts[1] == "all" && m == http.MethodGet:
		s.allQueues(w, r)
	case len(parts) == 2 && parts[0] == "user" && m == http.MethodGet:
		s.getUser(w, r, parts[1])
	default:
		writeMsg(w, http.StatusNotFound, "Not Found")
	}
}

// authenticate follows RT's order: token (header or ?token=), then basic auth.
func (s *Server) authenticate(r *http.Request) (User, bool) {
	tok := ""
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "token ") {
		tok = strings.TrimSpace(h[6:])
	} else if q := r.URL.Query().Get("token"); q != "" {
		tok = q
	}
	if tok != "" {
		f := strings.SplitN(tok, "-", 3)
		if len(f) != 3 || f[0] != "1" || f[2] == "" {
			return User{}, false
		}
		for _, u := range s.users {
			if strconv.Itoa(u.ID) == f[1] && u.Token != "" && u.Token == tok {
				return u, true
			}
		}
		return User{}, false
	}
	if name, pw, ok := r.BasicAuth(); ok {
		for _, u := range s.users {
			if u.Name == name && u.Password != "" && u.Password == pw {
				return u, true
			}
		}
	}
	return User{}, false
}

func actor(r *http.Request) string {
	if v, ok := r.Context().Value(ctxKey{}).(string); ok {
		return v
	}
	return "root"
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.MarshalIndent(v, "", "   ")
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"message":"Internal Server Error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func writeMsg(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"message": msg})
}

// isJSON reports whether the request body is declared as JSON, which RT
// demands for create and update.
func isJSON(r *http.Request) bool {
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	return ct == "application/json"
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

var errNoTicket = errors.New("no such ticket")
