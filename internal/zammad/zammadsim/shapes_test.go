package zammadsim_test

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestShapesAsRecorded: the simulator answers in the shapes recorded from
// live Zammad servers, where they differ from what one would guess.
func TestShapesAsRecorded(t *testing.T) {
	e := start(t, nil)
	id, _ := e.create("shapes", opsGroup)
	auth := "Token token=" + robotToken
	plain := e.call(auth, "GET", fmt.Sprintf("/tickets/%d", id), nil).obj(t)
	expanded := e.call(auth, "GET", fmt.Sprintf("/tickets/%d?expand=true", id), nil).obj(t)
	updated := e.as(robotToken, "PUT", fmt.Sprintf("/tickets/%d", id), map[string]any{"title": "shapes 2"}, http.StatusOK).obj(t)
	t.Run("a plain GET has no article_ids, create, update and expand answers have", func(t *testing.T) {
		if _, ok := plain["article_ids"]; ok {
			t.Errorf("plain GET carries article_ids")
		}
		if _, ok := plain["ticket_time_accounting_ids"]; ok {
			t.Errorf("plain GET carries ticket_time_accounting_ids")
		}
		for name, m := range map[string]map[string]any{"expand": expanded, "update": updated} {
			if _, ok := m["article_ids"]; !ok {
				t.Errorf("%s answer lacks article_ids", name)
			}
		}
	})
	t.Run("escalation fields are there, null", func(t *testing.T) {
		for _, k := range []string{"first_response_escalation_at", "first_response_in_min", "first_response_diff_in_min",
			"close_escalation_at", "close_in_min", "close_diff_in_min", "update_escalation_at", "update_in_min", "update_diff_in_min"} {
			if v, ok := plain[k]; !ok || v != nil {
				t.Errorf("%s = %v (present %v), want null", k, v, ok)
			}
		}
	})
	t.Run("an expanded answer leaves out a null association's name", func(t *testing.T) {
		if _, ok := expanded["organization"]; ok {
			t.Errorf("expanded answer has organization: %v", expanded["organization"])
		}
	})
	t.Run("/users/me has the 40 keys of a live Zammad", func(t *testing.T) {
		if me := e.as(robotToken, "GET", "/users/me", nil, http.StatusOK).obj(t); len(me) != 40 {
			t.Errorf("/users/me has %d keys, want 40: %v", len(me), me)
		}
	})
	t.Run("an API-created ticket has no last contact", func(t *testing.T) {
		if v := plain["last_contact_at"]; v != nil {
			t.Errorf("last_contact_at = %v, want null", v)
		}
	})
	t.Run("an unknown route answers Zammad's 404", func(t *testing.T) {
		a := e.call(auth, "GET", "/no_such_route", nil)
		if m := a.obj(t); a.status != 404 || m["error"] != "This page doesn't exist." || m["error_human"] != "This page doesn't exist." {
			t.Errorf("%d %v", a.status, m)
		}
	})
	t.Run("answers carry a weak ETag and no-cache, large ones come gzipped", func(t *testing.T) {
		a := e.call(auth, "GET", fmt.Sprintf("/tickets/%d", id), nil)
		if et := a.header.Get("ETag"); !strings.HasPrefix(et, `W/"`) {
			t.Errorf("ETag %q, want a weak one", et)
		}
		if cc := a.header.Get("Cache-Control"); cc != "max-age=0, private, must-revalidate" {
			t.Errorf("Cache-Control %q", cc)
		}
		for i := range 20 {
			e.create(fmt.Sprintf("bulk %d", i), opsGroup)
		}
		req, err := http.NewRequest("GET", e.s.URL()+"/tickets?expand=true", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: Go does not unpack it then
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.ContentLength != -1 {
			t.Fatalf("Content-Encoding %q, length %d: want gzip, chunked", resp.Header.Get("Content-Encoding"), resp.ContentLength)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(zr); err != nil || !strings.HasPrefix(string(b), "[") {
			t.Errorf("unpacked %.40q %v, want the ticket list", b, err)
		}
	})
}
