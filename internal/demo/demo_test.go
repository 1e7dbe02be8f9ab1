package demo

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
)

// TestDemoRunsPROC19ToTheAnnouncement is the whole procedure end to end:
// both simulators over HTTP, the real clients, the bbolt store.
func TestDemoRunsPROC19ToTheAnnouncement(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.db")
	var out bytes.Buffer
	res, err := run(context.Background(), Options{DBPath: db, Out: &out})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	p, err := procedure.Embedded("proc19")
	if err != nil {
		t.Fatal(err)
	}
	if res.Instance.Phase != core.PhaseCompleted {
		t.Fatalf("phase %s", res.Instance.Phase)
	}
	// Exactly one child per task step, each existing once in its tracker.
	tasks := 0
	for _, s := range p.Steps {
		if s.Kind == procedure.KindTask {
			tasks++
			st := res.Instance.Steps[s.ID]
			if st.Child.IsZero() {
				t.Errorf("step %s has no child ticket", s.ID)
			}
			if route := p.RouteOf(s.ID); st.Child.Tracker != route.Tracker {
				t.Errorf("step %s child in %s, routed to %s", s.ID, st.Child.Tracker, route.Tracker)
			}
		}
	}
	// One child per task step, and one more for the retry of the
	// security validation (11d) that fails once.
	if len(res.Markers) != tasks+1 {
		t.Errorf("%d distinct children in the trackers, want %d (one per task step and the retry of 11d)", len(res.Markers), tasks+1)
	}
	if st := res.Instance.Steps["11d"]; st.Status != core.StepDone || st.Attempt != 1 || len(st.Failed) != 1 {
		t.Errorf("step 11d = %+v, want done at its second attempt, one child failed", st)
	}
	for m, n := range res.Markers {
		if n != 1 {
			t.Errorf("%s exists %d times", m, n)
		}
	}
	if res.Children["rt"] == 0 || res.Children["ggus"] == 0 {
		t.Errorf("children per tracker %v: the demo should use both", res.Children)
	}
	if st := res.Instance.Steps["10"]; st.Status != core.StepSkipped || !strings.Contains(st.Reason, "e-GRANT") {
		t.Errorf("step 10 = %+v, want skipped with the unit's reason", st)
	}
	text := out.String()
	for _, want := range []string{"posted missing note", "awaiting-approval → running", "step waiting → done by ops@egi.example", "Announcement: FooStack is integrated", "0 of them duplicated",
		"[11d] step open → failed", "posted failed note", "writes /retry 11d", "[11d] step failed → opening", "linked",
		"writes /hold", "posted held note", "writes /resume", "posted resumed note"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}

	// The kept database holds the request, completed, and its audit log.
	store, err := bolt.Open(db, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	inst, ok, err := store.Instance(res.Instance.Key)
	if err != nil || !ok || inst.Phase != core.PhaseCompleted {
		t.Fatalf("stored request: %v %v %+v", ok, err, inst.Phase)
	}
	log, err := store.AuditLog(inst.Key)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, e := range log {
		if strings.HasPrefix(e.What, "opened child") {
			opened++
		}
	}
	if opened != tasks+1 {
		t.Errorf("audit log records %d children opened, want %d", opened, tasks+1)
	}
}

// TestDemoCancelScenario: procbot demo --scenario cancel ends with an
// operator's /cancel while steps are open; procbot closes each open child
// with the reason, then the request, and records who stopped it.
func TestDemoCancelScenario(t *testing.T) {
	var out bytes.Buffer
	res, err := run(context.Background(), Options{Out: &out, Scenario: "cancel"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if res.Instance.Phase != core.PhaseCancelled || res.Instance.StoppedBy != "ops@egi.example" {
		t.Errorf("request %s, stopped by %q", res.Instance.Phase, res.Instance.StoppedBy)
	}
	for _, want := range []string{"writes /cancel", "posted stopped note", "cancelled by ops@egi.example"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
}
