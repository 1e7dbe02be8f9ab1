package zammadsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

func TestFaultOptions(t *testing.T) {
	t.Run("a 401 fault refuses the credentials", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault401}})
		a := e.call("Token token="+robotToken, "GET", "/users/me", nil)
		if a.status != http.StatusUnauthorized || a.header.Get("X-Failure") != "Can't find User for Token" {
			t.Errorf("%d %v %s", a.status, a.header, a.body)
		}
	})
	t.Run("a fault after the request makes the change and loses the answer", func(t *testing.T) {
		e := start(t, nil)
		before := len(e.s.Tickets())
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault502}, After: true})
		a := e.call("Token token="+robotToken, "POST", "/tickets", map[string]any{
			"title": "lost", "group": opsGroup, "customer": "alice@example.org",
			"article": map[string]any{"body": "first", "type": "note"},
		})
		if a.status != http.StatusBadGateway {
			t.Errorf("status %d", a.status)
		}
		if n := len(e.s.Tickets()) - before; n != 1 {
			t.Errorf("%d tickets made, want 1", n)
		}
	})
	t.Run("AfterRate carries out only a share of the failed requests", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault500}, AfterRate: 0.5, Seed: 3})
		for i := 0; i < 40; i++ {
			e.call("Token token="+robotToken, "POST", "/tickets", map[string]any{
				"title": "some", "group": opsGroup, "customer": "alice@example.org",
				"article": map[string]any{"body": "first", "type": "note"},
			})
		}
		if n := len(e.s.Tickets()); n == 0 || n == 40 {
			t.Errorf("%d of 40 failed creates carried out, want some", n)
		}
	})
	t.Run("Max and Paths limit the faults", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Paths: []string{"/groups"}, Max: 2})
		e.as(robotToken, "GET", "/users/me", nil, 200)
		for _, want := range []int{503, 503, 200} {
			if a := e.call("Token token="+robotToken, "GET", "/groups", nil); a.status != want {
				t.Errorf("status %d, want %d", a.status, want)
			}
		}
		if n := e.s.FaultsInjected(); n != 2 {
			t.Errorf("%d faults, want 2", n)
		}
	})
	t.Run("a path ending in $ must match whole", func(t *testing.T) {
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Paths: []string{"/tickets$"}, Methods: []string{"POST"}})
		e.as(robotToken, "POST", "/tickets/search", map[string]any{"condition": map[string]any{}}, 200)
		if a := e.call("Token token="+robotToken, "POST", "/tickets", map[string]any{"title": "x", "group": opsGroup}); a.status != 503 {
			t.Errorf("create: status %d, want 503", a.status)
		}
	})
	t.Run("answers that are no confirmation", func(t *testing.T) {
		for _, tc := range []struct {
			kind        zammadsim.FaultKind
			status      int
			contentType string
			body        string
		}{
			{zammadsim.FaultHTML200, http.StatusOK, "text/html; charset=utf-8", "<!DOCTYPE html>"},
			{zammadsim.FaultEmpty200, http.StatusOK, "application/json", "{}"},
		} {
			e := start(t, nil)
			e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{tc.kind}, RedirectTo: "http://elsewhere.example/login"})
			a := e.call("Token token="+robotToken, "GET", "/users/me", nil)
			if a.status != tc.status || !strings.HasPrefix(a.header.Get("Content-Type"), tc.contentType) || !strings.HasPrefix(strings.TrimSpace(string(a.body)), tc.body) {
				t.Errorf("%s: %d %v %s", tc.kind, a.status, a.header, a.body)
			}
		}
		e := start(t, nil)
		e.s.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.FaultRedirect}, RedirectTo: "http://elsewhere.example/login"})
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(e.s.URL() + "/users/me")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://elsewhere.example/login" {
			t.Errorf("redirect: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
