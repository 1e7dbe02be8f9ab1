package rtsim

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// FaultKind is one way the simulated RT misbehaves.
type FaultKind int

const (
	Fault500  FaultKind = iota + 1 // 500 {"message":"Internal Server Error"}
	Fault502                       // 502 from a proxy, HTML body
	Fault503                       // 503, HTML body
	Fault429                       // 429 with Retry-After
	FaultSlow                      // answers normally after Delay
	FaultDrop                      // closes the connection without an answer
	// Fault401 refuses the credentials as RT does, as an authentication
	// back-end having a bad moment would. Not among the default kinds.
	Fault401
	// The answers of a misconfigured proxy or a login portal in front of
	// RT, which a client must not take for success: a redirect to
	// Faults.RedirectTo, a 200 with an HTML page, a 200 with "{}". Not
	// among the default kinds.
	FaultRedirect
	FaultHTML200
	FaultEmpty200
)

// Faults make a share of requests fail, deterministically for a given Seed.
type Faults struct {
	Rate  float64     // 0..1: share of requests that get a fault
	Kinds []FaultKind // chosen at random among these; empty: all kinds
	Seed  uint64
	// Delay of FaultSlow; default 2s. The wait ends early when the client
	// goes away.
	Delay time.Duration
	// RetryAfter is the Retry-After of Fault429 in seconds; default 1.
	RetryAfter int
	// After carries the request out before failing it, as when the answer to
	// a create is lost: the change is made but the client hears of no success.
	// AfterRate does so for that share (0..1) of the faults only. Neither
	// applies to slow answers nor to Fault401.
	After     bool
	AfterRate float64
	// Max ends the injection after that many faults; 0: no end.
	Max int
	// Methods limits faults to these HTTP methods; empty: all.
	Methods []string
	// Paths limits faults to requests whose path below /REST/2.0 starts
	// with one of these; empty: all.
	Paths []string
	// RedirectTo is the Location of FaultRedirect; default the web UI's
	// login page.
	RedirectTo string
}

type faultState struct {
	f       Faults
	rng     *rand.Rand
	hits    int
	planned int // faults injected under the current plan
}

type pickedFault struct {
	kind  FaultKind
	after bool
	delay time.Duration
	retry int
	to    string
}

// SetFaults replaces the fault plan; the zero Faults turns faults off.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = faultState{f: f, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15)), hits: s.faults.hits}
}

// FaultCount is how many requests got a fault so far, across fault plans.
func (s *Server) FaultCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.hits
}

func (s *Server) pickFault(r *http.Request) (pickedFault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults.f
	if f.Rate <= 0 || s.faults.rng == nil || (f.Max > 0 && s.faults.planned >= f.Max) {
		return pickedFault{}, false
	}
	if len(f.Methods) > 0 && !slices.Contains(f.Methods, r.Method) {
		return pickedFault{}, false
	}
	if len(f.Paths) > 0 && !slices.ContainsFunc(f.Paths, func(p string) bool {
		return strings.HasPrefix(strings.TrimPrefix(r.URL.Path, "/REST/2.0"), p)
	}) {
		return pickedFault{}, false
	}
	if s.faults.rng.Float64() >= f.Rate {
		return pickedFault{}, false
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = []FaultKind{Fault500, Fault502, Fault503, Fault429, FaultSlow, FaultDrop}
	}
	s.faults.hits++
	s.faults.planned++
	p := pickedFault{kind: kinds[s.faults.rng.IntN(len(kinds))], after: f.After, delay: f.Delay, retry: f.RetryAfter, to: f.RedirectTo}
	if p.to == "" {
		p.to = "/NoAuth/Login.html"
	}
	if !p.after && f.AfterRate > 0 {
		p.after = s.faults.rng.Float64() < f.AfterRate
	}
	if p.delay <= 0 {
		p.delay = 2 * time.Second
	}
	if p.retry <= 0 {
		p.retry = 1
	}
	if p.kind == FaultSlow || p.kind == Fault401 {
		p.after = false // a slow answer is still the real answer
	}
	return p, true
}

func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f pickedFault) {
	switch f.kind {
	case Fault500:
		writeMsg(w, http.StatusInternalServerError, "Internal Server Error")
	case Fault502, Fault503:
		code := http.StatusBadGateway
		if f.kind == Fault503 {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(code) + " " + http.StatusText(code) + "</h1></body></html>"))
	case Fault401:
		writeMsg(w, http.StatusUnauthorized, "Unauthorized")
	case Fault429:
		w.Header().Set("Retry-After", strconv.Itoa(f.retry))
		writeMsg(w, http.StatusTooManyRequests, "Too Many Requests")
	case FaultSlow:
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
			s.route(w, r)
		case <-r.Context().Done():
		}
	case FaultRedirect:
		http.Redirect(w, r, f.to, http.StatusFound)
	case FaultHTML200:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Login</title></head><body><form>RT login</form></body></html>\n"))
	case FaultEmpty200:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{}\n"))
	case FaultDrop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic(http.ErrAbortHandler)
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		_ = conn.Close()
	}
}

// Requests lists every request received so far as "METHOD /path" (the path
// below /REST/2.0, without query), including those answered by a fault.
// Tests use it to check that changes are not retried.
func (s *Server) Requests() []string {
	s.reqMu.Lock()
	defer s.reqMu.Unlock()
	return append([]string(nil), s.requests...)
}

// CountRequests counts received requests with the given method whose path
// (below /REST/2.0) starts with prefix.
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
	s.reqMu.Lock()
	s.requests = append(s.requests, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/REST/2.0"))
	s.reqMu.Unlock()
}
