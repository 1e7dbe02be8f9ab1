package app

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/mail"
)

// A dry run (PROCBOT_DRY_RUN) is these wrappers, put around everything
// procbot writes to, once, in New: the trackers, the mailer and the
// database. They pass reads through and turn every write into a log line
// saying what procbot would do; nothing else in procbot knows about dry
// runs.

// dryTracker reads from the tracker and writes nothing to it: the poll's
// reads and the executor's checks pass through, and every change the
// executor makes (daemon.Actor) is a log line.
type dryTracker struct {
	daemon.Tracker
	log zerolog.Logger
}

func (t dryTracker) would(what string, ticket core.TicketRef) {
	t.log.Info().Bool("dry_run", true).Str("tracker", t.Name()).Str("ticket", ticket.ID).Msg(what)
}

func (t dryTracker) ref(id string) core.TicketRef { return core.TicketRef{Tracker: t.Name(), ID: id} }

// ticket names a ticket the tracker's methods know by its id only.
func (t dryTracker) ticket(id string) string { return t.Name() + " ticket " + id }

func (t dryTracker) Create(_ context.Context, nt core.NewTicket) (core.Ticket, error) {
	t.would(fmt.Sprintf("would open child %q in %s", nt.Title, nt.Queue), core.TicketRef{})
	// A ticket that does not exist: nothing the dry run records keeps it.
	return core.Ticket{Ref: core.TicketRef{Tracker: t.Name(), ID: "0", Number: "dry-run"}, Title: nt.Title, Queue: nt.Queue}, nil
}

func (t dryTracker) AddNote(_ context.Context, id, body string, public bool) error {
	first, _, _ := strings.Cut(strings.TrimSpace(body), "\n")
	kind := "internal"
	if public {
		kind = "public"
	}
	t.would(fmt.Sprintf("would post note on %s (%s): %s", t.ticket(id), kind, first), t.ref(id))
	return nil
}

func (t dryTracker) Close(_ context.Context, id string) error {
	t.would("would close "+t.ticket(id), t.ref(id))
	return nil
}

func (t dryTracker) Link(_ context.Context, parent, child core.TicketRef) error {
	t.would(fmt.Sprintf("would link %s as a child of %s", child, parent), child)
	return nil
}

func (t dryTracker) Relate(_ context.Context, a, b core.TicketRef) error {
	t.would(fmt.Sprintf("would link %s to %s", a, b), a)
	return nil
}

// store is what procbot records in its database.
type store interface {
	daemon.Store
	daemon.MailStore
}

// dryStore reads the database and records nothing in it.
type dryStore struct{ store }

func (dryStore) PutInstanceAudit(core.Instance, ...core.AuditEntry) error { return nil }
func (dryStore) SetCursor(string, time.Time) error                        { return nil }
func (dryStore) PutMailRecord(string, core.MailRecord) error              { return nil }

// dryMailer sends nothing.
type dryMailer struct{ log zerolog.Logger }

func (m dryMailer) Send(_ context.Context, msg mail.Message) error {
	var to []string
	for _, a := range msg.To {
		to = append(to, a.Address)
	}
	what := "mail"
	switch {
	case msg.Headers["X-Procbot-Digest"] != "":
		what = "digest"
	case msg.Headers["X-Procbot-Request"] != "":
		what = "announcement"
	}
	m.log.Info().Bool("dry_run", true).Str("subject", msg.Subject).Msg(fmt.Sprintf("would send %s to %s", what, strings.Join(to, ", ")))
	return nil
}
