package rt_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/rt/rtsim"
)

// shape lists every path in a JSON document with the type found there
// ("Queue.id:string", "_hyperlinks[].id:number"), ignoring values, so that
// two answers to the same call can be compared for their form.
func shape(t *testing.T, b []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	set := map[string]bool{}
	var walk func(string, any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			set[path+":object"] = true
			for k, e := range x {
				walk(strings.TrimPrefix(path+"."+k, "."), e)
			}
		case []any:
			set[path+":array"] = true
			for _, e := range x {
				walk(path+"[]", e)
			}
		case string:
			set[path+":string"] = true
		case float64:
			set[path+":number"] = true
		case bool:
			set[path+":bool"] = true
		case nil:
			set[path+":null"] = true
		}
	}
	walk("", v)
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The simulator answers the calls recorded from RT 5.0.3 (testdata/rt, made
// with deploy/dev/rt/start-rt.sh) in the same form: same keys, same JSON
// types, ids as strings or numbers where RT has them so.
func TestSimulatorAnswersLikeRecordedRT(t *testing.T) {
	e := setup(t, time.UTC, nil)
	// The recordings were made on an RT with the ProcbotMarker field; the
	// simulator of setup has none, so start one like the recording's.
	sim := rtsim.New(rtsim.Options{Queues: []string{"PROC19", "sw-rel"}, CustomFields: []string{"ProcbotMarker"},
		Users: []rtsim.User{{Name: "root", ID: 14, Password: password, Token: token}}})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	e.sim = sim

	answers := map[string]string{}
	answers["create.json"] = e.raw("POST", "/ticket", `{"Queue":"PROC19","Subject":"recorded parent","Content":"first","ContentType":"text/plain"}`)
	e.raw("POST", "/ticket", `{"Queue":"PROC19","Subject":"recorded child","Content":"x","ContentType":"text/plain","Parent":1}`)
	answers["comment.json"] = e.raw("POST", "/ticket/1/comment", `{"Content":"a note","ContentType":"text/plain"}`)
	answers["put-status-invalid.json"] = e.raw("PUT", "/ticket/1", `{"Status":"bogus"}`)
	answers["ticket.json"] = e.raw("GET", "/ticket/1", "")
	answers["search.json"] = e.raw("GET", "/tickets?query=Subject+LIKE+%27recorded%27&fields=Subject,Status,Queue,Created,LastUpdated&fields%5BQueue%5D=Name&orderby=id&order=ASC&per_page=1", "")
	answers["search-empty.json"] = e.raw("GET", "/tickets?query=Subject+LIKE+%27recorded-nothing%27", "")
	answers["history.json"] = e.raw("GET", "/ticket/1/history?fields=Type,Creator,Created&orderby=id&order=ASC", "")
	var hist struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(answers["history.json"]), &hist); err != nil {
		t.Fatal(err)
	}
	comment := ""
	for _, it := range hist.Items {
		if it["Type"] == "Comment" {
			comment = fmt.Sprint(it["id"])
		}
	}
	answers["attachments.json"] = e.raw("GET", "/transaction/"+comment+"/attachments?fields=Content,ContentType,Filename", "")

	for name, got := range answers {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "rt", name))
			if err != nil {
				t.Fatal(err)
			}
			g, w := shape(t, []byte(got)), shape(t, want)
			for _, p := range w {
				if !slices.Contains(g, p) {
					t.Errorf("RT has %s, the simulator not", p)
				}
			}
			for _, p := range g {
				if !slices.Contains(w, p) {
					t.Errorf("the simulator has %s, RT not", p)
				}
			}
		})
	}
	if got := answers["search-empty.json"]; !strings.Contains(strings.ReplaceAll(got, " ", ""), `"pages":0.0`) {
		t.Errorf(`empty search without "pages": 0.0: %s`, got)
	}
}
