package rt_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt"
)

// TestZoneCheckedOnATicketThatChanges: the ticket the zone is proven on
// changes while procbot searches for it (a person answers it): the
// searches are made again on its new time, and the right zone is not
// taken for a wrong one.
func TestZoneCheckedOnATicketThatChanges(t *testing.T) {
	s := simRT(t)
	c := s.client(t, nil)
	ctx := context.Background()
	tk, err := c.Create(ctx, core.NewTicket{Queue: "PROC19", Title: "zone", Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(s.url)
	if err != nil {
		t.Fatal(err)
	}
	var touched atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Query().Get("query"), "LastUpdated >") && !touched.Swap(true) {
			s.tick()
			if err := c.AddNote(ctx, tk.Ref.ID, "a person answers meanwhile", false); err != nil {
				t.Error(err)
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	checked, err := s.client(t, func(cfg *rt.Config) { cfg.URL = srv.URL + u.Path }).CheckTimeZone(ctx)
	if err != nil || !checked {
		t.Errorf("with RT's own zone, while the ticket changed: checked %v, %v", checked, err)
	}
	if !touched.Load() {
		t.Fatal("the ticket was not changed during the check; the test proves nothing")
	}
}
