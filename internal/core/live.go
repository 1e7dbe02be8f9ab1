package core

import (
	"time"

	"github.com/procbot/procbot/internal/procedure"
)

// Live is what the store keeps in its index of a request procbot still has
// something to do for (Instance.Pending): which tickets concern it, whether
// effects are waiting, when its reminders fall due and which product it is
// for, so that a poll cycle finds the requests an event concerns without
// decoding every record.
type Live struct {
	Key         string      `json:"key"`
	Procedure   string      `json:"procedure"`
	Parent      TicketRef   `json:"parent"`
	ParentURL   string      `json:"parent_url,omitempty"`
	Product     string      `json:"product,omitempty"`
	Phase       Phase       `json:"phase"`
	DuplicateOf TicketRef   `json:"duplicate_of,omitempty"`
	Children    []TicketRef `json:"children,omitempty"`
	// Effects is set while the outbox holds an action or a step's child is
	// being opened: the executor has work left whatever the trackers show.
	Effects bool `json:"effects,omitempty"`
	// Open lists the steps whose child is open, for their reminders.
	Open []OpenStep `json:"open,omitempty"`
	// Read is Instance.Read: a poll that shows a ticket at the change
	// already read (polls overlap) needs the record no more than the
	// ticket.
	Read map[string]time.Time `json:"read,omitempty"`
}

// ReadAlready reports whether the request has read the ticket at its
// current change.
func (l Live) ReadAlready(t Ticket) bool {
	last, ok := l.Read[t.Ref.Key()]
	return ok && !t.UpdatedAt.IsZero() && last.Equal(t.UpdatedAt)
}

// OpenStep is a step whose child is open, as far as its reminder goes.
type OpenStep struct {
	Step       string    `json:"step"`
	OpenedAt   time.Time `json:"opened_at"`
	RemindedAt time.Time `json:"reminded_at,omitzero"`
}

// Live returns what the store's index keeps of the request.
func (in Instance) Live() Live {
	l := Live{Key: in.Key, Procedure: in.Procedure, Parent: in.Parent, ParentURL: in.ParentURL,
		Product: in.Product, Phase: in.Phase, DuplicateOf: in.DuplicateOf, Effects: len(in.Outbox) > 0, Read: in.Read}
	for id, st := range in.Steps {
		if !st.Child.IsZero() {
			l.Children = append(l.Children, st.Child)
		}
		// A failed child a retry replaced still concerns the request: its
		// changes are not taken for an unknown ticket with a marker.
		l.Children = append(l.Children, st.Failed...)
		if st.Status == StepOpening {
			l.Effects = true
		}
		if st.Status == StepOpen && !st.Child.IsZero() && !st.OpenedAt.IsZero() && !in.Hold.On() {
			l.Open = append(l.Open, OpenStep{Step: id, OpenedAt: st.OpenedAt, RemindedAt: st.RemindedAt})
		}
	}
	return l
}

// Tickets returns the tickets that concern the request: its parent, then
// its children.
func (l Live) Tickets() []TicketRef {
	return append([]TicketRef{l.Parent}, l.Children...)
}

// Wake returns when the request's first timer falls due: from then on,
// Decide has a reminder to send although none of its tickets changed. ok
// is false when no timer is set. The timers are the entry's data (when
// each open step was opened and last reminded), so the index knows the
// time without deciding.
func (l Live) Wake(p *procedure.Procedure, pol Policy) (at time.Time, ok bool) {
	if p == nil {
		return time.Time{}, false
	}
	for _, o := range l.Open {
		t, set := reminderAt(p, pol, o.Step, o.OpenedAt, o.RemindedAt)
		if set && (!ok || t.Before(at)) {
			at, ok = t, true
		}
	}
	return at, ok
}

// reminderDue reports whether the open step's child is due for a reminder
// at now: open longer than the step's due time, and not reminded within
// Policy.ReminderEvery.
func reminderDue(p *procedure.Procedure, pol Policy, step string, opened, reminded, now time.Time) bool {
	at, ok := reminderAt(p, pol, step, opened, reminded)
	return ok && !now.Before(at)
}

// reminderAt returns when the open step's reminder falls due: its due time
// after it was opened, and a Policy.ReminderEvery after the last reminder.
// ok is false when it has none.
func reminderAt(p *procedure.Procedure, pol Policy, step string, opened, reminded time.Time) (at time.Time, ok bool) {
	every := pol.ReminderEvery
	if every <= 0 || opened.IsZero() {
		return time.Time{}, false
	}
	at = opened.Add(p.Due(step))
	if !reminded.IsZero() {
		if again := reminded.Add(every); again.After(at) {
			at = again
		}
	}
	return at, true
}
