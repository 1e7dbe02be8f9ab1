package zammadsim_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

func TestAuthentication(t *testing.T) {
	e := start(t, nil)
	cases := []struct {
		name        string
		auth        string
		wantStatus  int
		wantError   string
		wantFailure bool
	}{
		{"no credentials answer 403 Authentication required", "", 403, "Authentication required", false},
		{"unknown token answers 401 with X-Failure", "Token token=nope", 401, "Can't find User for Token", true},
		{"Token token= form is accepted", "Token token=" + robotToken, 200, "", false},
		{"quoted Token token form is accepted", `Token token="` + robotToken + `"`, 200, "", false},
		{"bare Token form is accepted", "Token " + robotToken, 200, "", false},
		{"Bearer form is accepted", "Bearer " + robotToken, 200, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call(tc.auth, "GET", "/users/me", nil)
			if a.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", a.status, tc.wantStatus, a.body)
			}
			if tc.wantError != "" {
				if got := a.obj(t)["error"]; got != tc.wantError {
					t.Errorf("error %q, want %q", got, tc.wantError)
				}
			} else if got := a.obj(t)["login"]; got != "robot@example.org" {
				t.Errorf("login %q", got)
			}
			if got := a.header.Get("X-Failure"); tc.wantFailure && got != tc.wantError {
				t.Errorf("X-Failure %q, want %q", got, tc.wantError)
			}
		})
	}
}

func TestErrorBodies(t *testing.T) {
	e := start(t, nil)
	id, _ := e.create("existing", opsGroup)
	cases := []struct {
		name       string
		token      string
		method     string
		path       string
		body       any
		wantStatus int
		wantError  string
	}{
		{"unknown ticket answers 404 with Zammad's text", robotToken, "GET", "/tickets/999999", nil, 404, "Couldn't find Ticket with 'id'=999999"},
		{"unknown group name answers 422 lookup error", robotToken, "POST", "/tickets",
			map[string]any{"title": "x", "group": "Nope", "customer_id": 2}, 422, `No lookup value found for 'group': "Nope"`},
		{"unknown state name answers 422 lookup error", robotToken, "PUT", fmt.Sprintf("/tickets/%d", id),
			map[string]any{"state": "finished"}, 422, `No lookup value found for 'state': "finished"`},
		{"unknown customer answers 422 lookup error", robotToken, "POST", "/tickets",
			map[string]any{"title": "x", "group": opsGroup, "customer": "bob@example.org"}, 422, `No lookup value found for 'customer': "bob@example.org"`},
		{"invalid guess email answers 422", robotToken, "POST", "/tickets",
			map[string]any{"title": "x", "group": opsGroup, "customer_id": "guess:not an email"}, 422, "Invalid email 'not an email' of customer"},
		{"missing group answers 422", robotToken, "POST", "/tickets", map[string]any{"title": "x", "customer_id": 2}, 422, "Attribute 'group_id' required!"},
		{"article without body answers 422", robotToken, "POST", "/ticket_articles", map[string]any{"ticket_id": id}, 422, "Need at least an 'article body' field."},
		{"article on unknown ticket answers 404", robotToken, "POST", "/ticket_articles", map[string]any{"ticket_id": 5, "body": "x"}, 404, "Couldn't find Ticket with 'id'=5"},
		{"creating without create right answers 403", readerToken, "POST", "/tickets",
			map[string]any{"title": "x", "group": opsGroup, "customer_id": 2}, 403, "Not authorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("Token token="+tc.token, tc.method, tc.path, tc.body)
			if a.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", a.status, tc.wantStatus, a.body)
			}
			if tc.wantError == "" {
				return
			}
			m := a.obj(t)
			if m["error"] != tc.wantError {
				t.Errorf("error %q, want %q", m["error"], tc.wantError)
			}
			if tc.wantStatus == 403 {
				if a.header.Get("X-Failure") != tc.wantError {
					t.Errorf("X-Failure %q", a.header.Get("X-Failure"))
				}
			} else if m["error_human"] != tc.wantError {
				t.Errorf("error_human %q, want %q", m["error_human"], tc.wantError)
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	e := start(t, nil)
	secret, _ := e.create("secret ticket", "Secret")
	ops, _ := e.create("ops ticket", opsGroup)

	t.Run("agent without read right on the group gets 403 on the ticket", func(t *testing.T) {
		e.as(readerToken, "GET", fmt.Sprintf("/tickets/%d", secret), nil, 403)
	})
	t.Run("search shows only tickets of readable groups", func(t *testing.T) {
		got := ids(t, e.as(readerToken, "GET", "/tickets/search?query=ticket", nil, 200).arr(t))
		if !eqInts(got, []int{ops}) {
			t.Errorf("got %v, want [%d]", got, ops)
		}
	})
	t.Run("read-only agent cannot update", func(t *testing.T) {
		e.as(readerToken, "PUT", fmt.Sprintf("/tickets/%d", ops), map[string]any{"state": "open"}, 403)
	})
	t.Run("customer sees own tickets but not internal articles", func(t *testing.T) {
		e.as(robotToken, "POST", "/ticket_articles", map[string]any{"ticket_id": ops, "body": "secret note", "internal": true}, 201)
		arts := e.as(aliceToken, "GET", fmt.Sprintf("/ticket_articles/by_ticket/%d", ops), nil, 200).arr(t)
		for _, a := range arts {
			if a.(map[string]any)["internal"] == true {
				t.Errorf("customer sees internal article %v", a)
			}
		}
		if len(arts) != 1 {
			t.Errorf("customer sees %d articles, want 1", len(arts))
		}
	})
}

func TestTicketCreateDefaults(t *testing.T) {
	e := start(t, nil)
	m := e.as(robotToken, "POST", "/tickets?expand=true", map[string]any{
		"title": "PROC19 FooStack: GOCDB integration", "group": gocdbGroup, "customer_id": "guess:new.person@example.org",
		"article": map[string]any{"body": "<p>hi</p>", "content_type": "text/html", "type": "note"},
		"tags":    "proc19, proc19-child", "vo_support": "cms",
	}, 201).obj(t)
	checks := []struct {
		name string
		ok   bool
	}{
		{"id is an integer from 1000", num(t, m["id"]) == 1000},
		{"number is a string distinct from id", m["number"] == "10100"},
		{"state defaults to new", m["state"] == "new"},
		{"priority defaults to 2 normal", m["priority"] == "2 normal"},
		{"owner defaults to the system user 1", num(t, m["owner_id"]) == 1 && m["owner"] == "-"},
		{"group name is the full path", m["group"] == gocdbGroup},
		{"guess: creates the customer", m["customer"] == "new.person@example.org"},
		{"article_count counts the first article", num(t, m["article_count"]) == 1},
		{"close_at is null", m["close_at"] == nil},
		{"custom attributes are kept", m["vo_support"] == "cms"},
		{"timestamps have milliseconds and Z", m["created_at"] == "2025-06-02T09:00:00.000Z"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Errorf("ticket: %v", m)
			}
		})
	}
	t.Run("tags from create are listed", func(t *testing.T) {
		tags := e.as(robotToken, "GET", "/tags?object=Ticket&o_id=1000", nil, 200).obj(t)["tags"].([]any)
		if fmt.Sprint(tags) != "[proc19 proc19-child]" {
			t.Errorf("tags %v", tags)
		}
	})
	t.Run("second ticket continues both sequences", func(t *testing.T) {
		id, number := e.create("next", opsGroup)
		if id != 1001 || number != "10101" {
			t.Errorf("id %d number %s", id, number)
		}
	})
	t.Run("plain GET has ids only, no names", func(t *testing.T) {
		m := e.as(robotToken, "GET", "/tickets/1000", nil, 200).obj(t)
		if _, ok := m["state"]; ok {
			t.Errorf("state name present without expand: %v", m)
		}
	})
	t.Run("articles carry names without expand", func(t *testing.T) {
		a := e.as(robotToken, "GET", "/ticket_articles/by_ticket/1000", nil, 200).arr(t)[0].(map[string]any)
		if a["created_by"] != "robot@example.org" || a["type"] != "note" || a["sender"] != "Agent" {
			t.Errorf("article %v", a)
		}
	})
}

func TestCloseAt(t *testing.T) {
	e := start(t, nil)
	id, _ := e.create("closing", opsGroup)
	path := fmt.Sprintf("/tickets/%d", id)
	setState := func(state string) map[string]any {
		return e.as(robotToken, "PUT", path, map[string]any{"state": state}, 200).obj(t)
	}
	first := e.clk.Advance(time.Minute).Format("2006-01-02T15:04:05.000Z")
	m := setState("solved")
	t.Run("first close sets close_at and last_close_at", func(t *testing.T) {
		if m["close_at"] != first || m["last_close_at"] != first {
			t.Errorf("close_at %v last_close_at %v, want %s", m["close_at"], m["last_close_at"], first)
		}
	})
	e.clk.Advance(time.Minute)
	m = setState("reopened")
	t.Run("reopening clears neither", func(t *testing.T) {
		if m["close_at"] != first || m["last_close_at"] != first {
			t.Errorf("close_at %v last_close_at %v", m["close_at"], m["last_close_at"])
		}
	})
	second := e.clk.Advance(time.Minute).Format("2006-01-02T15:04:05.000Z")
	m = setState("closed")
	t.Run("a later close moves only last_close_at", func(t *testing.T) {
		if m["close_at"] != first || m["last_close_at"] != second {
			t.Errorf("close_at %v last_close_at %v, want %s and %s", m["close_at"], m["last_close_at"], first, second)
		}
	})
	t.Run("non-closed state types never set close_at", func(t *testing.T) {
		other, _ := e.create("other", opsGroup)
		m := e.as(robotToken, "PUT", fmt.Sprintf("/tickets/%d", other), map[string]any{"state": "on hold"}, 200).obj(t)
		if m["close_at"] != nil {
			t.Errorf("close_at %v", m["close_at"])
		}
	})
}

func TestUpdatedAtBumps(t *testing.T) {
	e := start(t, nil)
	id, _ := e.create("bumps", opsGroup)
	other, otherNumber := e.create("other", opsGroup)
	path := fmt.Sprintf("/tickets/%d", id)
	cases := []struct {
		name string
		do   func()
		bump bool
	}{
		{"attribute update bumps", func() { e.as(robotToken, "PUT", path, map[string]any{"title": "bumps 2"}, 200) }, true},
		{"update without change does not bump", func() { e.as(robotToken, "PUT", path, map[string]any{"title": "bumps 2"}, 200) }, false},
		{"new article bumps", func() {
			e.as(robotToken, "POST", "/ticket_articles", map[string]any{"ticket_id": id, "body": "note"}, 201)
		}, true},
		{"new link bumps", func() {
			e.as(robotToken, "POST", "/links/add", map[string]any{"link_type": "child", "link_object_source": "Ticket",
				"link_object_source_number": otherNumber, "link_object_target": "Ticket", "link_object_target_value": id}, 201)
		}, true},
		{"removed link bumps", func() {
			e.as(robotToken, "DELETE", "/links/remove", map[string]any{"link_type": "child", "link_object_source": "Ticket",
				"link_object_source_value": other, "link_object_target": "Ticket", "link_object_target_value": id}, 200)
		}, true},
		{"new tag bumps", func() {
			e.as(robotToken, "POST", "/tags/add", map[string]any{"object": "Ticket", "o_id": id, "item": "x"}, 201)
		}, true},
		{"repeated tag does not bump", func() {
			e.as(robotToken, "POST", "/tags/add", map[string]any{"object": "Ticket", "o_id": id, "item": "x"}, 201)
		}, false},
		{"removed tag bumps", func() {
			e.as(robotToken, "DELETE", "/tags/remove", map[string]any{"object": "Ticket", "o_id": id, "item": "x"}, 200)
		}, true},
		{"reading does not bump", func() { e.as(robotToken, "GET", path, nil, 200) }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := e.s.Ticket(id)
			now := e.clk.Advance(time.Second)
			tc.do()
			after, _ := e.s.Ticket(id)
			if tc.bump && !after.UpdatedAt.Equal(now) {
				t.Errorf("updated_at %v, want %v", after.UpdatedAt, now)
			}
			if !tc.bump && !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Errorf("updated_at moved from %v to %v", before.UpdatedAt, after.UpdatedAt)
			}
		})
	}
	t.Run("article_count follows articles", func(t *testing.T) {
		m := e.as(robotToken, "GET", path, nil, 200).obj(t)
		if num(t, m["article_count"]) != 2 {
			t.Errorf("article_count %v", m["article_count"])
		}
	})
}

type linkEntry struct {
	typ   string
	other int
}

func (e *env) links(t *testing.T, token string, id int) ([]linkEntry, map[string]any) {
	t.Helper()
	m := e.as(token, "GET", fmt.Sprintf("/links?link_object=Ticket&link_object_value=%d", id), nil, 200).obj(t)
	var out []linkEntry
	for _, l := range m["links"].([]any) {
		lm := l.(map[string]any)
		if lm["link_object"] != "Ticket" {
			t.Errorf("link_object %v", lm["link_object"])
		}
		out = append(out, linkEntry{lm["link_type"].(string), num(t, lm["link_object_value"])})
	}
	return out, m["assets"].(map[string]any)
}

func TestLinkDirections(t *testing.T) {
	forms := []struct {
		name string
		add  func(p, pNum string, c, cNum string) map[string]any
	}{
		{"form (a) child: source=child number, target=parent id", func(p, pNum, c, cNum string) map[string]any {
			return map[string]any{"link_type": "child", "link_object_source": "Ticket", "link_object_source_number": cNum,
				"link_object_target": "Ticket", "link_object_target_value": p}
		}},
		{"form (b) parent: source=parent number, target=child id", func(p, pNum, c, cNum string) map[string]any {
			return map[string]any{"link_type": "parent", "link_object_source": "Ticket", "link_object_source_number": pNum,
				"link_object_target": "Ticket", "link_object_target_value": c}
		}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			e := start(t, nil)
			parent, pNum := e.create("parent", opsGroup)
			child, cNum := e.create("child", gocdbGroup)
			e.as(robotToken, "POST", "/links/add", f.add(fmt.Sprint(parent), pNum, fmt.Sprint(child), cNum), 201)

			t.Run("parent side lists the child as child", func(t *testing.T) {
				got, assets := e.links(t, robotToken, parent)
				if len(got) != 1 || got[0] != (linkEntry{"child", child}) {
					t.Errorf("parent links %v", got)
				}
				asset := assets["Ticket"].(map[string]any)[fmt.Sprint(child)].(map[string]any)
				if asset["number"] != cNum {
					t.Errorf("assets.Ticket[%d].number = %v, want %s", child, asset["number"], cNum)
				}
			})
			t.Run("child side lists the parent as parent", func(t *testing.T) {
				got, _ := e.links(t, robotToken, child)
				if len(got) != 1 || got[0] != (linkEntry{"parent", parent}) {
					t.Errorf("child links %v", got)
				}
			})
		})
	}

	e := start(t, nil)
	parent, _ := e.create("parent", opsGroup)
	child, cNum := e.create("child", gocdbGroup)
	add := func(token string, body map[string]any) answer {
		return e.call("Token token="+token, "POST", "/links/add", body)
	}
	formA := func(source string, target any) map[string]any {
		return map[string]any{"link_type": "child", "link_object_source": "Ticket", "link_object_source_number": source,
			"link_object_target": "Ticket", "link_object_target_value": target}
	}
	cases := []struct {
		name       string
		token      string
		body       map[string]any
		wantStatus int
		wantError  string
	}{
		{"a ticket id given as source number is not found", robotToken, formA(fmt.Sprint(child), parent), 404, fmt.Sprintf("Couldn't find Ticket with 'number'=%d", child)},
		{"a ticket number given as target value is not found", robotToken, formA(cNum, cNum), 404, fmt.Sprintf("Couldn't find Ticket with 'id'=%s", cNum)},
		{"linking a ticket to itself answers 422", robotToken, formA(cNum, child), 422, "An object cannot be linked to itself."},
		{"without change right on the target answers 403", readerToken, formA(cNum, parent), 403, "Not authorized"},
		{"a new link answers 201", robotToken, formA(cNum, parent), 201, ""},
		{"the same link again answers 422", robotToken, formA(cNum, parent), 422, "Link already exists"},
		{"an unknown link type answers 422", robotToken, map[string]any{"link_type": "sibling", "link_object_source_number": cNum, "link_object_target_value": parent}, 422, "Invalid link type 'sibling'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := add(tc.token, tc.body)
			if a.status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", a.status, tc.wantStatus, a.body)
			}
			m := a.obj(t)
			if tc.wantError != "" && m["error"] != tc.wantError {
				t.Errorf("error %q, want %q", m["error"], tc.wantError)
			}
			if tc.wantStatus == 201 && (num(t, m["link_object_source_value"]) != child || num(t, m["link_object_target_value"]) != parent) {
				t.Errorf("stored row %v", m)
			}
		})
	}
	t.Run("stored triple reads source is child of target", func(t *testing.T) {
		want := []zammadsim.Link{{Type: "child", Source: child, Target: parent}}
		if got := e.s.Links(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("links %v, want %v", got, want)
		}
	})
	t.Run("unreadable linked tickets are left out of the list", func(t *testing.T) {
		secret, secretNum := e.create("secret", "Secret")
		e.as(robotToken, "POST", "/links/add", formA(secretNum, child), 201)
		got, _ := e.links(t, readerToken, child)
		for _, l := range got {
			if l.other == secret {
				t.Errorf("reader sees link to unreadable ticket: %v", got)
			}
		}
	})
	t.Run("links of an unknown ticket answer 404", func(t *testing.T) {
		e.as(robotToken, "GET", "/links?link_object=Ticket&link_object_value=4242", nil, 404)
	})
	t.Run("remove with ids deletes the link from both sides", func(t *testing.T) {
		e.as(robotToken, "DELETE", "/links/remove", map[string]any{"link_type": "child", "link_object_source": "Ticket",
			"link_object_source_value": child, "link_object_target": "Ticket", "link_object_target_value": parent}, 200)
		if got, _ := e.links(t, robotToken, parent); len(got) != 0 {
			t.Errorf("parent still lists %v", got)
		}
	})
	t.Run("no links give an empty list and empty assets", func(t *testing.T) {
		a := e.as(robotToken, "GET", fmt.Sprintf("/links?link_object=Ticket&link_object_value=%d", parent), nil, 200)
		if strings.TrimSpace(string(a.body)) != `{"assets":{},"links":[]}` {
			t.Errorf("body %s", a.body)
		}
	})
}

func TestSearchShapes(t *testing.T) {
	e := start(t, nil)
	legacy := start(t, func(o *zammadsim.Options) { o.LegacySearchEnvelope = true })
	for _, x := range []*env{e, legacy} {
		x.create("alpha (PROC19)", opsGroup)
		x.create("beta (PROC19)", opsGroup)
		x.create("unrelated", opsGroup)
	}
	q := "/tickets/search?query=" + "title:PROC19"
	cases := []struct {
		name  string
		env   *env
		path  string
		check func(t *testing.T, a answer)
	}{
		{"expand gives a plain array with names", e, q + "&expand=true", func(t *testing.T, a answer) {
			l := a.arr(t)
			if len(l) != 2 || l[0].(map[string]any)["state"] != "new" {
				t.Errorf("%s", a.body)
			}
		}},
		{"no expand gives a plain array without names", e, q, func(t *testing.T, a answer) {
			l := a.arr(t)
			if _, named := l[0].(map[string]any)["state"]; len(l) != 2 || named {
				t.Errorf("%s", a.body)
			}
		}},
		{"with_total_count wraps records and total_count", e, q + "&expand=true&with_total_count=true&per_page=1", func(t *testing.T, a answer) {
			m := a.obj(t)
			if num(t, m["total_count"]) != 2 || len(m["records"].([]any)) != 1 {
				t.Errorf("%s", a.body)
			}
		}},
		{"only_total_count gives the count alone", e, q + "&only_total_count=1", func(t *testing.T, a answer) {
			m := a.obj(t)
			if len(m) != 1 || num(t, m["total_count"]) != 2 {
				t.Errorf("%s", a.body)
			}
		}},
		{"full gives record_ids and assets", e, q + "&full=true", func(t *testing.T, a answer) {
			m := a.obj(t)
			if len(m["record_ids"].([]any)) != 2 || m["assets"].(map[string]any)["Ticket"] == nil {
				t.Errorf("%s", a.body)
			}
		}},
		{"legacy switch without expand gives the tickets envelope", legacy, q, func(t *testing.T, a answer) {
			m := a.obj(t)
			if len(m["tickets"].([]any)) != 2 || num(t, m["tickets_count"]) != 2 || m["assets"].(map[string]any)["Ticket"] == nil {
				t.Errorf("%s", a.body)
			}
		}},
		{"legacy switch with expand still gives an array", legacy, q + "&expand=true", func(t *testing.T, a answer) {
			if len(a.arr(t)) != 2 {
				t.Errorf("%s", a.body)
			}
		}},
		{"no match gives an empty array", e, "/tickets/search?query=title:nothing", func(t *testing.T, a answer) {
			if strings.TrimSpace(string(a.body)) != "[]" {
				t.Errorf("%s", a.body)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, tc.env.as(robotToken, "GET", tc.path, nil, 200))
		})
	}
}

func TestPageCaps(t *testing.T) {
	e := start(t, nil)
	for i := 0; i < 210; i++ {
		e.create(fmt.Sprintf("bulk %d", i), opsGroup)
	}
	cases := []struct {
		name string
		path string
		want int
	}{
		{"search defaults to 50 per page", "/tickets/search?query=bulk", 50},
		{"search caps per_page at 200", "/tickets/search?query=bulk&per_page=500", 200},
		{"search accepts limit as per_page", "/tickets/search?query=bulk&limit=7", 7},
		{"search second page holds the rest", "/tickets/search?query=bulk&per_page=200&page=2", 10},
		{"search past the end is empty", "/tickets/search?query=bulk&per_page=200&page=3", 0},
		{"ticket list caps per_page at 100", "/tickets?per_page=150", 100},
		{"ticket list defaults to 100", "/tickets", 100},
		{"ticket list third page holds the rest", "/tickets?page=3", 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(e.as(robotToken, "GET", tc.path, nil, 200).arr(t)); got != tc.want {
				t.Errorf("%d tickets, want %d", got, tc.want)
			}
		})
	}
	t.Run("ticket list is ordered by id", func(t *testing.T) {
		got := ids(t, e.as(robotToken, "GET", "/tickets?per_page=3", nil, 200).arr(t))
		if !eqInts(got, []int{1000, 1001, 1002}) {
			t.Errorf("ids %v", got)
		}
	})
}

func TestConditionSearch(t *testing.T) {
	e := start(t, nil)
	a, _ := e.create("Request for integration of Foo (PROC19)", opsGroup) // 09:00:01
	e.clk.Advance(time.Hour)
	b, _ := e.create("PROC19 Foo: GOCDB", gocdbGroup) // 10:00
	e.clk.Advance(time.Hour)
	c, _ := e.create("something else", opsGroup) // 11:00
	search := func(t *testing.T, body map[string]any) answer {
		body["sort_by"], body["order_by"] = "id", "asc"
		return e.call("Token token="+robotToken, "POST", "/tickets/search", body)
	}
	flat := func(name, op string, v any) map[string]any {
		return map[string]any{"condition": map[string]any{name: map[string]any{"operator": op, "value": v}}}
	}
	cases := []struct {
		name string
		body map[string]any
		want []int
	}{
		{"contains is a case-insensitive substring", flat("ticket.title", "contains", "proc19"), []int{a, b}},
		{"contains not excludes", flat("ticket.title", "contains not", "PROC19"), []int{c}},
		{"is matches exactly", flat("ticket.title", "is", "something else"), []int{c}},
		{"is with a list matches any", flat("ticket.id", "is", []any{a, c}), []int{a, c}},
		{"is not with ids", flat("ticket.group_id", "is not", "1"), []int{b}},
		{"after (absolute) is inclusive", flat("ticket.updated_at", "after (absolute)", "2025-06-02T10:00:00.000Z"), []int{b, c}},
		{"before (absolute) is inclusive", flat("ticket.created_at", "before (absolute)", "2025-06-02T10:00:00Z"), []int{a, b}},
		{"flat conditions are ANDed", map[string]any{"condition": map[string]any{
			"ticket.title":      map[string]any{"operator": "contains", "value": "PROC19"},
			"ticket.updated_at": map[string]any{"operator": "after (absolute)", "value": "2025-06-02T09:30:00Z"},
		}}, []int{b}},
		{"nested OR", map[string]any{"condition": map[string]any{"operator": "OR", "conditions": []any{
			map[string]any{"name": "ticket.id", "operator": "is", "value": a},
			map[string]any{"name": "ticket.id", "operator": "is", "value": c},
		}}}, []int{a, c}},
		{"nested AND inside OR", map[string]any{"condition": map[string]any{"operator": "OR", "conditions": []any{
			map[string]any{"operator": "AND", "conditions": []any{
				map[string]any{"name": "ticket.title", "operator": "contains", "value": "PROC19"},
				map[string]any{"name": "ticket.group_id", "operator": "is", "value": 4}, // GOCDB, after its two created parents
			}},
			map[string]any{"name": "ticket.title", "operator": "is", "value": "something else"},
		}}}, []int{b, c}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ans := search(t, tc.body)
			if ans.status != 200 {
				t.Fatalf("status %d: %s", ans.status, ans.body)
			}
			if got := ids(t, ans.arr(t)); !eqInts(got, tc.want) {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("an unknown operator answers 422", func(t *testing.T) {
		if ans := search(t, flat("ticket.title", "matches regex", "x")); ans.status != 422 {
			t.Errorf("status %d: %s", ans.status, ans.body)
		}
	})
	t.Run("sort by updated_at asc orders oldest change first", func(t *testing.T) {
		e.clk.Advance(time.Minute)
		e.as(robotToken, "PUT", fmt.Sprintf("/tickets/%d", a), map[string]any{"state": "open"}, 200)
		ans := e.as(robotToken, "POST", "/tickets/search", map[string]any{
			"condition": map[string]any{"ticket.title": map[string]any{"operator": "contains", "value": "PROC19"}},
			"sort_by":   "updated_at", "order_by": "asc"}, 200)
		if got := ids(t, ans.arr(t)); !eqInts(got, []int{b, a}) {
			t.Errorf("ids %v", got)
		}
	})
	t.Run("default order is updated_at desc", func(t *testing.T) {
		ans := e.as(robotToken, "POST", "/tickets/search", map[string]any{
			"condition": map[string]any{"ticket.title": map[string]any{"operator": "contains", "value": "PROC19"}}}, 200)
		if got := ids(t, ans.arr(t)); !eqInts(got, []int{a, b}) {
			t.Errorf("ids %v", got)
		}
	})
}

// TestQuerySearchMatchesWords: as recorded from a real Zammad, the exact
// title "Welcome to Zammad!" as a query finds nothing (Zammad makes the
// last word a prefix, "Zammad!*", which no word of the title starts with),
// while "Welcome" finds the ticket.
func TestQuerySearchMatchesWords(t *testing.T) {
	e := start(t, nil)
	w, _ := e.create("Welcome to Zammad!", opsGroup)
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{"Welcome to Zammad!", []int{}},
		{"Welcome", []int{w}},
		{"Welc", []int{w}},
		{"elcome", []int{}},
		{`title:"Welcome to Zammad"`, []int{w}},
	} {
		ans := e.as(robotToken, "GET", "/tickets/search?query="+urlEscape(tc.query), nil, 200)
		if got := ids(t, ans.arr(t)); !eqInts(got, tc.want) {
			t.Errorf("query %q: ids %v, want %v", tc.query, got, tc.want)
		}
	}
}

func TestQuerySearch(t *testing.T) {
	e := start(t, nil)
	a, _ := e.create("Request for integration of Foo to EGI Production Infrastructure (PROC19)", opsGroup)
	e.clk.Advance(2 * time.Hour)
	b, bNum := e.create("PROC19 Foo: GOCDB integration", gocdbGroup)
	e.as(robotToken, "PUT", fmt.Sprintf("/tickets/%d", b), map[string]any{"state": "solved"}, 200)
	e.as(robotToken, "POST", "/tags/add", map[string]any{"object": "Ticket", "o_id": b, "item": "proc19-child"}, 201)
	cases := []struct {
		query string
		want  []int
	}{
		{`title:"EGI Production Infrastructure (PROC19)"`, []int{a}},
		{`title:PROC19`, []int{a, b}},
		{`number:` + bNum, []int{b}},
		{`state.name:solved`, []int{b}},
		{`state.name:(new OR open)`, []int{a}},
		{`group.name:"` + gocdbGroup + `"`, []int{b}},
		{fmt.Sprintf("id:>%d", a), []int{b}},
		{`updated_at:>now-1h`, []int{b}},
		{`updated_at:>"2025-06-02T10:00:00Z"`, []int{b}},
		{`updated_at:>2025-06-01`, []int{a, b}},
		{`title:PROC19 AND NOT state.name:solved`, []int{a}},
		{`title:PROC19 AND !(state.name:solved)`, []int{a}},
		{`(number:` + bNum + ` OR state.name:new) AND title:Foo`, []int{a, b}},
		{`tags:proc19-child`, []int{b}},
		{`gocdb`, []int{b}},
		{`first`, []int{a, b}}, // bare words search article bodies too
		// Wildcards are stripped, and "PROC" is no word of either title:
		// the index matches words, not substrings.
		{`title:PROC*`, []int{}},
		{`title:"Production Infrastructure"`, []int{a}},
		{`title:"Infrastructure Production"`, []int{}},
		{`title:Integ`, []int{}},
		{`updated_at:>2025-06-02T10:00:00Z`, []int{}},
		{`title:"unterminated`, []int{}},
		{`created_at:[2025-06-01 TO 2025-06-30]`, []int{}},
		{`unknown_field:x`, []int{}},
	}
	for _, tc := range cases {
		t.Run("query "+tc.query, func(t *testing.T) {
			ans := e.as(robotToken, "GET", "/tickets/search?sort_by=id&order_by=asc&query="+urlEscape(tc.query), nil, 200)
			if got := ids(t, ans.arr(t)); !eqInts(got, tc.want) {
				t.Errorf("ids %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("search lag hides fresh changes from query but not from condition", func(t *testing.T) {
		lag := start(t, func(o *zammadsim.Options) { o.SearchLag = time.Minute })
		id, _ := lag.create("fresh (PROC19)", opsGroup)
		if got := lag.as(robotToken, "GET", "/tickets/search?query=title:PROC19", nil, 200).arr(t); len(got) != 0 {
			t.Errorf("query sees a fresh ticket: %v", got)
		}
		got := ids(t, lag.as(robotToken, "POST", "/tickets/search", map[string]any{
			"condition": map[string]any{"ticket.title": map[string]any{"operator": "contains", "value": "PROC19"}}}, 200).arr(t))
		if !eqInts(got, []int{id}) {
			t.Errorf("condition ids %v", got)
		}
		lag.clk.Advance(2 * time.Minute)
		if got := lag.as(robotToken, "GET", "/tickets/search?query=title:PROC19", nil, 200).arr(t); len(got) != 1 {
			t.Errorf("query does not see the ticket after the lag: %v", got)
		}
	})
}

func urlEscape(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "\"", "%22", "&", "%26", "+", "%2B", "#", "%23", "(", "%28", ")", "%29", ":", "%3A", ">", "%3E", "!", "%21", "*", "%2A", "[", "%5B", "]", "%5D")
	return r.Replace(s)
}

func TestTags(t *testing.T) {
	e := start(t, func(o *zammadsim.Options) { o.DenyNewTags = true; o.KnownTags = []string{"proc19"} })
	id, _ := e.create("tags", opsGroup)
	tag := func(item string) answer {
		return e.call("Token token="+robotToken, "POST", "/tags/add", map[string]any{"object": "Ticket", "o_id": id, "item": item})
	}
	t.Run("adding a known tag answers 201 true", func(t *testing.T) {
		if a := tag("proc19"); a.status != 201 || strings.TrimSpace(string(a.body)) != "true" {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
	t.Run("adding it again is idempotent", func(t *testing.T) {
		if a := tag("proc19"); a.status != 201 {
			t.Errorf("%d %s", a.status, a.body)
		}
		tags := e.as(robotToken, "GET", fmt.Sprintf("/tags?object=Ticket&o_id=%d", id), nil, 200).obj(t)["tags"]
		if fmt.Sprint(tags) != "[proc19]" {
			t.Errorf("tags %v", tags)
		}
	})
	t.Run("a new tag is refused with 403 when new tags are denied", func(t *testing.T) {
		if a := tag("brand-new"); a.status != 403 {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
	t.Run("tags of an unknown ticket answer 404", func(t *testing.T) {
		e.as(robotToken, "GET", "/tags?object=Ticket&o_id=1", nil, 404)
	})
}

func TestStatesPrioritiesGroups(t *testing.T) {
	e := start(t, nil)
	t.Run("states carry GGUS states with closed state types", func(t *testing.T) {
		types := map[string]string{}
		for _, s := range e.as(robotToken, "GET", "/ticket_states?expand=true", nil, 200).arr(t) {
			m := s.(map[string]any)
			types[m["name"].(string)] = m["state_type"].(string)
		}
		for _, name := range []string{"solved", "unsolved", "verified", "closed"} {
			if types[name] != "closed" {
				t.Errorf("state %s has type %q", name, types[name])
			}
		}
		if types["reopened"] != "open" || types["new"] != "new" {
			t.Errorf("types %v", types)
		}
	})
	t.Run("priorities are the stock three", func(t *testing.T) {
		if l := e.as(robotToken, "GET", "/ticket_priorities", nil, 200).arr(t); len(l) != 3 {
			t.Errorf("%v", l)
		}
	})
	t.Run("groups include created parents with full names", func(t *testing.T) {
		var names []string
		for _, g := range e.as(robotToken, "GET", "/groups", nil, 200).arr(t) {
			names = append(names, g.(map[string]any)["name"].(string))
		}
		want := "[Ops Second Level Second Level::Services Second Level::Services::GOCDB Secret]"
		if fmt.Sprint(names) != want {
			t.Errorf("groups %v, want %s", names, want)
		}
	})
	t.Run("users/me shows group access by id", func(t *testing.T) {
		m := e.as(readerToken, "GET", "/users/me", nil, 200).obj(t)
		if fmt.Sprint(m["group_ids"]) != "map[1:[read] 4:[read change]]" {
			t.Errorf("group_ids %v", m["group_ids"])
		}
	})
}

func TestFaults(t *testing.T) {
	t.Run("a 503 fault answers with an HTML page", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault503}})
		a := e.call("Token token="+robotToken, "GET", "/users/me", nil)
		if a.status != 503 || !strings.Contains(string(a.body), "<html>") {
			t.Errorf("%d %s", a.status, a.body)
		}
	})
	t.Run("a 429 fault carries Retry-After", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault429}, RetryAfter: 7})
		a := e.call("Token token="+robotToken, "GET", "/users/me", nil)
		if a.status != 429 || a.header.Get("Retry-After") != "7" {
			t.Errorf("%d %v", a.status, a.header)
		}
	})
	t.Run("a dropped connection is a transport error", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultDrop}})
		req, _ := http.NewRequest("GET", e.s.URL()+"/users/me", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Errorf("got status %d, want a connection error", resp.StatusCode)
		}
	})
	t.Run("faults restricted to a method spare others", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Methods: []string{"POST"}})
		e.as(robotToken, "GET", "/users/me", nil, 200)
		if a := e.call("Token token="+robotToken, "POST", "/ticket_articles", map[string]any{}); a.status != 503 {
			t.Errorf("POST status %d", a.status)
		}
	})
	t.Run("the same seed gives the same sequence of faults", func(t *testing.T) {
		sequence := func() string {
			e := start(t, nil)
			e.s.SetFaults(zammadsim.Faults{Rate: 0.5, Seed: 42, Kinds: []zammadsim.FaultKind{zammadsim.Fault500, zammadsim.Fault502}})
			var b strings.Builder
			for i := 0; i < 40; i++ {
				fmt.Fprintf(&b, "%d ", e.call("Token token="+robotToken, "GET", "/users/me", nil).status)
			}
			return b.String()
		}
		first, second := sequence(), sequence()
		if first != second {
			t.Errorf("sequences differ:\n%s\n%s", first, second)
		}
		for _, code := range []string{"200", "500", "502"} {
			if !strings.Contains(first, code) {
				t.Errorf("sequence lacks %s: %s", code, first)
			}
		}
	})
	t.Run("turning faults off restores service", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1})
		e.s.SetFaults(zammadsim.Faults{})
		e.as(robotToken, "GET", "/users/me", nil, 200)
		if e.s.FaultsInjected() != 0 {
			t.Errorf("injected %d", e.s.FaultsInjected())
		}
	})
}
