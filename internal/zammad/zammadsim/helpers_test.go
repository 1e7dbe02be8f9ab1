package zammadsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

const (
	robotToken  = "robot-token"
	readerToken = "reader-token"
	aliceToken  = "alice-token"

	opsGroup   = "Ops"
	gocdbGroup = "Second Level::Services::GOCDB"
)

// fakeClock is a settable clock so that tests can see timestamps move
// without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

type env struct {
	t   *testing.T
	s   *zammadsim.Server
	clk *fakeClock
}

func defaultOptions(clk *fakeClock) zammadsim.Options {
	return zammadsim.Options{
		Groups: []string{opsGroup, gocdbGroup, "Secret"},
		Users: []zammadsim.User{
			{Login: "robot@example.org", Email: "robot@example.org", Token: robotToken, Agent: true,
				Groups: map[string][]string{"*": {"full"}}},
			{Login: "reader@example.org", Email: "reader@example.org", Token: readerToken, Agent: true,
				Groups: map[string][]string{opsGroup: {"read"}, gocdbGroup: {"read", "change"}}},
			{Login: "alice@example.org", Email: "alice@example.org", Token: aliceToken},
		},
		Now: clk.Now,
	}
}

func start(t *testing.T, mutate func(*zammadsim.Options)) *env {
	t.Helper()
	clk := &fakeClock{t: time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)}
	opts := defaultOptions(clk)
	if mutate != nil {
		mutate(&opts)
	}
	s := zammadsim.New(opts)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{t: t, s: s, clk: clk}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, a.body)
	}
	return m
}

func (a answer) arr(t *testing.T) []any {
	t.Helper()
	var l []any
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatalf("answer is not a JSON array: %v: %s", err, a.body)
	}
	return l
}

// call sends a request with the given Authorization header value ("" for
// none) and a JSON body (nil for none).
func (e *env) call(auth, method, path string, body any) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.s.URL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

// as calls with a token and insists on the status.
func (e *env) as(token, method, path string, body any, want int) answer {
	e.t.Helper()
	a := e.call("Token token="+token, method, path, body)
	if a.status != want {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, a.status, want, a.body)
	}
	return a
}

// create makes a ticket as the robot and returns its id and number.
func (e *env) create(title, group string) (int, string) {
	e.t.Helper()
	m := e.as(robotToken, "POST", "/tickets", map[string]any{
		"title": title, "group": group, "customer": "alice@example.org",
		"article": map[string]any{"body": "first", "type": "note"},
	}, http.StatusCreated).obj(e.t)
	return num(e.t, m["id"]), m["number"].(string)
}

func num(t *testing.T, v any) int {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return int(x)
	case string:
		n, err := strconv.Atoi(x)
		if err == nil {
			return n
		}
	}
	t.Fatalf("not a number: %#v", v)
	return 0
}

func ids(t *testing.T, list []any) []int {
	t.Helper()
	out := []int{}
	for _, x := range list {
		out = append(out, num(t, x.(map[string]any)["id"]))
	}
	return out
}

func eqInts(a, b []int) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}
