package trackertest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// Gate stands in front of a tracker and holds the first request that
// Match accepts until Release, so a test can act while procbot waits on
// the tracker. Every other request passes through.
type Gate struct {
	URL string // the tracker's URL, through the gate
	// Held is closed when the held request arrives; Cancelled when its
	// client gives up on it; Landed when, with Late, the tracker has
	// carried it out all the same.
	Held, Cancelled, Landed chan struct{}

	// Late, set before the held request arrives, makes a request whose
	// client gave up reach the tracker all the same once released, the
	// way a tracker carries out a change it was slow to answer.
	Late bool

	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	holding bool
}

// NewGate starts a gate in front of the tracker at target (its API URL,
// path included) and stops it when the test ends.
func NewGate(t testing.TB, target string, match func(*http.Request) bool) *Gate {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &Gate{Held: make(chan struct{}), Cancelled: make(chan struct{}), Landed: make(chan struct{}), release: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		hold := !g.holding && match(r)
		g.holding = g.holding || hold
		g.mu.Unlock()
		if hold {
			// The server notices a client giving up only once the body
			// is read.
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			close(g.Held)
			select {
			case <-g.release:
			case <-r.Context().Done():
				close(g.Cancelled)
				if g.Late {
					<-g.release
					late := r.Clone(context.WithoutCancel(r.Context()))
					late.Body = io.NopCloser(bytes.NewReader(body))
					proxy.ServeHTTP(httptest.NewRecorder(), late)
					close(g.Landed)
				}
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		g.Release()
		srv.Close()
	})
	g.URL = srv.URL + u.Path
	return g
}

// Release lets the held request (and any later one) through.
func (g *Gate) Release() { g.once.Do(func() { close(g.release) }) }

// Waiting reports whether the held request is still held, its client
// still waiting for the answer.
func (g *Gate) Waiting() bool {
	select {
	case <-g.Cancelled:
		return false
	case <-g.release:
		return false
	default:
		return true
	}
}
