package zammadsim

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is a way for a request to fail before the API sees it.
type FaultKind string

// Fault kinds. The status faults answer the way the layer that produces them
// would: Zammad itself masks a 500 as an "Error ID" JSON body, a reverse
// proxy answers 502/503 with an HTML page, and 429 carries Retry-After.
const (
	Fault500  FaultKind = "500"
	Fault502  FaultKind = "502"
	Fault503  FaultKind = "503"
	Fault429  FaultKind = "429"
	FaultSlow FaultKind = "slow" // answer normally, after SlowDelay
	FaultDrop FaultKind = "drop" // close the connection without answering
	// Fault401 refuses the credentials as Zammad does for an unknown token,
	// as a session store or an LDAP back-end having a bad moment would.
	Fault401 FaultKind = "401"
	// The answers of a misconfigured proxy or a login portal in front of
	// Zammad, which a client must not take for success: a redirect to
	// Faults.RedirectTo, a 200 with an HTML page, a 200 with "{}".
	FaultRedirect FaultKind = "302"
	FaultHTML200  FaultKind = "200 html"
	FaultEmpty200 FaultKind = "200 {}"
)

// Faults configures failure injection. The zero value injects nothing.
type Faults struct {
	// Rate is the probability (0..1) that an eligible request fails.
	Rate float64
	// Kinds to choose from, uniformly. Empty: Fault503.
	Kinds []FaultKind
	// Seed makes the sequence of failures reproducible.
	Seed uint64
	// Methods restricts injection to these HTTP methods; empty: all.
	Methods []string
	// Paths restricts injection to requests whose path below /api/v1
	// starts with one of these, or, for one ending in "$", is it
	// ("/tickets$" is the create, not the search); empty: all.
	Paths []string
	// SlowDelay is how long FaultSlow waits. Default 2s.
	SlowDelay time.Duration
	// RetryAfter is the Retry-After of Fault429, in seconds. Default 1.
	RetryAfter int
	// After carries the request out before failing it, as when the answer
	// to a create is lost: the change is made but the client hears of no
	// success. AfterRate does so for that share (0..1) of the faults only.
	// Neither applies to slow answers (still the real answer) nor to 401.
	After     bool
	AfterRate float64
	// Max ends the injection after that many faults; 0: no end.
	Max int
	// RedirectTo is the Location of FaultRedirect. Default "/login".
	RedirectTo string
}

type faultState struct {
	mu       sync.Mutex
	f        Faults
	rnd      *rand.Rand
	injected int
	planned  int // faults injected under the current settings
}

// SetFaults replaces the failure injection settings and restarts the
// random sequence from f.Seed.
func (s *Server) SetFaults(f Faults) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.f = f
	s.faults.planned = 0
	s.faults.rnd = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// FaultsInjected counts the requests that got an injected fault.
func (s *Server) FaultsInjected() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.injected
}

// pickedFault is the fault one request gets.
type pickedFault struct {
	kind  FaultKind
	after bool // carry the request out first
	f     Faults
}

func (fs *faultState) pick(r *http.Request) (pickedFault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	if f.Rate <= 0 || fs.rnd == nil || (f.Max > 0 && fs.planned >= f.Max) {
		return pickedFault{}, false
	}
	if len(f.Methods) > 0 {
		ok := false
		for _, m := range f.Methods {
			ok = ok || m == r.Method
		}
		if !ok {
			return pickedFault{}, false
		}
	}
	if len(f.Paths) > 0 {
		ok := false
		path := strings.TrimPrefix(r.URL.Path, apiPrefix)
		for _, p := range f.Paths {
			if exact, ok2 := strings.CutSuffix(p, "$"); ok2 {
				ok = ok || path == exact
				continue
			}
			ok = ok || strings.HasPrefix(path, p)
		}
		if !ok {
			return pickedFault{}, false
		}
	}
	if fs.rnd.Float64() >= f.Rate {
		return pickedFault{}, false
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = []FaultKind{Fault503}
	}
	fs.injected++
	fs.planned++
	p := pickedFault{kind: kinds[fs.rnd.IntN(len(kinds))], after: f.After, f: f}
	if !p.after && f.AfterRate > 0 {
		p.after = fs.rnd.Float64() < f.AfterRate
	}
	if p.kind == FaultSlow || p.kind == Fault401 {
		p.after = false
	}
	return p, true
}

// injectFault answers r with a fault when one is due; it reports whether r
// has been dealt with. serve carries a request out; a fault "after" runs it
// with its answer thrown away first.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request, serve http.Handler) bool {
	p, ok := s.faults.pick(r)
	if !ok {
		return false
	}
	if p.after {
		serve.ServeHTTP(discardWriter{h: http.Header{}}, r)
	}
	f := p.f
	switch p.kind {
	case FaultSlow:
		d := f.SlowDelay
		if d <= 0 {
			d = 2 * time.Second
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	case FaultDrop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "connection drop not possible"})
			return true
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	case Fault429:
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(ra))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte("Retry later\n"))
	case Fault502, Fault503:
		code := http.StatusBadGateway
		if p.kind == Fault503 {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(code) + " " + http.StatusText(code) + "</h1></body></html>\n"))
	case Fault401:
		writeError(w, &apiError{http.StatusUnauthorized, "Can't find User for Token", false})
	case FaultRedirect:
		to := f.RedirectTo
		if to == "" {
			to = "/login"
		}
		http.Redirect(w, r, to, http.StatusFound)
	case FaultHTML200:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Sign in</title></head><body><form>Sign in</form></body></html>\n"))
	case FaultEmpty200:
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Error ID fault0: Please contact your administrator."})
	}
	return true
}

// discardWriter takes the real answer of a request whose answer is lost.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
