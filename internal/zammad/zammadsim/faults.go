package zammadsim

import (
	"math/rand/v2"
	"net/http"
	"strconv"
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
	// SlowDelay is how long FaultSlow waits. Default 2s.
	SlowDelay time.Duration
	// RetryAfter is the Retry-After of Fault429, in seconds. Default 1.
	RetryAfter int
}

type faultState struct {
	mu       sync.Mutex
	f        Faults
	rnd      *rand.Rand
	injected int
}

// SetFaults replaces the failure injection settings and restarts the
// random sequence from f.Seed.
func (s *Server) SetFaults(f Faults) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.f = f
	s.faults.rnd = rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))
}

// FaultsInjected counts the requests that got an injected fault.
func (s *Server) FaultsInjected() int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.injected
}

func (fs *faultState) pick(r *http.Request) (FaultKind, Faults, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	if f.Rate <= 0 || fs.rnd == nil {
		return "", f, false
	}
	if len(f.Methods) > 0 {
		ok := false
		for _, m := range f.Methods {
			ok = ok || m == r.Method
		}
		if !ok {
			return "", f, false
		}
	}
	if fs.rnd.Float64() >= f.Rate {
		return "", f, false
	}
	kinds := f.Kinds
	if len(kinds) == 0 {
		kinds = []FaultKind{Fault503}
	}
	fs.injected++
	return kinds[fs.rnd.IntN(len(kinds))], f, true
}

// injectFault answers r with a fault when one is due; it reports whether r
// has been dealt with.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	kind, f, ok := s.faults.pick(r)
	if !ok {
		return false
	}
	switch kind {
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
		if kind == Fault503 {
			code = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body><h1>" + strconv.Itoa(code) + " " + http.StatusText(code) + "</h1></body></html>\n"))
	default:
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Error ID fault0: Please contact your administrator."})
	}
	return true
}
