// Package procedure holds the definition of an operations procedure, loaded
// from a YAML file under templates/: the request it is started by, the
// responsible units and their routes, and the steps with their predecessors.
package procedure

// Step kinds.
const (
	// KindTask (the default): procbot opens a child ticket on the step's route
	// and the step is done when that ticket reaches a terminal state.
	KindTask = "task"
	// KindApproval: done when an authorised operator approves the request on
	// the parent ticket. No child ticket.
	KindApproval = "approval"
	// KindAnnouncement: the last step. procbot opens a child on its route
	// that asks its unit to announce the product, with the announcement
	// drafted in it; when that child is done, procbot posts the
	// announcement on the parent, mails it and closes the parent. It must
	// come after every other step.
	KindAnnouncement = "announcement"
)

// Procedure is one procedure definition.
//
// A procedure is immutable once loaded: Parse, Load, Embedded and
// ApplyRoutes validate it and compute, once, the views of it that procbot
// asks for in every cycle (the step order, each step by id, the
// predecessors, the approval and announcement steps, the areas). Code that
// builds or changes a Procedure itself must call Validate afterwards, or
// those views describe the steps as they were; a Procedure never validated
// computes them on every call.
type Procedure struct {
	ID      string  `yaml:"id"`      // short id, e.g. "PROC19"; appears in child titles
	Title   string  `yaml:"title"`   // full title from the source document
	Version string  `yaml:"version"` // version of the source document it was written from
	Request Request `yaml:"request"`
	// Units are the responsible parties, by key. A task step names its unit.
	Units map[string]Unit `yaml:"units"`
	Steps []Step          `yaml:"steps"`
	// DefaultDueDays is how long a step may stay open before it is overdue,
	// for steps that set no due_days.
	DefaultDueDays int `yaml:"default_due_days"`

	views *views // computed by Validate; nil: not validated
}

// Request describes the ticket that starts the procedure.
type Request struct {
	// Subject is the subject template, with "{product}" where the product
	// name goes, e.g. "Request for integration of {product} to EGI
	// Production Infrastructure (PROC19)".
	Subject string `yaml:"subject"`
	// Search is a literal that every request subject and every child title
	// contains; trackers are asked only for tickets whose title contains it.
	Search string `yaml:"search"`
	// Fields is the prerequisite data expected in the request's first article.
	Fields []Field `yaml:"fields"`
}

// Field formats.
const (
	FormatText    = "text"    // any non-empty text
	FormatContact = "contact" // "Name, name@example.org": yields <key>_name and <key>_email
	FormatEmail   = "email"   // an email address
	FormatChoice  = "choice"  // one of Choices (case-insensitive)
)

// Field is one piece of prerequisite data in the request body, written as
// "<label>: <value>" (a leading "*" or "-" is allowed).
type Field struct {
	Key      string   `yaml:"key"`
	Label    string   `yaml:"label"`   // as written in the procedure's template, matched case-insensitively
	Aliases  []string `yaml:"aliases"` // other accepted labels
	Required bool     `yaml:"required"`
	Format   string   `yaml:"format"`  // text (default), contact, email, choice
	Choices  []string `yaml:"choices"` // for format choice
	Help     string   `yaml:"help"`    // how to supply it, shown when it is missing
	// RequiredWhen makes the field required when another field has a
	// value: "<key>=<value>", e.g. "requester=Resource Centre".
	RequiredWhen string `yaml:"required_when"`
	// Expect lists the answers the procedure needs (a choice field): any
	// other answer is flagged to the approver, who decides.
	Expect []string `yaml:"expect"`
}

// Unit is a responsible party and where its tickets go.
type Unit struct {
	Name  string `yaml:"name"` // e.g. "GOCDB team"
	Route Route  `yaml:"route"`
	// Customer names the request field (format contact or email) that
	// reaches the unit: its address is the customer (GGUS) or requestor
	// (RT) of the unit's children, who is mailed, can answer and can close
	// them. Empty: the unit works the queue its route names.
	Customer string `yaml:"customer"`
	// Desk is who works the unit's route when it is not the unit's own
	// queue (e.g. "EGI Operations" for a unit routed to Operations): the
	// child tells them what to do with it on the unit's behalf.
	Desk string `yaml:"desk"`
}

// Route is where a step's child ticket is opened.
type Route struct {
	Tracker string `yaml:"tracker"` // "ggus" or "rt"
	Queue   string `yaml:"queue"`   // GGUS group (full "::" path) or RT queue name
}

// IsZero reports whether no route is set.
func (r Route) IsZero() bool { return r.Tracker == "" && r.Queue == "" }

// Step is one step of the procedure.
type Step struct {
	ID     string `yaml:"id"`
	Area   string `yaml:"area"`
	Kind   string `yaml:"kind"` // task (default), approval, announcement
	Unit   string `yaml:"unit"` // key into Procedure.Units: the responsible party
	Action string `yaml:"action"`
	// Notes carries the source document's "additional comments" for the step.
	Notes string `yaml:"notes"`
	// Current says what has changed since the source document's version
	// (a retired tool, a renamed service type), printed under the action
	// so that the unit follows today's practice.
	Current string `yaml:"current"`
	// After lists the steps that must be complete before this one opens.
	After []string `yaml:"after"`
	// AppliesTo restricts the step to kinds of product (e.g. ["cloud"]). Empty:
	// always applies. While the kind is unknown the step applies.
	AppliesTo []string `yaml:"applies_to"`
	// Route overrides the unit's route for this step.
	Route   Route `yaml:"route"`
	DueDays int   `yaml:"due_days"`
}
