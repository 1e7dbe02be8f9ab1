package daemon

import (
	"context"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// The daemon's ports: what each of its parts needs of a ticket system and
// of the store. The GGUS (Zammad) and RT clients satisfy every tracker
// interface here, the bbolt store the Store; so does anything a test puts
// in their place.
//
// Tracker errors wrap the core.Err* kinds.

// Poller is what the poll reads of a tracker (daemon.go): the tickets that
// changed, then each changed ticket and its conversation. A rebuild is a
// poll from the beginning and reads through it too.
type Poller interface {
	// Name is the tracker's name in references: "ggus" or "rt".
	Name() string
	// Changed returns the tickets whose title contains match and that
	// changed at or after since, oldest change first, following every page.
	// The title filter may be coarse; callers re-check titles.
	Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error)
	// Get reads one ticket, with its tags where the tracker has tags.
	Get(ctx context.Context, id string) (core.Ticket, error)
	// ArticlesAfter returns the ticket's articles whose id is above after
	// (all of them for 0), oldest first, with bodies as plain text: a
	// cycle reads only what is new since the request last read the ticket.
	ArticlesAfter(ctx context.Context, id string, after int64) ([]core.Article, error)
}

// Actor is what the executor does on a tracker (execute.go): it checks
// what an earlier attempt left, then changes tickets.
//
// Methods that change a ticket are never retried blindly by the
// implementation: a retried create makes duplicates.
type Actor interface {
	// Changed is Poller.Changed: the executor finds by the marker in its
	// title a child that an earlier attempt created but did not record.
	Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error)
	// Articles returns the ticket's whole conversation, oldest first: the
	// executor looks there for a note an earlier attempt posted but did not
	// record.
	Articles(ctx context.Context, id string) ([]core.Article, error)
	// Create opens a ticket. When t.Parent is in this tracker the new ticket
	// is created as its child.
	Create(ctx context.Context, t core.NewTicket) (core.Ticket, error)
	// AddNote adds a note. A public note is visible to (and, where the
	// tracker mails, sent to) the ticket's customer or requestors.
	AddNote(ctx context.Context, id, body string, public bool) error
	// Close moves the ticket to the state that closes it: its tracker's,
	// or its queue's on a lifecycle of its own.
	Close(ctx context.Context, id string) error
	// Link makes child a child of parent. Linking twice is not an error.
	Link(ctx context.Context, parent, child core.TicketRef) error
	// Relate links two tickets of this tracker as related (a duplicate
	// request to the earlier one). Relating twice is not an error.
	Relate(ctx context.Context, a, b core.TicketRef) error
}

// Tracker is a ticket system as the daemon holds it (Config.Trackers): the
// poll reads it and the executor changes it.
type Tracker interface {
	Poller
	Actor
}

// Store is what the daemon records. The bbolt store satisfies it.
type Store interface {
	// Live returns the index entries of the requests procbot still has
	// something to do for (core.Instance.Pending), without their records.
	Live() ([]core.Live, error)
	// SetWake tells the store when a live request's timers fall due.
	SetWake(func(core.Live) (time.Time, bool))
	// Due returns the keys of the live requests due at now although none
	// of their tickets changed: their effects wait, or a timer fell due.
	Due(now time.Time) ([]string, error)
	// Concerned returns, for each of the given ticket keys that is the
	// parent or a child of live requests, the keys of those requests.
	Concerned(tickets []string) (map[string][]string, error)
	// RecordsOf returns the records with the given keys that decode, and
	// apart from them those that do not; a key without record is left out.
	RecordsOf(keys []string) ([]core.Instance, []core.BadRecord, error)
	// Known reports which of the given keys have a record, finished or
	// not, decoding or not.
	Known(keys []string) (map[string]bool, error)
	// PutInstanceAudit records the request and audit entries in one
	// transaction, so a recorded action and its audit line never disagree.
	PutInstanceAudit(inst core.Instance, entries ...core.AuditEntry) error
	// Cursor returns the poll cursor of a tracker (zero time if none).
	Cursor(tracker string) (time.Time, error)
	// SetCursor records the poll cursor of a tracker. A rebuild sets every
	// cursor back to zero.
	SetCursor(tracker string, t time.Time) error
}
