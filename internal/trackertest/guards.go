package trackertest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/procbot/procbot/internal/core"
)

// The guards below are what every tracker client's own tests use to check
// that a hostile or broken server (one that redirects everything, or
// streams an answer without end) costs procbot neither its credentials nor
// its memory. The client's test keeps its specifics: the requests, the
// server's answers, how its credentials look.

// Call is one request a guard makes a client send.
type Call struct {
	Name string
	// Request is how the client's error names the request, e.g.
	// "GET /ticket/5".
	Request string
	Do      func() error
}

// RedirectTarget is a second listener that notes every request it gets
// and answers each with success, so that a client which followed a
// redirect to it would not notice.
type RedirectTarget struct {
	URL  string
	mu   sync.Mutex
	seen []string // "METHOD /path Authorization: …"
}

// NewRedirectTarget starts a RedirectTarget that answers a request with
// the JSON answer(r) returns, and stops it when the test ends.
func NewRedirectTarget(t testing.TB, answer func(*http.Request) string) *RedirectTarget {
	t.Helper()
	rec := &RedirectTarget{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path+" Authorization: "+r.Header.Get("Authorization"))
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(answer(r)))
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// Requests are the requests the target got, in order.
func (r *RedirectTarget) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// CheckRedirectsRefused runs each call, in a subtest of its name, against
// a tracker that answers every request with a redirect to target: each
// must fail with an error naming the tracker, the request, the redirect
// and where it pointed (stolen, a URL up to its query), and noLeak checks
// that error for credentials. Then the target must have seen no request.
func CheckRedirectsRefused(t *testing.T, tracker string, target *RedirectTarget, stolen string, calls []Call, noLeak func(*testing.T, error)) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.Name, func(t *testing.T) {
			err := c.Do()
			if err == nil {
				t.Fatal("no error, want one naming the redirect")
			}
			msg := err.Error()
			for _, want := range []string{tracker, c.Request, "redirect", stolen} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			noLeak(t, err)
		})
	}
	if seen := target.Requests(); len(seen) > 0 {
		t.Errorf("the other listener got %d requests, want none: %q", len(seen), seen)
	}
}

const (
	// HugeAnswer is how many bytes Streamer sends.
	HugeAnswer = 200 << 20
	// MemBudget is what reading one HugeAnswer may cost procbot.
	MemBudget = 100 << 20
)

// Streamer answers with size bytes: prefix, the start of a JSON document
// whose string it opens and never ends, then chunks, without a
// Content-Length: what a broken or hostile tracker might send.
func Streamer(prefix string, size int) http.HandlerFunc {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if _, err := w.Write([]byte(prefix)); err != nil {
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

// WithinBudget runs call, logs what it allocated and fails the test if
// that is more than MemBudget.
func WithinBudget(t testing.TB, call func()) {
	t.Helper()
	n := allocated(call)
	t.Logf("allocated %.1f MiB", float64(n)/(1<<20))
	if n > MemBudget {
		t.Errorf("allocated %d MiB, want under %d MiB", n>>20, MemBudget>>20)
	}
}

// CheckAnswersBounded runs each call, in a subtest of its name, against a
// tracker that streams HugeAnswer bytes in answer to every request: each
// must stay within MemBudget and fail with an error naming the tracker,
// the request and the limit.
func CheckAnswersBounded(t *testing.T, tracker string, calls []Call) {
	t.Helper()
	for _, c := range calls {
		t.Run(c.Name, func(t *testing.T) {
			var err error
			WithinBudget(t, func() { err = c.Do() })
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range []string{tracker, c.Request, "longer than"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %q", err, want)
				}
			}
		})
	}
}

// CheckOversizedArticleKept reads a ticket's articles with read, from a
// tracker where ticket 7 has two: article 31, whose text is HugeAnswer
// long, and article 32, "/approve". Reading must stay within MemBudget and
// return both, 31 without its text, and the client's log must warn of it
// by ticket and article.
func CheckOversizedArticleKept(t *testing.T, read func() ([]core.Article, error), log fmt.Stringer) {
	t.Helper()
	var arts []core.Article
	var err error
	WithinBudget(t, func() { arts, err = read() })
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != 2 || arts[0].ID != 31 || arts[0].Body != "" || arts[1].ID != 32 || arts[1].Body != "/approve" {
		t.Fatalf("articles %+v, want 31 without text and 32 with its text", arts)
	}
	for _, want := range []string{`"ticket":7`, `"article":31`, "without its text"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log %q lacks %s", log.String(), want)
		}
	}
}
