package rt_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/trackertest"
)

// TestCloseThroughTheQueueLifecycle: in a queue whose lifecycle allows no
// direct change to "resolved" (the harness's Requirements queue: new →
// accepted → in progress → resolved), RT refuses the change inside a 200.
// Without a close path that is a definite error naming the refused change;
// with one, Close takes procbot's least-privilege user to the path's last
// status step by step, from "new" and from "accepted", the queue named in
// another case than RT names it.
func TestCloseThroughTheQueueLifecycle(t *testing.T) {
	s := realRT(t)
	user, token, queue := os.Getenv("RT_PROCBOT_USER"), os.Getenv("RT_PROCBOT_TOKEN"), os.Getenv("RT_LIFECYCLE_QUEUE")
	if user == "" || token == "" || queue == "" {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatal("real RT: RT_PROCBOT_USER, RT_PROCBOT_TOKEN or RT_LIFECYCLE_QUEUE is not set: deploy/dev/rt/start-rt.sh exports them")
		}
		t.Skip("SKIPPED: RT_PROCBOT_USER, RT_PROCBOT_TOKEN or RT_LIFECYCLE_QUEUE is not set (deploy/dev/rt/start-rt.sh exports them)")
	}
	s.user, s.token, s.password = user, token, ""
	ctx := context.Background()
	direct := s.client(t, nil)
	path := s.client(t, func(c *rt.Config) {
		c.ClosePaths = map[string][]string{strings.ToUpper(queue): {"accepted", "in progress", "resolved"}}
		// Close sets the end of the queue's path, not this.
		c.CloseState = "rejected"
	})
	newTicket := func(t *testing.T, reply bool) string {
		t.Helper()
		tk, err := direct.Create(ctx, core.NewTicket{Queue: queue, Title: "lifecycle " + trackertest.Unique(), Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if reply {
			// A reply moves a new ticket to the first active status.
			if err := direct.AddNote(ctx, tk.Ref.ID, "a reply", true); err != nil {
				t.Fatal(err)
			}
		}
		return tk.Ref.ID
	}
	status := func(t *testing.T, id string) string {
		t.Helper()
		got, err := direct.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return got.State
	}

	t.Run("without a close path the refusal is a definite error naming the change", func(t *testing.T) {
		id := newTicket(t, true)
		if st := status(t, id); st != "accepted" {
			t.Fatalf("after a reply the ticket is %q; the harness's lifecycle makes it accepted", st)
		}
		err := direct.SetState(ctx, id, "resolved")
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "'accepted' to 'resolved'") {
			t.Errorf("SetState: %v, want core.ErrInvalid naming the change from accepted to resolved", err)
		}
	})
	for _, reply := range []bool{false, true} {
		name := "from new"
		if reply {
			name = "from accepted"
		}
		t.Run("through the close path "+name, func(t *testing.T) {
			id := newTicket(t, reply)
			if err := path.Close(ctx, id); err != nil {
				t.Fatal(err)
			}
			if st := status(t, id); st != "resolved" {
				t.Errorf("status %q, want resolved", st)
			}
		})
	}
}
