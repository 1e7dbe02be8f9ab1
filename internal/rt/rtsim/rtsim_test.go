package rtsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/rt/rtsim"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     *testing.T
	srv   *rtsim.Server
	clock *clock
}

func start(t *testing.T, tz *time.Location) *env {
	t.Helper()
	ck := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	s := rtsim.New(rtsim.Options{Queues: []string{"PROC19"}, CustomFields: []string{"ChangeID"}, TimeZone: tz, Now: ck.Now})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return &env{t: t, srv: s, clock: ck}
}

type answer struct {
	code int
	hdr  http.Header
	raw  string
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(a.raw), v); err != nil {
		t.Fatalf("decode %q: %v", a.raw, err)
	}
}

func (e *env) req(method, path, ctype, body string) answer {
	e.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = e.srv.URL() + path
	}
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "token "+rtsim.DefaultToken)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{code: resp.StatusCode, hdr: resp.Header, raw: string(b)}
}

func (e *env) json(method, path, body string) answer {
	return e.req(method, path, "application/json", body)
}

func (e *env) create(body string) string {
	e.t.Helper()
	a := e.json("POST", "/ticket", body)
	if a.code != 201 {
		e.t.Fatalf("create: %d %s", a.code, a.raw)
	}
	var v struct{ ID string }
	a.decode(e.t, &v)
	return v.ID
}

func (e *env) search(query string, extra ...string) answer {
	e.t.Helper()
	q := url.Values{"query": {query}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return e.req("GET", "/tickets?"+q.Encode(), "", "")
}

type page struct {
	Total    int    `json:"total"`
	Count    int    `json:"count"`
	Page     int    `json:"page"`
	PerPage  int    `json:"per_page"`
	NextPage string `json:"next_page"`
	PrevPage string `json:"prev_page"`
	Items    []map[string]any
}

func ids(p page) string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it["id"].(string))
	}
	return strings.Join(out, ",")
}

func messages(t *testing.T, a answer) []string {
	t.Helper()
	var m []string
	a.decode(t, &m)
	return m
}

func hyperlinks(t *testing.T, e *env, id, ref string) []string {
	t.Helper()
	var v struct {
		Links []struct {
			Ref  string `json:"ref"`
			ID   any    `json:"id"`
			URL  string `json:"_url"`
			Type string `json:"type"`
		} `json:"_hyperlinks"`
	}
	e.json("GET", "/ticket/"+id, "").decode(t, &v)
	var out []string
	for _, l := range v.Links {
		if l.Ref == ref {
			if l.Type == "external" {
				out = append(out, l.URL)
			} else {
				out = append(out, l.ID.(string))
			}
		}
	}
	return out
}

func TestTraps(t *testing.T) {
	plus2 := time.FixedZone("UTC+2", 2*3600)
	tests := []struct {
		name string
		tz   *time.Location
		run  func(t *testing.T, e *env)
	}{
		{"create answers a string id, GET a number id", nil, func(t *testing.T, e *env) {
			a := e.json("POST", "/ticket", `{"Queue":"PROC19","Subject":"x","Content":"y","ContentType":"text/plain"}`)
			if a.code != 201 || a.hdr.Get("Location") != "/REST/2.0/ticket/1" {
				t.Fatalf("create: %d %v", a.code, a.hdr)
			}
			if !regexp.MustCompile(`"id"\s*:\s*"1"`).MatchString(a.raw) {
				t.Errorf("create id not a string: %s", a.raw)
			}
			g := e.json("GET", "/ticket/1", "")
			if !regexp.MustCompile(`"id"\s*:\s*1\b`).MatchString(g.raw) || g.hdr.Get("ETag") == "" {
				t.Errorf("GET id not a number or no ETag: %s", g.raw)
			}
			var v struct {
				Queue struct{ ID string } `json:"Queue"`
				Owner struct{ ID string } `json:"Owner"`
			}
			g.decode(t, &v)
			if v.Queue.ID != "3" || v.Owner.ID != "Nobody" {
				t.Errorf("queue/owner: %+v", v)
			}
			s := e.search("Subject LIKE 'x'")
			if !regexp.MustCompile(`"id"\s*:\s*"1"`).MatchString(s.raw) {
				t.Errorf("search id not a string: %s", s.raw)
			}
		}},
		{"empty search has pages 0.0", nil, func(t *testing.T, e *env) {
			a := e.search("Subject = 'nothing'")
			if a.code != 200 || !regexp.MustCompile(`"pages"\s*:\s*0\.0`).MatchString(a.raw) {
				t.Fatalf("%d %s", a.code, a.raw)
			}
			var v struct{ Pages int }
			if json.Unmarshal([]byte(a.raw), &v) == nil {
				t.Error("pages 0.0 decoded into an int; the trap is gone")
			}
		}},
		{"invalid status and dependencies fail inside a 200", nil, func(t *testing.T, e *env) {
			a := e.create(`{"Queue":"PROC19","Subject":"a"}`)
			b := e.create(`{"Queue":"PROC19","Subject":"b"}`)
			r := e.json("PUT", "/ticket/"+a, `{"Status":"bogus"}`)
			if m := messages(t, r); r.code != 200 || len(m) != 1 || m[0] != "Ticket 1: Status 'bogus' isn't a valid status for this ticket." {
				t.Errorf("bogus: %d %v", r.code, m)
			}
			e.json("PUT", "/ticket/"+a, `{"AddDependsOn":`+b+`}`)
			r = e.json("PUT", "/ticket/"+a, `{"Status":"resolved"}`)
			if m := messages(t, r); r.code != 200 || len(m) != 1 || m[0] != "Ticket 1: That ticket has unresolved dependencies" {
				t.Errorf("deps: %d %v", r.code, m)
			}
			r = e.json("PUT", "/ticket/"+b, `{"Status":"resolved"}`)
			if m := messages(t, r); len(m) != 1 || m[0] != "Ticket 2: Status changed from 'new' to 'resolved'" {
				t.Errorf("resolve b: %v", m)
			}
			if m := messages(t, e.json("PUT", "/ticket/"+a, `{"Status":"resolved"}`)); len(m) != 1 || !strings.Contains(m[0], "Status changed") {
				t.Errorf("resolve a after b: %v", m)
			}
			if m := messages(t, e.json("PUT", "/ticket/"+a, `{"Status":"resolved"}`)); len(m) != 0 {
				t.Errorf("no-op status change answered %v", m)
			}
		}},
		{"link to a missing ticket is dropped silently at create", nil, func(t *testing.T, e *env) {
			a := e.json("POST", "/ticket", `{"Queue":"PROC19","Subject":"orphan","Parent":99999}`)
			if a.code != 201 {
				t.Fatalf("%d %s", a.code, a.raw)
			}
			if p := hyperlinks(t, e, "1", "parent"); len(p) != 0 {
				t.Errorf("parent links %v", p)
			}
		}},
		{"date literals are read in RT's time zone, whole seconds, strict", plus2, func(t *testing.T, e *env) {
			e.create(`{"Queue":"PROC19","Subject":"tz"}`) // LastUpdated 10:00:00 UTC = 12:00:00 local
			for _, c := range []struct {
				lit  string
				want int
			}{
				{"2026-11-22 11:59:59", 1},
				{"2026-11-22 12:00:00", 0}, // strict >
				{"2026-11-22 11:00:00", 1}, // 09:00 UTC
				{"2026-11-22 10:00:00", 1},
				{"2026-11-22 12:00:01", 0},
				{"2026-11-22T11:00:00Z", 1}, // time part lost: the whole day
				{"2026-11-22T23:59:59Z", 1},
			} {
				var p page
				e.search("LastUpdated > '"+c.lit+"'").decode(t, &p)
				if p.Total != c.want {
					t.Errorf("LastUpdated > %q: total %d, want %d", c.lit, p.Total, c.want)
				}
			}
		}},
		{"without orderby results are not in id order", nil, func(t *testing.T, e *env) {
			for i := 0; i < 4; i++ {
				e.create(`{"Queue":"PROC19","Subject":"order"}`)
			}
			e.json("PUT", "/ticket/2", `{"Status":"open"}`)
			var p page
			e.search("Subject LIKE 'order'").decode(t, &p)
			if ids(p) == "1,2,3,4" {
				t.Errorf("unordered search came in id order")
			}
			e.search("Subject LIKE 'order'", "orderby", "id", "order", "ASC").decode(t, &p)
			if ids(p) != "1,2,3,4" {
				t.Errorf("orderby=id: %s", ids(p))
			}
			e.search("Subject LIKE 'order'", "orderby", "id", "order", "DESC").decode(t, &p)
			if ids(p) != "4,3,2,1" {
				t.Errorf("orderby=id DESC: %s", ids(p))
			}
			e.clock.Add(time.Minute)
			e.json("PUT", "/ticket/1", `{"Subject":"order again"}`)
			e.search("Subject LIKE 'order'", "orderby", "LastUpdated").decode(t, &p)
			if ids(p) != "2,3,4,1" {
				t.Errorf("orderby=LastUpdated: %s", ids(p))
			}
		}},
		{"non-JSON bodies get 415", nil, func(t *testing.T, e *env) {
			e.create(`{"Queue":"PROC19","Subject":"x"}`)
			for _, c := range []struct{ method, path string }{{"POST", "/ticket"}, {"PUT", "/ticket/1"}} {
				a := e.req(c.method, c.path, "application/x-www-form-urlencoded", "Queue=PROC19&Subject=x")
				if a.code != 415 || !strings.Contains(a.raw, `"Unsupported Media Type"`) {
					t.Errorf("%s %s: %d %s", c.method, c.path, a.code, a.raw)
				}
			}
			if a := e.req("POST", "/ticket/1/comment", "text/plain", "plain note"); a.code != 201 {
				t.Errorf("text/plain comment: %d %s", a.code, a.raw)
			}
		}},
		{"per_page is capped at 100 and paging links follow", nil, func(t *testing.T, e *env) {
			for i := 0; i < 3; i++ {
				e.create(`{"Queue":"PROC19","Subject":"page"}`)
			}
			var p page
			e.search("Subject LIKE 'page'", "per_page", "500").decode(t, &p)
			if p.PerPage != 100 || p.Count != 3 {
				t.Errorf("per_page=500: %+v", p)
			}
			e.search("Subject LIKE 'page'", "per_page", "2", "orderby", "id").decode(t, &p)
			if p.Count != 2 || p.NextPage == "" || p.PrevPage != "" {
				t.Fatalf("page 1: %+v", p)
			}
			next := p.NextPage
			p = page{}
			e.req("GET", next, "", "").decode(t, &p)
			if p.Page != 2 || ids(p) != "3" || p.NextPage != "" || p.PrevPage == "" {
				t.Errorf("page 2: %+v", p)
			}
			p = page{}
			e.search("Subject LIKE 'page'", "per_page", "2", "page", "5").decode(t, &p)
			if p.Count != 0 || len(p.Items) != 0 {
				t.Errorf("past the end: %+v", p)
			}
		}},
		{"Parent on PUT replaces the parent list", nil, func(t *testing.T, e *env) {
			e.create(`{"Queue":"PROC19","Subject":"p1"}`)
			e.create(`{"Queue":"PROC19","Subject":"p2"}`)
			c := e.create(`{"Queue":"PROC19","Subject":"c","Parent":1}`)
			m := messages(t, e.json("PUT", "/ticket/"+c, `{"Parent":[2]}`))
			if strings.Join(m, "|") != "Ticket 3 member of Ticket 2.|Ticket 3 no longer member of Ticket 1." {
				t.Errorf("messages %v", m)
			}
			if got := hyperlinks(t, e, "1", "child"); len(got) != 0 {
				t.Errorf("children of 1: %v", got)
			}
			m = messages(t, e.json("PUT", "/ticket/1", `{"AddMembers":[3],"AddRefersTo":"https://example.com/change/42"}`))
			if strings.Join(m, "|") != "Ticket 3 member of Ticket 1.|Ticket 1 refers to URI https://example.com/change/42." {
				t.Errorf("add messages %v", m)
			}
			if got := strings.Join(hyperlinks(t, e, c, "parent"), ","); got != "2,1" && got != "1,2" {
				t.Errorf("parents of 3: %s", got)
			}
			if got := hyperlinks(t, e, "1", "refers-to"); len(got) != 1 || got[0] != "https://example.com/change/42" {
				t.Errorf("refers-to %v", got)
			}
			m = messages(t, e.json("PUT", "/ticket/"+c, `{"DeleteParent":1}`))
			if len(m) != 1 || m[0] != "Ticket 3 no longer member of Ticket 1." {
				t.Errorf("delete: %v", m)
			}
			var p page
			e.search("MemberOf = 2").decode(t, &p)
			if ids(p) != "3" {
				t.Errorf("MemberOf = 2: %s", ids(p))
			}
			e.search("HasMember = 3").decode(t, &p)
			if ids(p) != "2" {
				t.Errorf("HasMember = 3: %s", ids(p))
			}
		}},
		{"errors: 401, 404, unknown queue, missing queue, bad query", nil, func(t *testing.T, e *env) {
			req, _ := http.NewRequest("GET", e.srv.URL()+"/rt", nil)
			req.Header.Set("Authorization", "token 1-14-wrong")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || !strings.Contains(string(b), `"Unauthorized"`) {
				t.Errorf("bad token: %d %s", resp.StatusCode, b)
			}
			if a := e.json("GET", "/ticket/42", ""); a.code != 404 || !strings.Contains(a.raw, `"Not Found"`) {
				t.Errorf("404: %d %s", a.code, a.raw)
			}
			if a := e.json("PUT", "/ticket/42", `{}`); a.code != 404 || !strings.Contains(a.raw, "use POST to create") {
				t.Errorf("PUT 404: %d %s", a.code, a.raw)
			}
			if a := e.json("POST", "/ticket", `{"Queue":"NoSuchQueue","Subject":"x"}`); a.code != 403 ||
				!strings.Contains(a.raw, "No permission to create tickets in the queue 'NoSuchQueue'") {
				t.Errorf("403: %d %s", a.code, a.raw)
			}
			if a := e.json("POST", "/ticket", `{"Subject":"x"}`); a.code != 400 || !strings.Contains(a.raw, "Queue not set") {
				t.Errorf("no queue: %d %s", a.code, a.raw)
			}
			a := e.search("Subject LIKE")
			if a.code != 400 || !strings.Contains(a.raw, "Incomplete query, last element (OPERATOR) is not close paren or value in 'Subject LIKE' at ") {
				t.Errorf("bad query: %d %s", a.code, a.raw)
			}
			if a := e.search("Bogus = 1"); a.code != 400 {
				t.Errorf("unknown field: %d %s", a.code, a.raw)
			}
			var v struct{ Version string }
			e.json("GET", "/rt", "").decode(t, &v)
			if v.Version != "5.0.3+dfsg-3~deb12u6" {
				t.Errorf("version %q", v.Version)
			}
		}},
		{"deleted tickets vanish from searches that do not name them", nil, func(t *testing.T, e *env) {
			e.create(`{"Queue":"PROC19","Subject":"gone"}`)
			if a := e.req("DELETE", "/ticket/1", "", ""); a.code != 204 {
				t.Fatalf("delete %d", a.code)
			}
			var p page
			e.search("id = 1").decode(t, &p)
			if p.Total != 0 {
				t.Errorf("id = 1 found a deleted ticket")
			}
			e.search("id = 1 AND Status = 'deleted'").decode(t, &p)
			if p.Total != 1 {
				t.Errorf("Status = 'deleted' did not find it")
			}
		}},
		{"TicketSQL subset", nil, func(t *testing.T, e *env) {
			e.create(`{"Queue":"PROC19","Subject":"It's PROC19 one","CustomFields":{"ChangeID":"CHG-1"}}`)
			e.create(`{"Queue":"General","Subject":"two"}`)
			e.create(`{"Queue":"PROC19","Subject":"three","Status":"resolved"}`)
			for _, c := range []struct{ q, want string }{
				{`Subject LIKE 'it\'s proc19'`, "1"},
				{`Subject = 'two'`, "2"},
				{`Queue = 'PROC19'`, "1,3"},
				{`Queue = 'PROC19' AND Status = '__Active__'`, "1"},
				{`Status = '__Inactive__' OR Subject = 'two'`, "2,3"},
				{`'CF.{ChangeID}' = 'CHG-1'`, "1"},
				{`(Subject = 'two' OR Subject = 'three') AND Queue = 'PROC19'`, "3"},
				{`Subject = 'two' OR Subject = 'three' AND Queue = 'PROC19'`, "2,3"},
				{`id = 2`, "2"},
				{`id > 1 AND LastUpdated >= '2026-11-22 10:00:00'`, "2,3"},
				{`LastUpdated < '2026-11-22 10:00:00'`, ""},
			} {
				var p page
				a := e.search(c.q, "orderby", "id")
				if a.code != 200 {
					t.Errorf("%s: %d %s", c.q, a.code, a.raw)
					continue
				}
				a.decode(t, &p)
				if ids(p) != c.want {
					t.Errorf("%s: got %q, want %q", c.q, ids(p), c.want)
				}
			}
		}},
		{"history, correspond opens, attachments are plain text", nil, func(t *testing.T, e *env) {
			p := e.create(`{"Queue":"PROC19","Subject":"parent","Content":"first","ContentType":"text/plain"}`)
			e.create(`{"Queue":"PROC19","Subject":"child","Parent":` + p + `}`)
			if m := messages(t, e.json("POST", "/ticket/1/comment", `{"Content":"internal","ContentType":"text/plain"}`)); len(m) != 1 || m[0] != "Comments added" {
				t.Errorf("comment: %v", m)
			}
			a := e.json("POST", "/ticket/1/correspond", `{"Content":"reply","ContentType":"text/plain"}`)
			if m := messages(t, a); a.code != 201 || len(m) != 1 || m[0] != "Correspondence added" || !strings.HasPrefix(a.hdr.Get("Location"), "/REST/2.0/transaction/") {
				t.Errorf("correspond: %d %v %v", a.code, m, a.hdr)
			}
			var tk struct{ Status string }
			e.json("GET", "/ticket/1", "").decode(t, &tk)
			if tk.Status != "open" {
				t.Errorf("status after correspond %q", tk.Status)
			}
			var h page
			e.json("GET", "/ticket/1/history?fields=Type,Field,Creator,Created", "").decode(t, &h)
			var types []string
			for _, it := range h.Items {
				types = append(types, it["Type"].(string))
			}
			if got := strings.Join(types, ","); got != "Create,AddLink,Comment,Correspond,Status" {
				t.Errorf("parent history %s", got)
			}
			var ch page
			e.json("GET", "/ticket/2/history?fields=Type", "").decode(t, &ch)
			if len(ch.Items) != 1 || ch.Items[0]["Type"] != "Create" {
				t.Errorf("child history should hold no AddLink for a link made at create: %v", ch.Items)
			}
			corr := h.Items[3]["id"].(string)
			var att page
			e.json("GET", "/transaction/"+corr+"/attachments?fields=Content,ContentType", "").decode(t, &att)
			// RT 5.0.3 stores a REST2 JSON message as one attachment.
			if len(att.Items) != 1 || att.Items[0]["Content"] != "reply" || att.Items[0]["ContentType"] != "text/plain" {
				t.Errorf("attachments %v", att.Items)
			}
			if g := e.json("GET", "/transaction/"+corr, ""); !regexp.MustCompile(`"id"\s*:\s*\d+`).MatchString(g.raw) {
				t.Errorf("transaction id not a number: %s", g.raw)
			}
		}},
		{"faults are deterministic", nil, func(t *testing.T, e *env) {
			codes := func() string {
				e.srv.SetFaults(rtsim.Faults{Rate: 0.5, Kinds: []rtsim.FaultKind{rtsim.Fault500, rtsim.Fault503, rtsim.Fault429}, Seed: 7})
				var out []string
				for i := 0; i < 20; i++ {
					out = append(out, http.StatusText(e.json("GET", "/rt", "").code))
				}
				return strings.Join(out, ",")
			}
			first := codes()
			if first != codes() {
				t.Error("same seed, different faults")
			}
			if !strings.Contains(first, "OK") || !strings.Contains(first, "Too Many Requests") {
				t.Errorf("rate 0.5 gave %s", first)
			}
			e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault429}, RetryAfter: 3})
			if a := e.json("GET", "/rt", ""); a.code != 429 || a.hdr.Get("Retry-After") != "3" {
				t.Errorf("429: %d %v", a.code, a.hdr)
			}
			e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.FaultDrop}})
			if _, err := http.Get(e.srv.URL() + "/rt"); err == nil {
				t.Error("dropped connection gave an answer")
			}
			e.srv.SetFaults(rtsim.Faults{})
			if a := e.json("GET", "/rt", ""); a.code != 200 {
				t.Errorf("faults off: %d", a.code)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, start(t, tc.tz))
		})
	}
}

func TestSearchByFormAndHandler(t *testing.T) {
	s := rtsim.New(rtsim.Options{Queues: []string{"PROC19"}})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	do := func(method, path, ctype, body string) (int, string) {
		req, _ := http.NewRequest(method, ts.URL+"/REST/2.0"+path, strings.NewReader(body))
		req.SetBasicAuth("root", "password")
		req.Header.Set("Content-Type", ctype)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("POST", "/ticket", "application/json", `{"Queue":3,"Subject":"form"}`); code != 201 || !strings.Contains(body, ts.URL+"/REST/2.0/ticket/1") {
		t.Fatalf("create by queue id: %d %s", code, body)
	}
	code, body := do("POST", "/tickets", "application/x-www-form-urlencoded", url.Values{"query": {"Subject = 'form'"}, "fields": {"Queue"}, "fields[Queue]": {"Name"}}.Encode())
	if code != 200 || !strings.Contains(body, `"total": 1`) || !strings.Contains(body, `"Name": "PROC19"`) {
		t.Errorf("POST search: %d %s", code, body)
	}
	if code, body := do("GET", "/queue/3", "", ""); code != 200 || !regexp.MustCompile(`"id"\s*:\s*3\b`).MatchString(body) {
		t.Errorf("queue: %d %s", code, body)
	}
	if code, _ := do("GET", "/queue/99", "", ""); code != 404 {
		t.Errorf("missing queue: %d", code)
	}
}

func TestBasicAuthAndConcurrency(t *testing.T) {
	e := start(t, nil)
	req, _ := http.NewRequest("GET", e.srv.URL()+"/rt", nil)
	req.SetBasicAuth("root", "password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("basic auth: %d", resp.StatusCode)
	}
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.create(`{"Queue":"PROC19","Subject":"parallel"}`)
		}()
	}
	wg.Wait()
	var p page
	e.search("Subject = 'parallel'").decode(t, &p)
	if p.Total != 20 {
		t.Errorf("total %d", p.Total)
	}
}

func TestFaultOptions(t *testing.T) {
	t.Run("a 401 fault refuses the credentials and changes nothing", func(t *testing.T) {
		e := start(t, nil)
		e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault401}, After: true})
		if a := e.json("POST", "/ticket", `{"Queue":"PROC19","Subject":"x"}`); a.code != http.StatusUnauthorized {
			t.Errorf("status %d", a.code)
		}
		e.srv.SetFaults(rtsim.Faults{})
		if a := e.req("GET", "/ticket/1", "", ""); a.code != http.StatusNotFound {
			t.Errorf("ticket 1: %d, want none", a.code)
		}
	})
	t.Run("AfterRate carries out only a share of the failed requests", func(t *testing.T) {
		e := start(t, nil)
		e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault502}, AfterRate: 0.5, Seed: 3})
		for i := 0; i < 40; i++ {
			e.json("POST", "/ticket", `{"Queue":"PROC19","Subject":"x"}`)
		}
		e.srv.SetFaults(rtsim.Faults{})
		made := 0
		for i := 1; i <= 40; i++ {
			if e.req("GET", "/ticket/"+strconv.Itoa(i), "", "").code == http.StatusOK {
				made++
			}
		}
		if made == 0 || made == 40 {
			t.Errorf("%d of 40 failed creates carried out, want some", made)
		}
	})
	t.Run("Max limits the faults; requests are counted", func(t *testing.T) {
		e := start(t, nil)
		e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault503}, Max: 2})
		for _, want := range []int{503, 503, 200} {
			if a := e.req("GET", "/rt", "", ""); a.code != want {
				t.Errorf("status %d, want %d", a.code, want)
			}
		}
		if n := e.srv.CountRequests("GET", "/rt"); n != 3 {
			t.Errorf("%d requests counted, want 3", n)
		}
	})
	t.Run("Paths limit the faults", func(t *testing.T) {
		e := start(t, nil)
		e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault503}, Paths: []string{"/queue"}})
		if a := e.req("GET", "/rt", "", ""); a.code != 200 {
			t.Errorf("/rt: %d, want 200", a.code)
		}
		if a := e.req("GET", "/queue/1", "", ""); a.code != 503 {
			t.Errorf("/queue/1: %d, want 503", a.code)
		}
	})
	t.Run("answers that are no confirmation", func(t *testing.T) {
		e := start(t, nil)
		for _, tc := range []struct {
			kind        rtsim.FaultKind
			contentType string
			body        string
		}{
			{rtsim.FaultHTML200, "text/html", "<!DOCTYPE html>"},
			{rtsim.FaultEmpty200, "application/json", "{}"},
		} {
			e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{tc.kind}})
			a := e.req("POST", "/ticket/1/comment", "application/json", `{"Content":"x"}`)
			if a.code != 200 || !strings.HasPrefix(a.hdr.Get("Content-Type"), tc.contentType) || !strings.HasPrefix(a.raw, tc.body) {
				t.Errorf("%d: %d %v %s", tc.kind, a.code, a.hdr, a.raw)
			}
		}
		e.srv.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.FaultRedirect}, RedirectTo: "http://elsewhere.example/login"})
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(e.srv.URL() + "/rt")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://elsewhere.example/login" {
			t.Errorf("redirect: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
