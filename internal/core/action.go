package core

import (
	"slices"
	"time"
)

// ActionKind says what a pending side effect does.
type ActionKind string

const (
	// ActNote posts a note on a ticket.
	ActNote ActionKind = "note"
	// ActClose moves a ticket to the tracker's closing state.
	ActClose ActionKind = "close"
	// ActRelate links Ticket to Other as related (Zammad: a normal link;
	// RT: RefersTo). Only between tickets of one tracker.
	ActRelate ActionKind = "relate"
	// ActMail mails a note (the announcement) to the configured addresses.
	ActMail ActionKind = "mail"
	// ActOpen opens the child ticket of Step, in the tracker and queue the
	// step is routed to, with the marker (ChildMarker) at the start of its
	// title. Ticket is the parent. The step is StepOpening until the
	// executor records the child.
	ActOpen ActionKind = "open"
)

// Note kinds. Each has a template under templates/notes/.
const (
	NoteMissing      = "missing"      // prerequisite data missing or malformed
	NoteUnauthorised = "unauthorised" // a command from someone not allowed to give it
	NoteSelfApproval = "self-approval"
	NoteRejected     = "rejected"
	NoteBadCommand   = "bad-command" // a command procbot could not carry out, with the reason
	NoteSkipped      = "skipped"     // an operator marked a step not applicable
	NoteStatus       = "status"      // the one progress note on the parent
	NoteAnnouncement = "announcement"
	NoteDuplicate    = "duplicate" // a second request for a product already in the procedure
	NoteReminder     = "reminder"  // on an overdue step's child
	NoteRefused      = "refused"   // on the parent: a tracker keeps refusing an effect
	NoteFailed       = "failed"    // on the parent: a step's child closed as failed
	NoteDoneBy       = "done-by"   // an operator marked a step done, with the evidence
	NoteCancelled    = "cancelled" // on the parent: an operator cancelled the request
	NoteStopped      = "stopped"   // on an open child: the request was stopped, with why
	NoteHeld         = "held"      // on the parent: an operator put the request on hold
	NoteResumed      = "resumed"   // on the parent: an operator resumed it
	NoteRouted       = "routed"    // on the parent: an operator re-routed a step or unit
	NoteSite         = "site"      // on the parent: an operator named the pilot site
)

// Action is a side effect procbot decided on: the core returns it, the
// executor carries it out.
type Action struct {
	Kind   ActionKind `json:"kind"`
	Ticket TicketRef  `json:"ticket"`
	// Note is the note kind (for ActNote).
	Note   string `json:"note,omitempty"`
	Public bool   `json:"public,omitempty"`
	// Digest identifies the note's content; for kinds that must not repeat
	// (missing, status) the executor records it in Instance.Posted.
	Digest string `json:"digest,omitempty"`
	Step   string `json:"step,omitempty"`
	// Other is the second ticket of ActRelate, or the earlier request a
	// duplicate note points to.
	Other   TicketRef `json:"other,omitempty"`
	Who     string    `json:"who,omitempty"`
	Command string    `json:"command,omitempty"`
	Reason  string    `json:"reason,omitempty"`
	// Attempt is set by the executor before it posts a note: a digest of
	// the text, so that a later attempt can tell whether the note is on the
	// ticket already (the answer was lost, or procbot stopped). On ActOpen
	// it is the child's marker, set when a child may exist already (a
	// rebuilt record, a record of an older procbot): the executor looks
	// for a ticket with that marker before creating one.
	Attempt string `json:"attempt,omitempty"`
	// Tried is set on ActOpen when an attempt to create the child ended
	// without the tracker's answer (a timeout, a dropped connection): the
	// tracker may still create it. The next attempts look for it by its
	// marker and, until the executor's create hold has passed since Tried,
	// do not create another.
	Tried time.Time `json:"tried,omitempty"`
	// OnTicket lists digests (NoteDigest) of texts on the ticket already,
	// set when a lost record is rebuilt: a note whose text has one of them
	// was posted before and counts as posted, without being posted again.
	OnTicket []string `json:"on_ticket,omitempty"`
	// Refusals counts the attempts the tracker refused for certain (its
	// answer said no: procbot's rights, a queue that does not exist, a
	// status change the queue's lifecycle does not allow); Refused is the
	// last refusal and RefusedAt when it came. Set by the executor. After
	// RefusalsBeforeReport, one note on the request says so (Reported is
	// then set by the core), and the action is tried again only at
	// RetryAt.
	Refusals  int       `json:"refusals,omitempty"`
	Refused   string    `json:"refused,omitempty"`
	RefusedAt time.Time `json:"refused_at,omitzero"`
	Reported  bool      `json:"reported,omitempty"`
}

// RefusalsBeforeReport is how many refusals of an effect procbot takes
// before it reports them on the request and waits between attempts: one
// or two may be a passing misconfiguration being fixed.
const RefusalsBeforeReport = 3

// RetryAt is when a refused action is tried again: at once until it was
// refused RefusalsBeforeReport times, then an hour after the last refusal,
// twice as long after each further one, at most a day.
func (a Action) RetryAt() time.Time {
	if a.Refusals < RefusalsBeforeReport {
		return time.Time{}
	}
	wait := time.Hour
	for i := RefusalsBeforeReport; i < a.Refusals && wait < 24*time.Hour; i++ {
		wait *= 2
	}
	return a.RefusedAt.Add(min(wait, 24*time.Hour))
}

// Policy is the configuration the core decides with.
type Policy struct {
	// Operators may approve, reject, set the kind and mark steps not
	// applicable. Compared exactly after trimming and lowercasing.
	Operators []string
	// ApprovalTag, if set, approves a request when the parent carries it.
	// Anyone the tracker lets tag the parent can then approve: leave it empty
	// unless tagging is restricted to operators.
	ApprovalTag string
	// Terminal lists, per tracker, the state names that complete a step.
	Terminal map[string][]string
	// QueueTerminal lists, for a queue on a lifecycle of its own, the
	// state names that complete a step there, in place of its tracker's.
	QueueTerminal map[Place][]string
	// Failed and QueueFailed list the states in which a child has failed
	// (GGUS unsolved, RT rejected): the step is failed, not done.
	Failed      map[string][]string
	QueueFailed map[Place][]string
	// Robots maps a tracker to procbot's own login there; its own articles
	// carry no commands and no request data.
	Robots map[string]string
	// Trackers are the trackers procbot is configured with: an operator's
	// "/route" can send a step only to one of them. Empty: ggus and rt.
	Trackers []string
	// ReminderEvery is how often an overdue step's child gets a reminder
	// note; zero sends none.
	ReminderEvery time.Duration
}

// Place is a queue (RT) or group (GGUS) of one tracker.
type Place struct{ Tracker, Queue string }

// IsTerminal reports whether the ticket's state completes a step: one of
// its queue's terminal states if the queue has its own, else one of its
// tracker's. Queue names compare without regard to case, as RT's do.
func (p Policy) IsTerminal(t Ticket) bool { return inStates(t, p.Terminal, p.QueueTerminal) }

// IsClosed reports whether the ticket is in a state that ends a step,
// done or failed: procbot neither closes it again nor tells it a request
// stopped.
func (p Policy) IsClosed(t Ticket) bool { return p.IsTerminal(t) || p.IsFailed(t) }

// IsFailed reports whether the ticket's state is one in which a step has
// failed, by its queue's list or its tracker's.
func (p Policy) IsFailed(t Ticket) bool { return inStates(t, p.Failed, p.QueueFailed) }

// Outcomes names, for a queue of a tracker, a state that completes a step
// (the first of its terminal states that is not a failed one) and a state
// in which it failed (the first failed one): what a child tells its unit
// to set. Either is "" when the policy has none.
func (p Policy) Outcomes(tracker, queue string) (done, failed string) {
	t := Ticket{Ref: TicketRef{Tracker: tracker}, Queue: queue}
	terminal, failing := statesOf(t, p.Terminal, p.QueueTerminal), statesOf(t, p.Failed, p.QueueFailed)
	for _, s := range terminal {
		if !slices.ContainsFunc(failing, func(f string) bool { return equalFold(f, s) }) {
			done = s
			break
		}
	}
	if len(failing) > 0 {
		failed = failing[0]
	}
	return done, failed
}

func statesOf(t Ticket, byTracker map[string][]string, byQueue map[Place][]string) []string {
	states := byTracker[t.Ref.Tracker]
	for place, own := range byQueue {
		if place.Tracker == t.Ref.Tracker && equalFold(place.Queue, t.Queue) {
			states = own
		}
	}
	return states
}

func inStates(t Ticket, byTracker map[string][]string, byQueue map[Place][]string) bool {
	if t.State == "" {
		return false
	}
	for _, s := range statesOf(t, byTracker, byQueue) {
		if equalFold(s, t.State) {
			return true
		}
	}
	return false
}
