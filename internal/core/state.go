package core

import "time"

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
	// PhaseRejected: an operator rejected the request; parent closed.
	PhaseRejected Phase = "rejected"
)

// Finished reports whether procbot has nothing more to do for the request.
func (p Phase) Finished() bool { return p == PhaseCompleted || p == PhaseRejected }

// StepStatus is where one step stands.
type StepStatus string

const (
	StepWaiting StepStatus = "waiting" // predecessors not done yet
	// StepOpening: procbot decided to open the child and recorded that intent;
	// the child's reference is not recorded yet. After a crash the executor
	// looks for the child by its marker before creating one.
	StepOpening StepStatus = "opening"
	StepOpen    StepStatus = "open"    // child ticket exists and is not terminal
	StepDone    StepStatus = "done"    // child closed, or the approval given
	StepSkipped StepStatus = "skipped" // not applicable, with a reason
)

// Complete reports whether the step no longer blocks its successors.
func (s StepStatus) Complete() bool { return s == StepDone || s == StepSkipped }

// StepState is the recorded state of one step of one request.
type StepState struct {
	Status StepStatus `json:"status"`
	Child  TicketRef  `json:"child,omitempty"`
	// Reason why the step was skipped (not applicable).
	Reason string `json:"reason,omitempty"`
	// NAReason holds a "/na <reason>" seen on the open child: when the child
	// reaches a terminal state the step is skipped with this reason.
	NAReason string    `json:"na_reason,omitempty"`
	OpenedAt time.Time `json:"opened_at,omitempty"`
	DoneAt   time.Time `json:"done_at,omitempty"`
	By       string    `json:"by,omitempty"` // who approved, or who marked it not applicable
}

// Instance is the recorded state of one request going through one procedure.
type Instance struct {
	Key       string    `json:"key"` // Procedure + "/" + Parent.Key()
	Procedure string    `json:"procedure"`
	Parent    TicketRef `json:"parent"`
	ParentURL string    `json:"parent_url,omitempty"`
	Title     string    `json:"title"`
	Product   string    `json:"product"`
	// Data holds the prerequisite fields parsed from the request, by key.
	Data map[string]string `json:"data,omitempty"`
	// Missing lists the problems with Data, as shown to the applicant.
	Missing []string `json:"missing,omitempty"`
	Phase   Phase    `json:"phase"`
	// Kind of product ("cloud", "middleware"); empty while unknown.
	Kind         string               `json:"kind,omitempty"`
	Steps        map[string]StepState `json:"steps"`
	RejectReason string               `json:"reject_reason,omitempty"`
	// Seen maps a ticket key to the highest article id already processed.
	Seen map[string]int64 `json:"seen,omitempty"`
	// Posted maps a note kind to a digest of the last note of that kind that
	// was posted, so the same note is never posted twice.
	Posted    map[string]string `json:"posted,omitempty"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
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
