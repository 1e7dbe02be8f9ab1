package zammad

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// Both search shapes the simulator serves (the plain array with expand, the
// legacy envelope without it behind LegacySearchEnvelope) decode to the
// same tickets, and the legacy one carries the same keys as the recorded
// answer in testdata/zammad.
func TestDecodeSimulatorSearchShapes(t *testing.T) {
	sim := zammadsim.New(zammadsim.Options{LegacySearchEnvelope: true})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	c, err := New(Config{URL: sim.URL(), Token: zammadsim.DefaultToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want []string
	for _, title := range []string{"shape one", "shape two"} {
		tk, err := c.Create(ctx, core.NewTicket{Queue: zammadsim.DefaultGroup, Title: title, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, tk.Ref.ID+"/"+tk.Ref.Number+"/"+tk.Queue)
	}
	search := func(expand bool) []byte {
		body := `{"condition":{"ticket.title":{"operator":"contains","value":"shape"}},"sort_by":"id","order_by":"asc"`
		if expand {
			body += `,"expand":true`
		}
		req, _ := http.NewRequest("POST", sim.URL()+"/tickets/search", bytes.NewReader([]byte(body+"}")))
		req.Header.Set("Authorization", "Token token="+zammadsim.DefaultToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return b
	}
	for _, tc := range []struct {
		name   string
		expand bool
		first  byte
	}{{"array", true, '['}, {"legacy envelope", false, '{'}} {
		b := bytes.TrimSpace(search(tc.expand))
		if len(b) == 0 || b[0] != tc.first {
			t.Fatalf("%s: answer %.80s", tc.name, b)
		}
		list, _, err := decodeSearch(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, at := range list {
			tk := c.toCore(at, nil)
			got = append(got, tk.Ref.ID+"/"+tk.Ref.Number+"/"+tk.Queue)
			if tk.UpdatedAt.IsZero() || tk.UpdatedAt.After(time.Now().Add(time.Minute)) {
				t.Errorf("%s: updated_at %s", tc.name, tk.UpdatedAt)
			}
		}
		if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("%s: %v, want %v", tc.name, got, want)
		}
	}
	legacy := map[string]any{}
	rec := map[string]any{}
	if err := json.Unmarshal(search(false), &legacy); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(recorded(t, "search-legacy-envelope.json"), &rec); err != nil {
		t.Fatal(err)
	}
	for k := range rec {
		if _, ok := legacy[k]; !ok {
			t.Errorf("the simulator's legacy envelope lacks %q", k)
		}
	}
}
