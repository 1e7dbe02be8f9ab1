package core

import (
	"maps"
	"slices"
	"time"

	"github.com/procbot/procbot/internal/intake"
	"github.com/procbot/procbot/internal/procedure"
)

// Phase is where a request stands as a whole.
type Phase string

const (
	// PhaseIncomplete: the request lacks prerequisite data; a note says what.
	PhaseIncomplete Phase = "incomplete"
	// PhaseAwaitingApproval: data complete, waiting for an operator's /approve.
	PhaseAwaitingApproval Phase = "awaiting-approval"
	// PhaseRunning: approved; child tickets are being worked.
	PhaseRunning Phase = "running"
	// PhaseCompleted: every applicable step done, announcement posted, parent closed.
	PhaseCompleted Phase = "completed"
	// PhaseRejected: an operator rejected the request, or it repeats an
	// open one; parent closed.
	PhaseRejected Phase = "rejected"
	// PhaseClosed: a person closed the request before the procedure
	// completed; procbot stopped working on it.
	PhaseClosed Phase = "closed"
	// PhaseCancelled: an operator cancelled the request ("/cancel
	// <reason>"); its open children were closed with the reason.
	PhaseCancelled Phase = "cancelled"
)

// Finished reports whether procbot has nothing more to do for the request.
func (p Phase) Finished() bool {
	return p == PhaseCompleted || p == PhaseRejected || p == PhaseClosed || p == PhaseCancelled
}

// StepStatus is where one step stands.
type StepStatus string

const (
	StepWaiting StepStatus = "waiting" // predecessors not done yet
	// StepOpening: procbot decided to open the child: an ActOpen for the
	// step waits in the outbox, and the child's reference is not recorded
	// yet. After a crash the executor looks for the child by its marker
	// before creating one.
	StepOpening StepStatus = "opening"
	StepOpen    StepStatus = "open"    // child ticket exists and is not terminal
	StepDone    StepStatus = "done"    // child closed, or the approval given
	StepSkipped StepStatus = "skipped" // not applicable, with a reason
	// StepFailed: the child closed in a failed state (GGUS unsolved, RT
	// rejected). The step holds its successors until an operator retries
	// it, marks it done or marks it not applicable.
	StepFailed StepStatus = "failed"
)

// Complete reports whether the step no longer blocks its successors.
func (s StepStatus) Complete() bool { return s == StepDone || s == StepSkipped }

// StepState is the recorded state of one step of one request.
type StepState struct {
	Status StepStatus `json:"status"`
	Child  TicketRef  `json:"child,omitempty"`
	// ChildURL is the child's web link, for notes and mail.
	ChildURL string `json:"child_url,omitempty"`
	// Reason why the step was skipped (not applicable).
	Reason string `json:"reason,omitempty"`
	// NAReason holds a "/na <reason>" seen on the open child: when the child
	// reaches a terminal state the step is skipped with this reason.
	NAReason string    `json:"na_reason,omitempty"`
	OpenedAt time.Time `json:"opened_at,omitempty"`
	// RemindedAt is when the last reminder about the overdue step was
	// decided; at most one per Policy.ReminderEvery.
	RemindedAt time.Time `json:"reminded_at,omitempty"`
	DoneAt     time.Time `json:"done_at,omitempty"`
	// Attempt counts the operator's retries: the child of attempt n > 0
	// has the marker of StepLabel(step, n). Failed lists the children
	// that failed before, oldest first.
	Attempt int         `json:"attempt,omitempty"`
	Failed  []TicketRef `json:"failed,omitempty"`
	By      string      `json:"by,omitempty"` // who approved, or who marked it not applicable
}

// Instance is the recorded state of one request going through one procedure.
type Instance struct {
	Key       string    `json:"key"` // Procedure + "/" + Parent.Key()
	Procedure string    `json:"procedure"`
	Parent    TicketRef `json:"parent"`
	ParentURL string    `json:"parent_url,omitempty"`
	Title     string    `json:"title"`
	Product   string    `json:"product"`
	// Applicant is the author of the request's first article. They cannot
	// approve their own request.
	Applicant string `json:"applicant,omitempty"`
	// Data holds the prerequisite fields parsed from the request, by key.
	Data map[string]string `json:"data,omitempty"`
	// Rejected holds values given in the request but not accepted, which
	// Data therefore lacks (a kind that is none of the choices), by field,
	// until a later article gives an accepted value.
	Rejected map[string]intake.Problem `json:"rejected,omitempty"`
	// Missing lists the problems with Data, as shown to the applicant.
	Missing []intake.Problem `json:"missing,omitempty"`
	Phase   Phase            `json:"phase"`
	// Kind of product ("cloud", "middleware"); empty while unknown.
	Kind  string               `json:"kind,omitempty"`
	Steps map[string]StepState `json:"steps"`
	// TaskForce is the integration task force (step 0b): who receives the
	// weekly digest for this request, besides the configured defaults.
	TaskForce []Member `json:"task_force,omitempty"`
	// RejectReason says why the request was rejected, cancelled or closed.
	RejectReason string `json:"reject_reason,omitempty"`
	// StoppedBy is the operator who rejected or cancelled the request
	// while it ran ("" when a person closed it in the tracker).
	StoppedBy string `json:"stopped_by,omitempty"`
	// Routes are the request's own routes, by step id or unit key: an
	// operator's "/route <step|unit> <tracker>:<queue>", or the pilot
	// site's group from "/site". They apply to children opened after.
	Routes map[string]procedure.Route `json:"routes,omitempty"`
	// Hold is set while an operator holds the request ("/hold <reason>"):
	// no child is opened and no reminder sent until "/resume".
	Hold Hold `json:"hold,omitzero"`
	// DuplicateOf is the earlier open request for the same product, if this
	// request repeats one; the daemon sets it when it first sees the request.
	DuplicateOf    TicketRef `json:"duplicate_of,omitempty"`
	DuplicateOfURL string    `json:"duplicate_of_url,omitempty"`
	// ContactJoined records that the Technology Provider's contact was put
	// on the task force, so that removing them later sticks.
	ContactJoined bool `json:"contact_joined,omitempty"`
	// Seen maps a ticket key to the highest article id already processed.
	Seen map[string]int64 `json:"seen,omitempty"`
	// Read maps a ticket key to its last change as of the last time it was
	// read: a poll that shows the same change again (polls overlap) does
	// not read the ticket again.
	Read map[string]time.Time `json:"read,omitempty"`
	// Posted maps a note kind to a digest of the last note of that kind that
	// was posted, so the same note is never posted twice.
	Posted map[string]string `json:"posted,omitempty"`
	// Outbox holds side effects decided but not yet carried out. The executor
	// removes each one once the tracker has it, so a note or a close decided
	// before a crash or a tracker outage is carried out later, not lost.
	Outbox    []Action  `json:"outbox,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Member is one member of a request's task force.
type Member struct {
	Email string `json:"email"`
	Name  string `json:"name,omitempty"`
	Role  string `json:"role,omitempty"` // e.g. "Technology Provider", "UMD"
}

// InstanceKey is the key of the request whose parent is ref.
func InstanceKey(procedure string, parent TicketRef) string {
	return procedure + "/" + parent.Key()
}

// AuditEntry records one action procbot took (or, dry-running, would have taken).
type AuditEntry struct {
	Time     time.Time `json:"time"`
	Instance string    `json:"instance"`
	Step     string    `json:"step,omitempty"`
	Tracker  string    `json:"tracker,omitempty"`
	Ticket   string    `json:"ticket,omitempty"`
	What     string    `json:"what"`
	DryRun   bool      `json:"dry_run,omitempty"`
}

// clone returns a deep copy, so Decide never changes its input.
func (in Instance) clone() Instance {
	out := in
	out.Data = copyMap(in.Data)
	out.Rejected = make(map[string]intake.Problem, len(in.Rejected))
	for k, v := range in.Rejected {
		out.Rejected[k] = v
	}
	out.Missing = append([]intake.Problem(nil), in.Missing...)
	out.Steps = make(map[string]StepState, len(in.Steps))
	for k, v := range in.Steps {
		v.Failed = slices.Clone(v.Failed)
		out.Steps[k] = v
	}
	out.Seen = make(map[string]int64, len(in.Seen))
	for k, v := range in.Seen {
		out.Seen[k] = v
	}
	out.Posted = copyMap(in.Posted)
	out.Routes = maps.Clone(in.Routes)
	out.TaskForce = append([]Member(nil), in.TaskForce...)
	out.Read = make(map[string]time.Time, len(in.Read))
	for k, v := range in.Read {
		out.Read[k] = v
	}
	out.Outbox = append([]Action(nil), in.Outbox...)
	return out
}

// Equal reports whether two records hold the same, apart from the time of
// their last change.
func (in Instance) Equal(other Instance) bool { return in.equal(other) }

// Clone returns a deep copy of the instance.
func (in Instance) Clone() Instance { return in.clone() }

// equal compares field by field, without copying either side: deciding
// on a request whose tickets did not change ends here, so it must cost
// little. Empty and nil collections compare equal, and times compare as
// instants. TestEqualSeesEveryField fails when a field of Instance is left
// out here.
func (in Instance) equal(other Instance) bool {
	return in.Key == other.Key &&
		in.Procedure == other.Procedure &&
		in.Parent == other.Parent &&
		in.ParentURL == other.ParentURL &&
		in.Title == other.Title &&
		in.Product == other.Product &&
		in.Applicant == other.Applicant &&
		maps.Equal(in.Data, other.Data) &&
		maps.Equal(in.Rejected, other.Rejected) &&
		slices.Equal(in.Missing, other.Missing) &&
		in.Phase == other.Phase &&
		in.Kind == other.Kind &&
		maps.EqualFunc(in.Steps, other.Steps, StepState.equal) &&
		slices.Equal(in.TaskForce, other.TaskForce) &&
		in.RejectReason == other.RejectReason &&
		in.StoppedBy == other.StoppedBy &&
		maps.Equal(in.Routes, other.Routes) &&
		in.Hold.equal(other.Hold) &&
		in.DuplicateOf == other.DuplicateOf &&
		in.DuplicateOfURL == other.DuplicateOfURL &&
		in.ContactJoined == other.ContactJoined &&
		maps.Equal(in.Seen, other.Seen) &&
		maps.EqualFunc(in.Read, other.Read, time.Time.Equal) &&
		maps.Equal(in.Posted, other.Posted) &&
		slices.EqualFunc(in.Outbox, other.Outbox, Action.equal) &&
		in.CreatedAt.Equal(other.CreatedAt)
	// UpdatedAt is left out: it is the time of the last change.
}

func (s StepState) equal(o StepState) bool {
	return s.Status == o.Status && s.Child == o.Child && s.ChildURL == o.ChildURL &&
		s.Reason == o.Reason && s.NAReason == o.NAReason && s.OpenedAt.Equal(o.OpenedAt) &&
		s.RemindedAt.Equal(o.RemindedAt) && s.DoneAt.Equal(o.DoneAt) && s.By == o.By &&
		s.Attempt == o.Attempt && slices.Equal(s.Failed, o.Failed)
}

func (a Action) equal(b Action) bool {
	return a.Kind == b.Kind && a.Ticket == b.Ticket && a.Note == b.Note && a.Public == b.Public &&
		a.Digest == b.Digest && a.Step == b.Step && a.Other == b.Other && a.Who == b.Who &&
		a.Command == b.Command && a.Reason == b.Reason && a.Attempt == b.Attempt && a.Tried.Equal(b.Tried) &&
		slices.Equal(a.OnTicket, b.OnTicket) && a.Refusals == b.Refusals && a.Refused == b.Refused &&
		a.RefusedAt.Equal(b.RefusedAt) && a.Reported == b.Reported
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Pending reports whether procbot still has something to do for the request:
// it is not finished, or side effects are waiting in its outbox.
func (in Instance) Pending() bool { return !in.Phase.Finished() || len(in.Outbox) > 0 }

// Hold is an operator's hold on a request.
type Hold struct {
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
}

// On reports whether the request is on hold.
func (h Hold) On() bool { return h.By != "" }

func (h Hold) equal(o Hold) bool {
	return h.By == o.By && h.Reason == o.Reason && h.Since.Equal(o.Since)
}

// Mail states recorded before and after sending. A mail recorded as
// sending was handed to the SMTP server, or procbot stopped while it was:
// it is never sent again, so a crash cannot make it arrive twice.
const (
	MailSending = "sending"
	MailSent    = "sent"
	MailFailed  = "failed" // the SMTP server refused it: send it again
)

// MailRecord is what procbot recorded of one mail it sends once.
type MailRecord struct {
	State string    `json:"state"`
	At    time.Time `json:"at"`
	To    string    `json:"to,omitempty"`
}
