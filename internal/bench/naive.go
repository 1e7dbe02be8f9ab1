package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// reader is what the naive poller uses of a tracker: the GGUS and RT
// clients procbot itself uses satisfy it.
type reader interface {
	Get(ctx context.Context, id string) (core.Ticket, error)
	Articles(ctx context.Context, id string) ([]core.Article, error)
}

// tracked is one ticket the naive poller watches.
type tracked struct {
	ref    core.TicketRef
	parent bool // a request: its conversation carries the commands
}

// naive is the poller procbot is compared with: it keeps the tickets of
// every live procedure in memory and, every cycle, reads each of them
// again, and the conversation of every request; a ticket whose update time
// moved has its conversation read as well. It only observes: it decides
// nothing and changes nothing, so its figures are a floor for what a
// full-scan poller costs.
type naive struct {
	trackers map[string]reader
	tickets  []tracked
	seen     map[string]time.Time // ticket key -> update time last read
}

func newNaive(trackers map[string]reader, tickets []tracked) *naive {
	return &naive{trackers: trackers, tickets: tickets, seen: map[string]time.Time{}}
}

// cycle reads every tracked ticket once and returns how many had changed
// since the last cycle. With nothing remembered (the first cycle) every
// ticket counts as changed, and its conversation is read.
func (n *naive) cycle(ctx context.Context) (changed int, err error) {
	for _, tk := range n.tickets {
		tr := n.trackers[tk.ref.Tracker]
		if tr == nil {
			return changed, fmt.Errorf("naive poller: no client for %s", tk.ref)
		}
		t, err := tr.Get(ctx, tk.ref.ID)
		if err != nil {
			return changed, fmt.Errorf("naive poller: read %s: %w", tk.ref, err)
		}
		last, ok := n.seen[tk.ref.Key()]
		moved := !ok || !last.Equal(t.UpdatedAt)
		if moved {
			changed++
			n.seen[tk.ref.Key()] = t.UpdatedAt
		}
		if tk.parent || moved {
			if _, err := tr.Articles(ctx, tk.ref.ID); err != nil {
				return changed, fmt.Errorf("naive poller: read the conversation of %s: %w", tk.ref, err)
			}
		}
	}
	return changed, nil
}
