package demo

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// TestNoteWithLostAnswerIsPostedOnce loses the answer to the first note
// procbot posts in GGUS in every other poll: GGUS stores the note, procbot hears
// of a 502. The note stays in procbot's outbox and is posted again on the
// next poll; the people on the request must not read it twice.
//
// procbot records a digest of each note's text before posting it and looks
// for that text on the ticket before posting again.
func TestNoteWithLostAnswerIsPostedOnce(t *testing.T) {
	ctx := context.Background()
	env, err := NewEnv(filepath.Join(t.TempDir(), "procbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	a, err := app.New(ctx, env.Config, zerolog.Nop(), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	parent, err := env.FileRequest(ctx, "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	key := core.InstanceKey(env.Proc.ID, parent.Ref)
	lost, polls := 0, 0
	cycle := func() core.Instance {
		// Every other poll, so that each note is lost at most once; only
		// procbot's notes, as the people act between polls.
		before := env.GGUS.FaultsInjected()
		if polls++; polls%2 == 1 {
			env.GGUS.SetFaults(zammadsim.Faults{Rate: 1, Kinds: []zammadsim.FaultKind{zammadsim.Fault502}, After: true,
				Methods: []string{"POST"}, Paths: []string{"/ticket_articles"}, Max: 1})
		}
		err := a.Daemon.Cycle(ctx)
		env.GGUS.SetFaults(zammadsim.Faults{})
		lost += env.GGUS.FaultsInjected() - before
		if err != nil {
			t.Fatal(err)
		}
		inst, _, err := a.Store.Instance(key)
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}
	inst := cycle()
	if err := env.Post(ctx, env.Operator, parent.Ref.ID, "/approve"); err != nil {
		t.Fatal(err)
	}
	closed := map[string]bool{}
	for i := 0; i < 40 && (inst.Key == "" || inst.Pending()); i++ {
		inst = cycle()
		for _, id := range env.Proc.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			if id == "10" {
				if err := env.Unit(st.Child.Tracker).AddNote(ctx, st.Child.ID, "/na e-GRANT was retired.", true); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := env.CloseChild(ctx, st.Child); err != nil {
				t.Fatal(err)
			}
			closed[st.Child.Key()] = true
		}
	}
	if inst.Phase != core.PhaseCompleted || len(inst.Outbox) > 0 {
		t.Fatalf("request is %s with %d actions left", inst.Phase, len(inst.Outbox))
	}
	if lost == 0 {
		t.Fatal("no answer was lost")
	}
	seen := robotNotes(env)
	for body, n := range seen {
		if n > 1 {
			t.Errorf("procbot's note is on its ticket %d times: %.70q", n, body)
		}
	}
	t.Logf("%d answers lost, %d distinct notes by procbot", lost, len(seen))
}

// robotNotes counts procbot's notes in GGUS by ticket and text.
func robotNotes(env *Env) map[string]int {
	seen := map[string]int{}
	for _, tk := range env.GGUS.Tickets() {
		for _, art := range env.GGUS.Articles(tk.ID) {
			if art.CreatedBy == robotLogin {
				seen["#"+strconv.Itoa(tk.ID)+": "+art.Body]++
			}
		}
	}
	return seen
}
