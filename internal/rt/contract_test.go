package rt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/trackertest"
)

// rtServer is an RT the contract runs against: the simulator or a real one.
type rtServer struct {
	url            string // REST 2.0 base
	token          string // root's token; empty: basic auth
	user, password string
	tz             *time.Location
	tick           func()
	// other is a second account (user, password) for answers by a person;
	// empty: none.
	otherUser, otherPassword string
}

func (s rtServer) config() rt.Config {
	return rt.Config{URL: s.url, Token: s.token, User: s.user, Password: s.password, TimeZone: s.tz, Timeout: 20 * time.Second}
}

func (s rtServer) client(t *testing.T, tweak func(*rt.Config)) *rt.Client {
	t.Helper()
	cfg := s.config()
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := rt.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// badToken is the token with its secret changed, or a made-up one.
func (s rtServer) badToken() string {
	if i := strings.LastIndexByte(s.token, '-'); i > 0 {
		return s.token[:i+1] + "0000deadbeef0000deadbeef0000dead"
	}
	return "1-14-0000deadbeef0000deadbeef0000dead"
}

func (s rtServer) target(t *testing.T) trackertest.Target {
	bad := s.client(t, func(c *rt.Config) {
		if c.Token != "" {
			c.Token = s.badToken()
		} else {
			c.Password = "not-" + c.Password
		}
	})
	tg := trackertest.Target{
		Tracker:         s.client(t, nil),
		Author:          "root",
		Queue:           "PROC19",
		OtherQueue:      "sw-rel",
		UnknownQueue:    "no-such-queue-" + trackertest.Unique(),
		UnknownQueueErr: core.ErrForbidden, // RT answers 403 for a queue it does not know
		BadCredentials:  bad,
		SmallPages: func(t *testing.T, per int) trackertest.Tracker {
			return s.client(t, func(c *rt.Config) { c.PerPage = per })
		},
		OpenState:     "open",
		TerminalState: "resolved",
		Tick:          s.tick,
		Secrets:       []string{s.token, s.badToken(), s.password, "not-" + s.password},
	}
	if i := strings.LastIndexByte(s.token, '-'); i > 0 {
		tg.Secrets = append(tg.Secrets, s.token[i+1:])
	}
	if s.token == "" {
		tg.Author = s.user
	}
	if s.otherUser != "" {
		tg.Other = s.client(t, func(c *rt.Config) { c.Token, c.User, c.Password = "", s.otherUser, s.otherPassword })
		tg.OtherAuthor = s.otherUser
		tg.Secrets = append(tg.Secrets, s.otherPassword)
	}
	return tg
}

// simRT starts the simulator in CI's time zone with the real RT's queues
// and people, on a clock that Tick moves.
func simRT(t *testing.T) rtServer {
	tz, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	sim := rtsim.New(rtsim.Options{
		Queues:       []string{"PROC19", "sw-rel"},
		CustomFields: []string{"ProcbotMarker"},
		Users: []rtsim.User{
			{Name: "root", ID: 14, Password: "password", Token: token},
			{Name: "operator", ID: 20, Password: "operator-password"},
			{Name: "procbot", ID: 27, Token: procbotToken},
		},
		TimeZone: tz,
		Now:      ck.Now,
	})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return rtServer{url: sim.URL(), token: token, password: "password", tz: tz,
		tick:      func() { ck.Add(2 * time.Second) },
		otherUser: "operator", otherPassword: "operator-password"}
}

// realRT is the RT that deploy/dev/rt/start-rt.sh started, as its
// variables describe it. In CI (CI=true) a missing or silent RT fails the
// test; elsewhere it is skipped, saying so.
func realRT(t *testing.T) rtServer {
	t.Helper()
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	unavailable := func(why string) {
		t.Helper()
		if ci {
			t.Fatalf("real RT: %s. CI must run the tracker contract against a real RT 5: "+
				"start one with deploy/dev/rt/start-rt.sh and export its RT_* variables (.ci/run does this)", why)
		}
		t.Skipf("SKIPPED the contract suite against a real RT: %s. To run it: "+
			`f=$(mktemp) && deploy/dev/rt/start-rt.sh > "$f" && . "$f" && go test ./internal/rt/; `+
			`then deploy/dev/rt/stop-rt.sh "$RT_STATE_DIR"`, why)
	}
	s := rtServer{
		url:      os.Getenv("RT_REST2_URL"),
		token:    os.Getenv("RT_TOKEN"),
		user:     os.Getenv("RT_USER"),
		password: os.Getenv("RT_PASSWORD"),
		tz:       time.UTC,
		tick:     func() { time.Sleep(1100 * time.Millisecond) }, // RT keeps whole seconds
	}
	if s.url == "" {
		unavailable("RT_REST2_URL is not set")
	}
	if s.token == "" && (s.user == "" || s.password == "") {
		unavailable("neither RT_TOKEN nor RT_USER and RT_PASSWORD are set")
	}
	if name := os.Getenv("RT_TIMEZONE"); name != "" {
		tz, err := time.LoadLocation(name)
		if err != nil {
			t.Fatalf("RT_TIMEZONE=%q: %v", name, err)
		}
		s.tz = tz
	}
	for _, u := range strings.Fields(os.Getenv("RT_TEST_USERS")) {
		if u == "operator" { // start-rt.sh gives each test user the password "<name>-password"
			s.otherUser, s.otherPassword = u, u+"-password"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := s.client(t, nil).Ping(ctx)
	if err != nil {
		unavailable(fmt.Sprintf("RT at %s does not answer: %v", s.url, err))
	}
	t.Logf("real RT %s at %s, time zone %s", v, s.url, s.tz)
	return s
}

func TestContractRTSim(t *testing.T) {
	s := simRT(t)
	trackertest.Run(t, s.target)
	runTraps(t, s)
}

// procbotToken is the simulator's least-privilege procbot user's.
const procbotToken = "1-27-5eed0000procbot0000000000000000"

// TestContractRTSimLeastPrivilege: the contract as a user who is not
// root, whom the simulator, like RT, answers pages without a total.
func TestContractRTSimLeastPrivilege(t *testing.T) {
	s := simRT(t)
	s.user, s.token, s.password = "procbot", procbotToken, ""
	trackertest.Run(t, func(t *testing.T) trackertest.Target {
		tg := s.target(t)
		tg.Author = "procbot"
		return tg
	})
}

func TestContractRealRT(t *testing.T) {
	s := realRT(t)
	trackertest.Run(t, s.target)
	runTraps(t, s)
}

// TestContractRealRTLeastPrivilege runs the contract as procbot runs in
// production: a user with rights on its own queues only, creating in a
// queue whose name has a space. RT answers such a user's pages without a
// total or a next page.
func TestContractRealRTLeastPrivilege(t *testing.T) {
	s := realRT(t)
	user, token, queue := os.Getenv("RT_PROCBOT_USER"), os.Getenv("RT_PROCBOT_TOKEN"), os.Getenv("RT_SPACED_QUEUE")
	if user == "" || token == "" || queue == "" {
		ci, _ := strconv.ParseBool(os.Getenv("CI"))
		if ci {
			t.Fatalf("real RT: RT_PROCBOT_USER, RT_PROCBOT_TOKEN or RT_SPACED_QUEUE is not set: deploy/dev/rt/start-rt.sh exports them")
		}
		t.Skip("SKIPPED: RT_PROCBOT_USER, RT_PROCBOT_TOKEN or RT_SPACED_QUEUE is not set (deploy/dev/rt/start-rt.sh exports them)")
	}
	s.user, s.token, s.password = user, token, ""
	trackertest.Run(t, func(t *testing.T) trackertest.Target {
		tg := s.target(t)
		tg.Queue, tg.OtherQueue, tg.Author = queue, "PROC19", user
		return tg
	})
}

// ---- RT's traps, checked in the server's answers and in the client

// raw sends one request as root, bypassing the client.
func (s rtServer) raw(t *testing.T, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "token "+s.token)
	} else {
		req.SetBasicAuth(s.user, s.password)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func (s rtServer) rawJSON(t *testing.T, method, path, body string, want int, v any) {
	t.Helper()
	code, b := s.raw(t, method, path, "application/json", body)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, want)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// recorder is a proxy in front of RT that notes every request the client
// sends.
type recorder struct {
	mu      sync.Mutex
	reqs    []*url.URL
	answers map[string][]byte // search answers, by request URL
}

func (s rtServer) recorded(t *testing.T, tweak func(*rt.Config)) (*rt.Client, *recorder) {
	t.Helper()
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{answers: map[string][]byte{}}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/tickets") {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		rec.mu.Lock()
		rec.answers[resp.Request.URL.String()] = b
		rec.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, r.URL)
		rec.mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c := s.client(t, func(c *rt.Config) {
		c.URL = srv.URL + u.Path
		if tweak != nil {
			tweak(c)
		}
	})
	return c, rec
}

func (r *recorder) urls() []*url.URL {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*url.URL(nil), r.reqs...)
}

func runTraps(t *testing.T, s rtServer) {
	ctx := context.Background()
	c := s.client(t, nil)
	create := func(t *testing.T, title string) string {
		t.Helper()
		var v map[string]any
		s.rawJSON(t, "POST", "/ticket", fmt.Sprintf(`{"Queue":"PROC19","Subject":%q,"Content":"x","ContentType":"text/plain"}`, title), 201, &v)
		id, ok := v["id"].(string)
		if !ok {
			t.Fatalf("create answered id %#v, want a string", v["id"])
		}
		return id
	}

	t.Run("ids are strings in create and search answers, numbers in GET ticket", func(t *testing.T) {
		match := "tt-ids-" + trackertest.Unique()
		id := create(t, "trap "+match)
		var one map[string]any
		s.rawJSON(t, "GET", "/ticket/"+id, "", 200, &one)
		if _, ok := one["id"].(float64); !ok {
			t.Errorf("GET /ticket/%s: id %#v, want a number", id, one["id"])
		}
		var list struct{ Items []map[string]any }
		s.rawJSON(t, "GET", "/tickets?query="+url.QueryEscape("Subject LIKE '"+match+"'"), "", 200, &list)
		if len(list.Items) != 1 || list.Items[0]["id"] != id {
			t.Errorf("search items %v, want one with the string id %q", list.Items, id)
		}
		got, err := c.Changed(ctx, match, time.Time{})
		if err != nil || len(got) != 1 || got[0].Ref.ID != id {
			t.Fatalf("changed: %+v %v", got, err)
		}
		tk, err := c.Get(ctx, id)
		if err != nil || tk.Ref != got[0].Ref {
			t.Errorf("get %+v %v, search gave %+v", tk.Ref, err, got[0].Ref)
		}
	})

	t.Run(`"pages" is 0.0 when nothing matches`, func(t *testing.T) {
		match := "tt-nothing-" + trackertest.Unique()
		var env map[string]json.RawMessage
		s.rawJSON(t, "GET", "/tickets?query="+url.QueryEscape("Subject LIKE '"+match+"'"), "", 200, &env)
		if string(env["pages"]) != "0.0" || string(env["total"]) != "0" {
			t.Errorf("empty search: pages %s, total %s", env["pages"], env["total"])
		}
		got, err := c.Changed(ctx, match, time.Time{})
		if err != nil || len(got) != 0 {
			t.Errorf("changed: %+v %v", got, err)
		}
	})

	t.Run("an invalid status is refused inside a 200 message list", func(t *testing.T) {
		id := create(t, "trap status "+trackertest.Unique())
		var msgs []string
		s.rawJSON(t, "PUT", "/ticket/"+id, `{"Status":"bogus"}`, 200, &msgs)
		if len(msgs) != 1 || !strings.Contains(msgs[0], "isn't a valid status") {
			t.Errorf("messages %q", msgs)
		}
		s.rawJSON(t, "PUT", "/ticket/"+id, `{"Status":"new"}`, 200, &msgs)
		if len(msgs) != 0 {
			t.Errorf("setting the status it has: %q, want an empty list", msgs)
		}
		if err := c.SetState(ctx, id, "bogus"); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "bogus") {
			t.Errorf("client: %v, want %v naming the status", err, core.ErrInvalid)
		}
	})

	t.Run("links to a missing ticket are dropped without an error", func(t *testing.T) {
		missing := "999999999"
		var v map[string]any
		s.rawJSON(t, "POST", "/ticket", `{"Queue":"PROC19","Subject":"trap orphan `+trackertest.Unique()+`","Content":"x","ContentType":"text/plain","Parent":`+missing+`}`, 201, &v)
		id, _ := v["id"].(string)
		ps, err := c.Parents(ctx, id)
		if err != nil || len(ps) != 0 {
			t.Errorf("parents of a ticket created under a missing parent: %v %v", ps, err)
		}
		var msgs []string
		s.rawJSON(t, "PUT", "/ticket/"+id, `{"AddMembers":[`+missing+`]}`, 200, &msgs)
		if len(msgs) != 1 || msgs[0] != "Couldn't resolve '"+missing+"' into a link." {
			t.Errorf("adding a missing member: %q", msgs)
		}
		s.rawJSON(t, "PUT", "/ticket/"+id, `{"AddMembers":[`+id+`]}`, 200, &msgs)
		if len(msgs) != 1 || !strings.Contains(msgs[0], "Can't link a ticket to itself") {
			t.Errorf("linking a ticket to itself: %q", msgs)
		}
	})

	t.Run("TicketSQL dates are read in RT's zone", func(t *testing.T) {
		// RT itself must find exactly the changes at or after the cursor:
		// a literal written in the wrong zone would make it answer with
		// older tickets too, which the client's own filter would hide.
		match := "tt-sqlzone-" + trackertest.Unique()
		before := create(t, "trap before "+match)
		s.tick()
		after := create(t, "trap after "+match)
		tk, err := c.Get(ctx, after)
		if err != nil {
			t.Fatal(err)
		}
		rc, rec := s.recorded(t, nil)
		got, err := rc.Changed(ctx, match, tk.UpdatedAt)
		if err != nil || len(got) != 1 || got[0].Ref.ID != after {
			t.Fatalf("changed since %s: %+v %v, want only %s", tk.UpdatedAt, got, err, after)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.answers) == 0 {
			t.Fatal("no search recorded")
		}
		for u, b := range rec.answers {
			var env struct {
				Items []struct{ ID string }
			}
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			for _, it := range env.Items {
				if it.ID == before {
					t.Errorf("RT answered %s with ticket %s, changed a second before the cursor: "+
						"the date was written in %s, which is not RT's zone (RT_TIMEZONE)", u, before, s.tz)
				}
			}
		}
	})

	t.Run("a client with the wrong zone misses changes", func(t *testing.T) {
		// A client that believes RT's zone lies east of the real one writes
		// later wall-clock times, and misses a change the right client sees.
		match := "tt-zone-" + trackertest.Unique()
		id := create(t, "trap "+match)
		tk, err := c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		_, off := tk.UpdatedAt.In(s.tz).Zone()
		wrong := time.FixedZone("wrong", off+5*3600)
		if got, err := c.Changed(ctx, match, tk.UpdatedAt); err != nil || len(got) != 1 {
			t.Fatalf("right zone %s: %+v %v", s.tz, got, err)
		}
		wc := s.client(t, func(c *rt.Config) { c.TimeZone = wrong })
		if got, err := wc.Changed(ctx, match, tk.UpdatedAt); err != nil || len(got) != 0 {
			t.Errorf("a client with the zone 5 hours east of RT's found %+v (%v): the zone is not exercised", got, err)
		}
	})

	t.Run("searches ask for an order and at most 100 per page", func(t *testing.T) {
		rc, rec := s.recorded(t, func(c *rt.Config) { c.PerPage = 500 })
		match := "tt-order-" + trackertest.Unique()
		id := create(t, "trap "+match)
		if got, err := rc.Changed(ctx, match, time.Time{}); err != nil || len(got) != 1 {
			t.Fatalf("changed: %+v %v", got, err)
		}
		if _, err := rc.Articles(ctx, id); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, u := range rec.urls() {
			q := u.Query()
			if q.Has("per_page") {
				n++
				if pp, err := strconv.Atoi(q.Get("per_page")); err != nil || pp > 100 || pp < 1 {
					t.Errorf("%s asks for per_page %q", u.Path, q.Get("per_page"))
				}
			}
			if (strings.HasSuffix(u.Path, "/tickets") || strings.HasSuffix(u.Path, "/history")) && q.Get("orderby") == "" {
				t.Errorf("%s without orderby: RT would answer in no stable order", u)
			}
		}
		if n < 3 {
			t.Errorf("only %d paged requests recorded: %v", n, rec.urls())
		}
		var env map[string]json.RawMessage
		s.rawJSON(t, "GET", "/tickets?per_page=500&query="+url.QueryEscape("id > 0"), "", 200, &env)
		if string(env["per_page"]) != "100" {
			t.Errorf("RT serves per_page %s when asked for 500, want 100", env["per_page"])
		}
	})

	t.Run("lifecycle hyperlinks follow RT's default lifecycle", func(t *testing.T) {
		id := create(t, "trap lifecycle "+trackertest.Unique())
		actions := func() string {
			var tk struct {
				Hyperlinks []map[string]any `json:"_hyperlinks"`
			}
			s.rawJSON(t, "GET", "/ticket/"+id, "", 200, &tk)
			var out []string
			for _, h := range tk.Hyperlinks {
				if h["ref"] == "lifecycle" {
					u, _ := h["_url"].(string)
					out = append(out, fmt.Sprintf("%v:%v:%v:%s", h["to"], h["label"], h["update"], u[strings.LastIndexByte(u, '/')+1:]))
				}
			}
			return strings.Join(out, " ")
		}
		want := map[string]string{
			"new":      "open:Open It:Respond:correspond resolved:Resolve:Comment:comment rejected:Reject:Respond:correspond deleted:Delete:<nil>:" + id,
			"open":     "stalled:Stall:Comment:comment resolved:Resolve:Comment:comment rejected:Reject:Respond:correspond",
			"stalled":  "open:Open It:<nil>:" + id,
			"resolved": "open:Re-open:Comment:comment",
		}
		for _, st := range []string{"new", "open", "stalled", "resolved"} {
			if st != "new" {
				if err := c.SetState(ctx, id, st); err != nil {
					t.Fatal(err)
				}
			}
			if got := actions(); got != want[st] {
				t.Errorf("%s:\n got %s\nwant %s", st, got, want[st])
			}
		}
	})

	t.Run("bodies that are not JSON get 415", func(t *testing.T) {
		id := create(t, "trap 415 "+trackertest.Unique())
		for _, r := range []struct{ method, path, ctype, body string }{
			{"POST", "/ticket", "text/plain", "Queue: PROC19"},
			{"POST", "/ticket", "application/x-www-form-urlencoded", "Queue=PROC19&Subject=x"},
			{"PUT", "/ticket/" + id, "text/plain", "Status: open"},
		} {
			if code, b := s.raw(t, r.method, r.path, r.ctype, r.body); code != 415 {
				t.Errorf("%s %s as %s: %d %s, want 415", r.method, r.path, r.ctype, code, b)
			}
		}
	})

	t.Run("a missing ticket has an empty history and refuses notes with 400", func(t *testing.T) {
		var env map[string]json.RawMessage
		s.rawJSON(t, "GET", "/ticket/999999999/history", "", 200, &env)
		if string(env["total"]) != "0" || string(env["pages"]) != "0.0" {
			t.Errorf("history of a missing ticket: %v", env)
		}
		var m struct{ Message string }
		s.rawJSON(t, "POST", "/ticket/999999999/comment", `{"Content":"x","ContentType":"text/plain"}`, 400, &m)
		if m.Message != "Message could not be recorded" {
			t.Errorf("note on a missing ticket: %q", m.Message)
		}
	})

	t.Run("a JSON note needs a ContentType and is stored as one attachment", func(t *testing.T) {
		id := create(t, "trap note "+trackertest.Unique())
		var m struct{ Message string }
		s.rawJSON(t, "POST", "/ticket/"+id+"/comment", `{"Content":"x"}`, 400, &m)
		if m.Message != "ContentType is a required field for application/json" {
			t.Errorf("note without ContentType: %q", m.Message)
		}
		code, b := s.raw(t, "POST", "/ticket/"+id+"/comment", "application/json", `{"Content":"one part","ContentType":"text/plain"}`)
		var msgs []string
		if code != 201 || json.Unmarshal(b, &msgs) != nil || len(msgs) != 1 || msgs[0] != "Comments added" {
			t.Fatalf("comment: %d %s", code, b)
		}
		var hist struct{ Items []map[string]any }
		s.rawJSON(t, "GET", "/ticket/"+id+"/history?fields=Type&orderby=id&order=DESC&per_page=1", "", 200, &hist)
		if len(hist.Items) != 1 || hist.Items[0]["Type"] != "Comment" {
			t.Fatalf("last transaction %v", hist.Items)
		}
		var atts struct{ Items []map[string]any }
		s.rawJSON(t, "GET", fmt.Sprintf("/transaction/%v/attachments?fields=Content,ContentType,Filename", hist.Items[0]["id"]), "", 200, &atts)
		if len(atts.Items) != 1 || atts.Items[0]["Content"] != "one part" || atts.Items[0]["ContentType"] != "text/plain" {
			t.Errorf("attachments %v", atts.Items)
		}
	})
	t.Run("a changed ticket costs a page of history and its new article, however long its history", func(t *testing.T) {
		id := create(t, "trap history cost "+trackertest.Unique())
		rc, rec := s.recorded(t, func(c *rt.Config) { c.PerPage = 10 })
		notes := 0
		for _, upTo := range []int{5, 35} {
			for ; notes < upTo; notes++ {
				if err := c.AddNote(ctx, id, fmt.Sprintf("note %d", notes+1), false); err != nil {
					t.Fatal(err)
				}
			}
			all, err := c.Articles(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.AddNote(ctx, id, "one more", true); err != nil {
				t.Fatal(err)
			}
			notes++
			before := len(rec.urls())
			got, err := rc.ArticlesAfter(ctx, id, all[len(all)-1].ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || strings.TrimSpace(got[0].Body) != "one more" {
				t.Errorf("with %d notes: read %+v, want the one new note", upTo, got)
			}
			var paths []string
			for _, u := range rec.urls()[before:] {
				paths = append(paths, u.Path)
			}
			if len(paths) > 2 {
				t.Errorf("with %d notes, reading the one new note took %d requests, want at most 2 (a page of history, the note): %v", upTo, len(paths), paths)
			}
		}
	})
	t.Run("the configured time zone is proven on a ticket, a wrong one is named with RT's", func(t *testing.T) {
		create(t, "trap zone "+trackertest.Unique())
		checked, err := c.CheckTimeZone(ctx)
		if err != nil || !checked {
			t.Fatalf("with RT's own zone %s: checked %v, %v", s.tz, checked, err)
		}
		wrong := "Asia/Tokyo" // east of every zone CI runs RT in...
		if _, off := time.Now().In(s.tz).Zone(); off > 0 {
			wrong = "America/Los_Angeles" // ...or west of it
		}
		loc, err := time.LoadLocation(wrong)
		if err != nil {
			t.Fatal(err)
		}
		checked, err = s.client(t, func(c *rt.Config) { c.TimeZone = loc }).CheckTimeZone(ctx)
		var ze *rt.ZoneError
		if !errors.As(err, &ze) || !checked {
			t.Fatalf("configured %s while RT runs in %s: checked %v, %v; want a *rt.ZoneError", wrong, s.tz, checked, err)
		}
		_, rtOff := ze.At.In(s.tz).Zone()
		if ze.Offset != time.Duration(rtOff)*time.Second {
			t.Errorf("found RT's offset %v, RT runs in %s (%ds): %v", ze.Offset, s.tz, rtOff, err)
		}
		t.Logf("the error reads: %v", err)
	})
}
