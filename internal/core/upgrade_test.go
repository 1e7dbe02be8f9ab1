package core_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
)

// TestRecordOfAnOlderProcbotOpensItsChildren: a record written when a step
// in "opening" alone said its child was to be opened decodes with the
// opening in the outbox, first, marked to look for the child before
// creating it; a record in the current form decodes as it was written.
func TestRecordOfAnOlderProcbotOpensItsChildren(t *testing.T) {
	const older = `{"key":"TEST1/ggus:1000","procedure":"TEST1","parent":{"tracker":"ggus","id":"1000","number":"10100"},
		"phase":"running","steps":{"approval":{"status":"done"},"0a":{"status":"done"},"a1":{"status":"opening"},"b1":{"status":"opening"}},
		"outbox":[{"kind":"note","ticket":{"tracker":"ggus","id":"1000"},"note":"status","digest":"d1"}]}`
	var inst core.Instance
	if err := json.Unmarshal([]byte(older), &inst); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range inst.Outbox {
		got = append(got, string(a.Kind)+":"+a.Step+a.Note+"@"+a.Ticket.ID+" "+a.Attempt)
	}
	want := []string{"open:a1@1000 [TEST1 ggus#10100 a1]", "open:b1@1000 [TEST1 ggus#10100 b1]", "note:status@1000 "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("outbox of the older record =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	b, err := json.Marshal(inst)
	if err != nil {
		t.Fatal(err)
	}
	var again core.Instance
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if !again.Equal(inst) {
		t.Errorf("a record in the current form changed when decoded again: outbox %+v, want %+v", again.Outbox, inst.Outbox)
	}
}
