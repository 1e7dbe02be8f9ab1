package core

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/intake"
	"github.com/procbot/procbot/internal/procedure"
)

// Snapshot is one ticket as a tracker showed it this cycle.
type Snapshot struct {
	Ticket   Ticket
	Articles []Article // may include articles already processed; Decide skips them
	// Changed is the ticket's last change as the poll listed it. Decide
	// records it as read (Instance.Read) once it has settled (ReadSettle),
	// so that a poll that lists the same change again does not read the
	// ticket again. Zero: nothing to record.
	Changed time.Time
}

// Observation is what the trackers showed this cycle of one request. Only
// tickets that changed are re-read, so most cycles observe little or nothing.
type Observation struct {
	Parent   *Snapshot           // nil: the parent was not re-read
	Children map[string]Snapshot // by step id
	// Unrecorded says that procbot has no record of the request: it is
	// seen for the first time. If procbot's own notes are on its parent
	// all the same, procbot worked on it before and lost its record (a
	// lost database, an old backup), and Decide rebuilds the record from
	// what the tickets show (see Input.Rebuilding).
	Unrecorded bool
	// Marked holds the tickets whose title carries one of this request's
	// child markers (ChildMarker) but that no request records as its
	// child: children whose record was lost with the database, or never
	// made because procbot stopped between creating and recording them.
	// Decide adopts those procbot opened.
	Marked []Snapshot
}

// Request is another request procbot knows of this cycle, as Decide needs
// it to tell whether a request seen for the first time repeats it.
type Request struct {
	Key       string
	Procedure string
	Parent    TicketRef
	ParentURL string
	Product   string
	Phase     Phase
	// DuplicateOf is set when the request itself repeats an earlier one.
	DuplicateOf TicketRef
	// Unrecorded: first seen this cycle, like the request decided on may
	// be; of two, the one whose parent was filed first is the original.
	Unrecorded bool
	// Filed is when the parent ticket was created.
	Filed time.Time
}

// Input is everything Decide looks at.
type Input struct {
	Procedure *procedure.Procedure
	State     Instance
	Observed  Observation
	// Others are the other requests procbot knows of for the product
	// (it may hold requests for other products too: Decide compares the
	// products itself). Only a request seen for the first time looks at
	// them, to tell whether it repeats one still open.
	Others []Request
	Policy Policy
	Now    time.Time
}

// Rebuilding reports whether Decide rebuilds a lost record: procbot has no
// record of the request, but its own notes are on the parent.
func (in Input) Rebuilding() bool {
	o := in.Observed
	return o.Unrecorded && o.Parent != nil && len(robotNotes(in.Policy, *o.Parent)) > 0
}

// robotNotes returns procbot's own articles on the ticket, oldest first.
func robotNotes(pol Policy, snap Snapshot) []Article {
	robot := pol.Robots[snap.Ticket.Ref.Tracker]
	if robot == "" {
		return nil
	}
	var out []Article
	for _, a := range snap.Articles {
		if intake.SameIdentity(robot, a.Author) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// NewInstance starts the record of a request seen for the first time.
func NewInstance(p *procedure.Procedure, parent Ticket, product string, now time.Time) Instance {
	inst := Instance{
		Key:       InstanceKey(p.ID, parent.Ref),
		Procedure: p.ID,
		Parent:    parent.Ref,
		ParentURL: parent.URL,
		Title:     parent.Title,
		Product:   product,
		Phase:     PhaseIncomplete,
		Steps:     map[string]StepState{},
		CreatedAt: now,
		UpdatedAt: now,
	}
	for id := range p.InOrder() {
		inst.Steps[id] = StepState{Status: StepWaiting}
	}
	return inst
}

// Decide is procbot's core: from a procedure, the recorded state of one
// request and what the trackers show of it, it computes the new state. Side
// effects to carry out, opening child tickets included, are the actions in
// the returned Outbox. Decide does no I/O and does not modify its input.
func Decide(in Input) Instance {
	d := &decider{in: in, p: in.Procedure, inst: in.State.clone(), now: in.Now, rebuilding: in.Rebuilding(),
		adopted: map[string]Snapshot{}}
	d.fillSteps()
	d.markRead()
	d.adopt()
	if !d.inst.Phase.Finished() {
		if in.Observed.Unrecorded && d.inst.DuplicateOf.IsZero() {
			d.repeats()
		}
		d.decide()
		if d.rebuilding {
			d.rebuilt()
		}
	}
	d.dropStaleOpens()
	d.reportRefusals()
	if !d.inst.equal(in.State) {
		d.inst.UpdatedAt = d.now
	}
	return d.inst
}

// markRead records, of every ticket observed, the change the poll listed
// as read, or forgets an earlier one while that change has not settled.
func (d *decider) markRead() {
	o := d.in.Observed
	if o.Parent != nil {
		d.read(*o.Parent)
	}
	for _, snap := range o.Children {
		d.read(snap)
	}
	for _, snap := range o.Marked {
		d.read(snap)
	}
}

func (d *decider) read(snap Snapshot) {
	if snap.Changed.IsZero() {
		return
	}
	key := snap.Ticket.Ref.Key()
	if !settled(d.now, snap.Changed, snap.Ticket.Ref.Tracker) {
		delete(d.inst.Read, key)
		return
	}
	d.inst.Read[key] = snap.Changed
}

// settled reports whether a read, at now, of a ticket of the tracker last
// changed at at saw the change for good: a later change shows as a later
// last change. GGUS (Zammad) stamps changes to the millisecond, so a later
// change gets a later stamp however soon after the read it comes, and a
// burst of changes is read once, not in every poll of the overlap; that
// holds also for a stamp that happens to fall on a whole second. RT, and
// any tracker procbot does not know to stamp finer, stamps to the whole
// second: such a change settles after ReadSettle.
func settled(now, at time.Time, tracker string) bool {
	return tracker == TrackerGGUS || now.Sub(at) >= ReadSettle
}

// ReadSettle is how old a change stamped to the whole second must be
// before procbot trusts that a read saw all of it. RT stamps changes to the
// whole second, so a note added in the second of a read leaves the
// ticket's last change unchanged; until such a change is this old (clock
// skew included), polls keep reading the ticket.
const ReadSettle = 5 * time.Second

func (d *decider) decide() {
	if !d.inst.DuplicateOf.IsZero() && !d.started() {
		d.duplicate()
		return
	}
	if d.in.Observed.Parent != nil {
		d.parent(*d.in.Observed.Parent)
	}
	if d.inst.Phase.Finished() {
		return
	}
	for id := range d.p.InOrder() {
		snap, ok := d.in.Observed.Children[id]
		if !ok {
			snap, ok = d.adopted[id]
		}
		if ok {
			d.child(id, snap)
		}
	}
	d.data()
	d.phase()
	if d.parentClosed {
		d.closedBefore()
		return
	}
	if d.inst.Phase == PhaseRunning && !d.inst.Hold.On() {
		d.advance()
		d.remind()
	}
	d.status()
}

type decider struct {
	in   Input
	p    *procedure.Procedure
	inst Instance
	now  time.Time
	// rebuilding: the record was lost and is rebuilt (Input.Rebuilding).
	rebuilding bool
	// parentClosed: rebuilding, the parent is closed, and no command on it
	// says why; what the children show decides.
	parentClosed bool
	// adopted holds the tickets found by their marker (Observation.Marked)
	// that became their step's child, by step.
	adopted map[string]Snapshot
}

// fillSteps adds steps the procedure gained since the request was recorded.
func (d *decider) fillSteps() {
	for id := range d.p.InOrder() {
		if _, ok := d.inst.Steps[id]; !ok {
			d.inst.Steps[id] = StepState{Status: StepWaiting}
		}
	}
}

func (d *decider) isRobot(tracker, author string) bool {
	r := d.in.Policy.Robots[tracker]
	return r != "" && intake.SameIdentity(r, author)
}

func (d *decider) isOperator(who string) bool {
	for _, op := range d.in.Policy.Operators {
		if intake.SameIdentity(op, who) {
			return true
		}
	}
	return false
}

// unseen returns the articles of snap newer than the last one processed,
// and records them as processed.
func (d *decider) unseen(snap Snapshot) []Article {
	key := snap.Ticket.Ref.Key()
	last := d.inst.Seen[key]
	var out []Article
	for _, a := range snap.Articles {
		if a.ID > last {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > 0 {
		d.inst.Seen[key] = out[len(out)-1].ID
	}
	return out
}

func (d *decider) parent(snap Snapshot) {
	t := snap.Ticket
	if t.Title != "" {
		d.inst.Title = t.Title
	}
	if t.URL != "" {
		d.inst.ParentURL = t.URL
	}
	for _, a := range d.unseen(snap) {
		if d.isRobot(t.Ref.Tracker, a.Author) {
			continue
		}
		if d.inst.Applicant == "" {
			d.inst.Applicant = a.Author
		}
		if !d.started() {
			parsed := intake.ParseRequest(d.p.Request.Fields, a.Body)
			d.inst.Data = intake.MergeData(d.inst.Data, parsed.Data)
			d.reject(parsed)
			if k := d.inst.Data["kind"]; k != "" && d.inst.Kind == "" {
				d.inst.Kind = k
			}
		}
		for _, c := range intake.ParseCommands(a.Body) {
			d.command(a.Author, c)
			if d.inst.Phase.Finished() {
				return
			}
		}
	}
	if tag := d.in.Policy.ApprovalTag; tag != "" && hasTag(t.Tags, tag) {
		d.approve("tag " + tag)
	}
	if d.in.Policy.IsTerminal(t) {
		if d.rebuilding {
			d.parentClosed = true
			return
		}
		d.closedByAPerson()
	}
}

// closedByAPerson ends a request closed by a person before procbot
// finished: procbot stops working on it rather than opening children for a
// closed request.
func (d *decider) closedByAPerson() {
	t := d.in.Observed.Parent.Ticket
	d.inst.Phase = PhaseClosed
	d.inst.RejectReason = fmt.Sprintf("the request was closed in %s (state %s) before the procedure completed", t.Ref.Tracker, t.State)
	if !d.rebuilding {
		// A rebuilt record changes no ticket: when the person closed it,
		// its children were stopped or left by the procbot of then.
		d.stopChildren("", d.inst.RejectReason)
	}
}

// stop ends the request as an operator's "/reject <reason>" or "/cancel
// <reason>" says: the request is told, its open children are closed with
// the reason, then the request.
func (d *decider) stop(author string, c intake.Command, to Phase, note string) {
	if c.Args == "" {
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("a reason is required: /%s <reason>", c.Name))
		return
	}
	d.inst.Phase, d.inst.RejectReason, d.inst.StoppedBy = to, c.Args, author
	d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: note, Public: true, Who: author, Reason: c.Args})
	d.stopChildren(author, c.Args)
	d.enqueue(Action{Kind: ActClose, Ticket: d.inst.Parent})
}

// stopChildren closes every open child of a request that was stopped
// while it ran, each with a note giving who stopped it and why: nobody is
// left working on a step of a request that no longer runs.
func (d *decider) stopChildren(who, reason string) {
	for id := range d.p.InOrder() {
		st := d.inst.Steps[id]
		if st.Status != StepOpen || st.Child.IsZero() {
			continue
		}
		if snap, ok := d.in.Observed.Children[id]; ok && d.in.Policy.IsClosed(snap.Ticket) {
			continue // closed by its unit meanwhile
		}
		d.enqueue(Action{Kind: ActNote, Ticket: st.Child, Note: NoteStopped, Public: d.toUnit(id), Step: id, Who: who, Reason: reason})
		d.enqueue(Action{Kind: ActClose, Ticket: st.Child, Step: id})
	}
}

// closedBefore decides on a closed request whose record is rebuilt, once
// its children are read. procbot closes a request only after posting its
// announcement, so a closed request whose every step is complete was
// completed; one with a step still open was closed by a person. Neither
// opens a child or changes a ticket.
func (d *decider) closedBefore() {
	if d.inst.Phase == PhaseRunning {
		d.skipInapplicable()
		if id := d.announcementStep(); id != "" && d.allComplete(id) {
			st := d.inst.Steps[id]
			st.Status, st.DoneAt = StepDone, d.now
			d.inst.Steps[id] = st
			d.inst.Phase = PhaseCompleted
			return
		}
	}
	d.closedByAPerson()
}

// skipInapplicable skips the waiting steps that do not apply to the kind
// of product.
func (d *decider) skipInapplicable() {
	for id := range d.p.InOrder() {
		st := d.inst.Steps[id]
		if st.Status != StepWaiting || d.p.Applies(id, d.inst.Kind) {
			continue
		}
		step, _ := d.p.Step(id)
		st.Status, st.DoneAt = StepSkipped, d.now
		st.Reason = fmt.Sprintf("applies only to %s products; this one is %s", strings.Join(step.AppliesTo, " or "), d.inst.Kind)
		d.inst.Steps[id] = st
	}
}

func (d *decider) announcementStep() string { return d.p.AnnouncementStep() }

// rebuilt keeps, of what a rebuilt record would do, only what is not done
// yet. The answers to commands and to missing data were given before the
// record was lost: they are recorded as posted, not posted again. A closed
// request gets nothing more. A ticket the trackers show closed is not
// closed again. A status note, an announcement or a reminder whose text is
// on its ticket already (the status note: as procbot's last note there)
// counts as posted.
func (d *decider) rebuilt() {
	parent := *d.in.Observed.Parent
	mine := robotNotes(d.in.Policy, parent)
	var last []string
	if len(mine) > 0 {
		last = []string{NoteDigest(mine[len(mine)-1].Body)}
	}
	terminal := map[string]bool{}
	if d.in.Policy.IsTerminal(parent.Ticket) {
		terminal[parent.Ticket.Ref.Key()] = true
	}
	onChild := map[string][]string{}
	for _, snap := range d.in.Observed.Children {
		if d.in.Policy.IsTerminal(snap.Ticket) {
			terminal[snap.Ticket.Ref.Key()] = true
		}
		onChild[snap.Ticket.Ref.Key()] = digests(robotNotes(d.in.Policy, snap))
	}
	var keep []Action
	for _, a := range d.inst.Outbox {
		onParent := a.Ticket.Key() == d.inst.Parent.Key()
		switch {
		case onParent && terminal[a.Ticket.Key()]:
			continue // a closed request: nothing more
		case a.Kind == ActClose && terminal[a.Ticket.Key()]:
			continue
		case a.Kind == ActOpen:
			// The child may exist in a tracker this cycle's search did
			// not show (one that failed): it is looked for first.
			a.Attempt = d.inst.MarkerOf(a.Step)
		case a.Kind == ActNote && a.Note == NoteStatus:
			a.OnTicket = last
		case a.Kind == ActNote && a.Note == NoteAnnouncement:
			a.OnTicket = digests(mine)
		case a.Kind == ActNote && a.Note == NoteReminder:
			a.OnTicket = onChild[a.Ticket.Key()]
		case a.Kind == ActNote && onParent:
			if a.Digest != "" {
				d.inst.Posted[a.Note] = a.Digest
			}
			continue
		}
		keep = append(keep, a)
	}
	d.inst.Outbox = keep
}

func digests(arts []Article) []string {
	var out []string
	for _, a := range arts {
		out = append(out, NoteDigest(a.Body))
	}
	return out
}

// NoteDigest identifies a note's text, whatever whitespace the tracker
// changed when it stored it.
func NoteDigest(body string) string {
	h := sha256.Sum256([]byte(strings.Join(strings.Fields(body), " ")))
	return hex.EncodeToString(h[:12])
}

// reject remembers the values an article gave that were not accepted (and
// so are not in its Data), and forgets those a later article corrected.
func (d *decider) reject(parsed intake.Parsed) {
	for _, f := range d.p.Request.Fields {
		if given(parsed.Data, f.Key) {
			delete(d.inst.Rejected, f.Key)
		}
	}
	for _, pr := range parsed.Problems {
		if pr.Malformed() && !given(parsed.Data, pr.Field) {
			d.inst.Rejected[pr.Field] = pr
		}
	}
}

// given reports whether data holds a value for the field (a contact field
// is stored as <key>_name and <key>_email).
func given(data map[string]string, field string) bool {
	return data[field] != "" || data[field+"_name"] != "" || data[field+"_email"] != ""
}

// started reports whether the request was approved with complete data, after
// which edits to the request no longer change it.
func (d *decider) started() bool {
	return d.inst.Phase == PhaseRunning || d.inst.Phase.Finished()
}

func (d *decider) approvalStep() string { return d.p.ApprovalStep() }

func (d *decider) approve(by string) {
	id := d.approvalStep()
	if id == "" || d.inst.Steps[id].Status.Complete() {
		return
	}
	st := d.inst.Steps[id]
	st.Status, st.By, st.DoneAt = StepDone, by, d.now
	d.inst.Steps[id] = st
}

func (d *decider) command(author string, c intake.Command) {
	parent := d.inst.Parent
	switch c.Name {
	case "approve", "reject", "kind", "na", "taskforce", "retry", "done", "cancel", "hold", "resume", "route", "site":
	default:
		return // not a procbot command on a request
	}
	if strings.TrimSpace(author) == "" {
		return // nobody to answer, and nobody who may command
	}
	if !d.isOperator(author) {
		d.enqueue(Action{Kind: ActNote, Ticket: parent, Note: NoteUnauthorised, Public: true, Who: author, Command: c.Name})
		return
	}
	switch c.Name {
	case "approve":
		if d.approvalStep() == "" || d.inst.Steps[d.approvalStep()].Status.Complete() {
			return
		}
		if d.inst.Applicant != "" && intake.SameIdentity(author, d.inst.Applicant) {
			d.enqueue(Action{Kind: ActNote, Ticket: parent, Note: NoteSelfApproval, Public: true, Who: author})
			return
		}
		d.approve(author)
	case "reject":
		d.stop(author, c, PhaseRejected, NoteRejected)
	case "cancel":
		d.stop(author, c, PhaseCancelled, NoteCancelled)
	case "hold":
		switch {
		case c.Args == "":
			d.badCommand(parent, author, c, "a reason is required: /hold <reason>")
		case d.inst.Hold.On():
			d.badCommand(parent, author, c, fmt.Sprintf("the request is on hold already, since %s by %s; /resume ends the hold", d.inst.Hold.Since.UTC().Format("2006-01-02"), d.inst.Hold.By))
		default:
			d.inst.Hold = Hold{By: author, Reason: c.Args, Since: d.now}
			d.enqueue(Action{Kind: ActNote, Ticket: parent, Note: NoteHeld, Public: true, Who: author, Reason: c.Args})
		}
	case "resume":
		if !d.inst.Hold.On() {
			d.badCommand(parent, author, c, "the request is not on hold")
			return
		}
		d.inst.Hold = Hold{}
		d.enqueue(Action{Kind: ActNote, Ticket: parent, Note: NoteResumed, Public: true, Who: author})
	case "kind":
		kind, ok := d.kindChoice(c.Args)
		if !ok {
			d.badCommand(parent, author, c, fmt.Sprintf("the kind must be one of: %s", strings.Join(d.kindChoices(), ", ")))
			return
		}
		d.inst.Kind = kind
	case "na":
		d.operatorSkip(author, c)
	case "retry":
		d.retry(author, c)
	case "done":
		d.operatorDone(author, c)
	case "taskforce":
		d.taskForce(author, c)
	case "route":
		d.route(author, c)
	case "site":
		d.site(author, c)
	}
}

// route handles "/route <step|unit> <tracker>:<queue>": the request's
// children of that step, or of that unit's steps, open there from now on.
func (d *decider) route(author string, c intake.Command) {
	key, rest, _ := strings.Cut(strings.TrimSpace(c.Args), " ")
	r, named := parseRoute(rest)
	step, isStep := d.p.Step(key)
	_, isUnit := d.p.Units[key]
	switch {
	case key == "" || !named || r.Queue == "":
		d.badCommand(d.inst.Parent, author, c, "write /route <step|unit> <tracker>:<queue>, e.g. /route 1b ggus:Second Level::NGI::NGI_IT or /route tp rt:PROC19 Integration")
		return
	case isStep && step.Kind == procedure.KindApproval:
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("step %s opens no child ticket", key))
		return
	case !isStep && !isUnit:
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("%q is neither a step nor a unit of %s (units: %s)", key, d.p.ID, strings.Join(slices.Sorted(maps.Keys(d.p.Units)), ", ")))
		return
	case !d.trackerKnown(r.Tracker):
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("procbot is not configured with tracker %q (it has: %s)", r.Tracker, strings.Join(d.trackers(), ", ")))
		return
	}
	d.setRoute(key, r)
	d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteRouted, Public: true, Who: author, Step: key, Reason: r.Tracker + ":" + r.Queue})
}

func (d *decider) setRoute(key string, r procedure.Route) {
	if d.inst.Routes == nil {
		d.inst.Routes = map[string]procedure.Route{}
	}
	d.inst.Routes[key] = r
}

func (d *decider) trackers() []string {
	if len(d.in.Policy.Trackers) == 0 {
		return []string{TrackerGGUS, TrackerRT}
	}
	return d.in.Policy.Trackers
}

func (d *decider) trackerKnown(name string) bool { return slices.Contains(d.trackers(), name) }

// site handles "/site <name> <email or group>": the pilot site, once
// known. With an address the site is the customer of its steps' children;
// with a group (GGUS, or rt:<queue>) its steps' children open there.
func (d *decider) site(author string, c intake.Command) {
	units := siteUnits(d.p)
	name, rest, _ := strings.Cut(strings.TrimSpace(c.Args), " ")
	rest = strings.Trim(strings.TrimSpace(rest), "<>")
	switch {
	case len(units) == 0:
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("no unit of %s is reached through the pilot site", d.p.ID))
		return
	case name == "" || rest == "":
		d.badCommand(d.inst.Parent, author, c, "write /site <name> <email or group>, e.g. /site CESGA grid-admin@cesga.example or /site CESGA Second Level::NGI::NGI_IBERGRID")
		return
	}
	if strings.Contains(rest, "@") && !strings.Contains(rest, " ") {
		if !intake.ValidEmail(rest) {
			d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("%q is not an email address", rest))
			return
		}
		d.inst.Data = copyMap(d.inst.Data)
		d.inst.Data[SiteField+"_name"], d.inst.Data[SiteField+"_email"] = name, rest
		d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteSite, Public: true, Who: author, Reason: rest})
		return
	}
	r, named := parseRoute(rest)
	if !named {
		r = procedure.Route{Tracker: TrackerGGUS, Queue: rest}
	}
	if !d.trackerKnown(r.Tracker) || r.Queue == "" {
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("procbot is not configured with tracker %q (it has: %s)", r.Tracker, strings.Join(d.trackers(), ", ")))
		return
	}
	d.inst.Data = copyMap(d.inst.Data)
	d.inst.Data[SiteField+"_name"] = name
	delete(d.inst.Data, SiteField+"_email")
	for _, u := range units {
		d.setRoute(u, r)
	}
	d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteSite, Public: true, Who: author, Reason: r.Tracker + ":" + r.Queue})
}

// taskForce handles "/taskforce add <email> [role]" and
// "/taskforce remove <email>".
func (d *decider) taskForce(author string, c intake.Command) {
	fields := strings.Fields(c.Args)
	if len(fields) < 2 || (fields[0] != "add" && fields[0] != "remove") {
		d.badCommand(d.inst.Parent, author, c, "write /taskforce add <email> [role] or /taskforce remove <email>")
		return
	}
	email := strings.Trim(fields[1], "<>,;")
	if !intake.ValidEmail(email) {
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("%q is not an email address", fields[1]))
		return
	}
	if fields[0] == "add" {
		d.addMember(Member{Email: email, Role: strings.Join(fields[2:], " ")})
		return
	}
	kept := d.inst.TaskForce[:0:0]
	for _, m := range d.inst.TaskForce {
		if !intake.SameIdentity(m.Email, email) {
			kept = append(kept, m)
		}
	}
	d.inst.TaskForce = kept
}

// addMember puts m on the task force, or updates their role.
func (d *decider) addMember(m Member) {
	for i, old := range d.inst.TaskForce {
		if intake.SameIdentity(old.Email, m.Email) {
			if m.Role != "" {
				d.inst.TaskForce[i].Role = m.Role
			}
			return
		}
	}
	d.inst.TaskForce = append(d.inst.TaskForce, m)
}

// repeats marks a request seen for the first time as a duplicate when an
// earlier request for the same product is still open (Input.Others). The
// earlier one is a recorded request that is neither finished nor a
// duplicate itself, or else the first filed of those seen for the first
// time in this cycle, so that of two new requests the one filed first is
// the original.
func (d *decider) repeats() {
	self := Request{Key: d.inst.Key, Parent: d.inst.Parent, Unrecorded: true}
	if d.in.Observed.Parent != nil {
		self.Filed = d.in.Observed.Parent.Ticket.CreatedAt
	}
	product := ProductKey(d.inst.Product)
	var original *Request
	for i := range d.in.Others {
		o := &d.in.Others[i]
		switch {
		case o.Key == d.inst.Key || o.Procedure != d.p.ID || ProductKey(o.Product) != product:
			continue
		case !o.Unrecorded && (o.Phase.Finished() || !o.DuplicateOf.IsZero()):
			continue
		case o.Unrecorded && !filedBefore(*o, self):
			continue
		}
		if original == nil || filedBefore(*o, *original) {
			original = o
		}
	}
	if original != nil {
		d.inst.DuplicateOf, d.inst.DuplicateOfURL = original.Parent, original.ParentURL
	}
}

// filedBefore orders requests as originals: recorded ones before those
// seen for the first time, then by when their parent was filed, then by
// key, so that the order does not depend on the order of the list.
func filedBefore(a, b Request) bool {
	switch {
	case a.Unrecorded != b.Unrecorded:
		return !a.Unrecorded
	case !a.Filed.Equal(b.Filed):
		return a.Filed.Before(b.Filed)
	}
	return a.Key < b.Key
}

// ProductKey is the product's name as requests are compared: two requests
// name the same product when their keys are equal, whatever the case and
// spacing of the names.
func ProductKey(product string) string {
	return strings.ToLower(strings.Join(strings.Fields(product), " "))
}

// adopt makes a ticket found by its marker (Observation.Marked) the child
// of its step, when procbot opened it in the tracker the step is routed to
// and the step has no child yet and is not complete. That happens when the
// database was lost or restored from a backup: the trackers still hold the
// children, and procbot carries on with them rather than opening them
// again. Anyone can put a marker in a title; only procbot's own account
// opens children. Of two tickets with one step's marker, the one created
// first is adopted.
func (d *decider) adopt() {
	if len(d.in.Observed.Marked) == 0 {
		return
	}
	marked := slices.Clone(d.in.Observed.Marked)
	attempt := func(s Snapshot) int { m, _ := ParseMarker(s.Ticket.Title); return m.Attempt }
	sort.SliceStable(marked, func(i, j int) bool {
		if ai, aj := attempt(marked[i]), attempt(marked[j]); ai != aj {
			return ai < aj
		}
		return marked[i].Ticket.CreatedAt.Before(marked[j].Ticket.CreatedAt)
	})
	mine := ChildMarker(d.p.ID, d.inst.Parent, "")
	for _, snap := range marked {
		t := snap.Ticket
		m, ok := ParseMarker(t.Title)
		if !ok || ChildMarker(m.Procedure, TicketRef{Tracker: m.Tracker, Number: m.Number}, "") != mine {
			continue // another request's child
		}
		st, ok := d.inst.Steps[m.Step]
		step, _ := d.p.Step(m.Step)
		switch {
		case !ok || (step.Kind != "" && step.Kind != procedure.KindTask):
			continue // approvals and announcements have no child
		case !d.isRobot(t.Ref.Tracker, t.Creator) || d.inst.RouteOf(d.p, m.Step).Tracker != t.Ref.Tracker:
			continue
		case d.rebuilding && m.Attempt > st.Attempt:
			// A lost record is rebuilt with the latest retry's child; the
			// ones before it failed.
			if !st.Child.IsZero() {
				st.Failed = append(st.Failed, st.Child)
			}
			st.Attempt, st.Child = m.Attempt, TicketRef{}
		case m.Attempt != st.Attempt || !st.Child.IsZero() || st.Status.Complete():
			continue
		}
		st.Status, st.Child, st.ChildURL, st.OpenedAt = StepOpen, t.Ref, t.URL, t.CreatedAt
		d.inst.Steps[m.Step] = st
		d.adopted[m.Step] = snap
	}
}

// duplicate answers a second request for a product whose request is still
// open: it points to the earlier one, links the two and closes this one.
func (d *decider) duplicate() {
	d.inst.Phase = PhaseRejected
	d.inst.RejectReason = "duplicate of " + d.inst.DuplicateOf.String()
	if d.inst.DuplicateOf.Tracker == d.inst.Parent.Tracker {
		d.enqueue(Action{Kind: ActRelate, Ticket: d.inst.Parent, Other: d.inst.DuplicateOf})
	}
	d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteDuplicate, Public: true, Other: d.inst.DuplicateOf})
	d.enqueue(Action{Kind: ActClose, Ticket: d.inst.Parent})
}

// remind queues one reminder on the child of every step open longer than
// its due time, at most once per Policy.ReminderEvery.
func (d *decider) remind() {
	if d.in.Policy.ReminderEvery <= 0 {
		return
	}
	for id := range d.p.InOrder() {
		st := d.inst.Steps[id]
		if st.Status != StepOpen || st.Child.IsZero() {
			continue
		}
		if !reminderDue(d.p, d.in.Policy, id, st.OpenedAt, st.RemindedAt, d.now) {
			continue
		}
		st.RemindedAt = d.now
		d.inst.Steps[id] = st
		d.enqueue(Action{Kind: ActNote, Ticket: st.Child, Note: NoteReminder, Public: d.toUnit(id), Step: id})
	}
}

// toUnit reports whether notes on the step's child are for its customer,
// the unit itself (the Technology Provider, the site), who sees only
// public notes.
func (d *decider) toUnit(step string) bool { return d.inst.CustomerOf(d.p, step) != "" }

func (d *decider) badCommand(t TicketRef, who string, c intake.Command, reason string) {
	d.enqueue(Action{Kind: ActNote, Ticket: t, Note: NoteBadCommand, Public: t == d.inst.Parent, Who: who, Command: c.Name, Reason: reason})
}

func (d *decider) kindChoices() []string {
	for _, f := range d.p.Request.Fields {
		if f.Key == "kind" && len(f.Choices) > 0 {
			return f.Choices
		}
	}
	return []string{"cloud", "middleware"}
}

func (d *decider) kindChoice(v string) (string, bool) {
	for _, c := range d.kindChoices() {
		if equalFold(c, strings.TrimSpace(v)) {
			return c, true
		}
	}
	return "", false
}

// retry handles "/retry <step>" on the request: a failed step gets a new
// child, whose marker names the attempt, linked to the one that failed.
func (d *decider) retry(author string, c intake.Command) {
	id := strings.TrimSpace(c.Args)
	st, ok := d.inst.Steps[id]
	if _, isStep := d.p.Step(id); !isStep || !ok || st.Status != StepFailed {
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("%q is not a failed step; /retry <step> opens a new child for a step whose child failed", id))
		return
	}
	st.Failed = append(st.Failed, st.Child)
	st.Attempt++
	st.Status, st.Child, st.ChildURL, st.By = StepOpening, TicketRef{}, "", ""
	st.OpenedAt, st.RemindedAt, st.DoneAt = time.Time{}, time.Time{}, time.Time{}
	d.inst.Steps[id] = st
	d.enqueue(Action{Kind: ActOpen, Ticket: d.inst.Parent, Step: id})
}

// operatorDone handles "/done <step> <evidence>" on the request: an
// operator records a step as done, with what shows it.
func (d *decider) operatorDone(author string, c intake.Command) {
	d.settleStep(author, c, StepDone, NoteDoneBy, "an operator can mark done", "/done <step> <evidence>", "the evidence is required: /done <step> <evidence>, e.g. a link to where it was done")
}

// operatorSkip handles "/na <step> <reason>" on the request.
func (d *decider) operatorSkip(author string, c intake.Command) {
	d.settleStep(author, c, StepSkipped, NoteSkipped, "that can be marked not applicable", "/na <step> <reason>", "a reason is required: /na <step> <reason>")
}

// settleStep gives a step the outcome an operator's "/<command> <step>
// <text>" says, the text kept as its reason: the request is told, and so
// is the step's open child, which procbot closes; a failed child stays as
// it is.
func (d *decider) settleStep(author string, c intake.Command, to StepStatus, note, which, usage, needText string) {
	id, text, _ := strings.Cut(c.Args, " ")
	text = strings.TrimSpace(text)
	step, ok := d.p.Step(id)
	switch {
	case !ok || step.Kind == procedure.KindApproval || step.Kind == procedure.KindAnnouncement:
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("%q is not a step %s; use %s", id, which, usage))
		return
	case text == "":
		d.badCommand(d.inst.Parent, author, c, needText)
		return
	}
	st := d.inst.Steps[id]
	if st.Status.Complete() {
		d.badCommand(d.inst.Parent, author, c, fmt.Sprintf("step %s is already %s", id, st.Status))
		return
	}
	wasOpen := st.Status == StepOpen
	st.Status, st.Reason, st.By, st.DoneAt = to, text, author, d.now
	d.inst.Steps[id] = st
	d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: note, Public: true, Step: id, Who: author, Reason: text})
	if wasOpen {
		d.enqueue(Action{Kind: ActNote, Ticket: st.Child, Note: note, Public: d.toUnit(id), Step: id, Who: author, Reason: text})
		d.enqueue(Action{Kind: ActClose, Ticket: st.Child, Step: id})
	}
}

func (d *decider) child(id string, snap Snapshot) {
	st := d.inst.Steps[id]
	if st.Child.IsZero() || st.Child.Key() != snap.Ticket.Ref.Key() {
		return // not (or no longer) this step's child
	}
	for _, a := range d.unseen(snap) {
		if d.isRobot(snap.Ticket.Ref.Tracker, a.Author) {
			continue
		}
		for _, c := range intake.ParseCommands(a.Body) {
			if c.Name != "na" {
				continue
			}
			if c.Args == "" {
				d.badCommand(st.Child, a.Author, c, "a reason is required: /na <reason>, then close this ticket")
				continue
			}
			st.NAReason, st.By = c.Args, a.Author
		}
	}
	// A failed state wins over a terminal one: GGUS's unsolved and RT's
	// rejected close a ticket, but the step's work was not done.
	failed := d.in.Policy.IsFailed(snap.Ticket)
	terminal := !failed && d.in.Policy.IsTerminal(snap.Ticket)
	switch {
	case failed && st.Status == StepOpen && st.NAReason == "":
		st.Status, st.DoneAt = StepFailed, d.now
		d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteFailed, Public: true, Step: id, Other: st.Child, Reason: snap.Ticket.State})
	case (terminal || failed) && st.Status == StepOpen:
		if st.NAReason != "" {
			st.Status, st.Reason = StepSkipped, st.NAReason
		} else {
			st.Status = StepDone
		}
		st.DoneAt = d.now
	case terminal && st.Status == StepFailed:
		// Its unit changed the failed child to a state that completes it.
		st.Status, st.DoneAt = StepDone, d.now
	case !terminal && !failed && (st.Status.Complete() || st.Status == StepFailed) && !d.closing(st.Child):
		// Reopened by its unit: the step is open again. Successors already
		// opened stay open.
		st.Status, st.Reason, st.NAReason, st.By, st.DoneAt = StepOpen, "", "", "", time.Time{}
	}
	d.inst.Steps[id] = st
}

// closing reports whether procbot itself is about to close the ticket.
func (d *decider) closing(t TicketRef) bool {
	for _, a := range d.inst.Outbox {
		if a.Kind == ActClose && a.Ticket.Key() == t.Key() {
			return true
		}
	}
	return false
}

// data re-checks the prerequisite data and asks for what is missing, once
// for each distinct set of problems.
func (d *decider) data() {
	if d.started() {
		return
	}
	d.inst.Missing = intake.Validate(d.p.Request.Fields, d.inst.Data)
	for _, f := range d.p.Request.Fields { // in field order, after Validate's
		if pr, ok := d.inst.Rejected[f.Key]; ok && !hasProblem(d.inst.Missing, f.Key) {
			d.inst.Missing = append(d.inst.Missing, pr)
		}
	}
	if len(d.inst.Missing) == 0 {
		d.dropPending(NoteMissing)
		if email := d.inst.Data["contact_email"]; email != "" && !d.inst.ContactJoined {
			d.addMember(Member{Email: email, Name: d.inst.Data["contact_name"], Role: "Technology Provider"})
			d.inst.ContactJoined = true
		}
		return
	}
	var b strings.Builder
	for _, pr := range d.inst.Missing {
		fmt.Fprintf(&b, "%s\x00%s\x00", pr.Field, pr.Message)
	}
	digest := digestOf(b.String())
	if digest != d.inst.Posted[NoteMissing] {
		d.enqueueOnce(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteMissing, Public: true, Digest: digest})
	} else {
		d.dropPending(NoteMissing)
	}
}

func (d *decider) phase() {
	switch {
	case d.inst.Phase.Finished() || d.inst.Phase == PhaseRunning:
	case len(d.inst.Missing) > 0:
		d.inst.Phase = PhaseIncomplete
	case d.approvalStep() != "" && !d.inst.Steps[d.approvalStep()].Status.Complete():
		d.inst.Phase = PhaseAwaitingApproval
	default:
		d.inst.Phase = PhaseRunning
	}
}

// advance opens every step whose predecessors are complete, skips steps that
// do not apply, and completes the procedure with the announcement.
func (d *decider) advance() {
	for id := range d.p.InOrder() {
		st := d.inst.Steps[id]
		if st.Status != StepWaiting {
			continue
		}
		step, _ := d.p.Step(id)
		if !d.p.Applies(id, d.inst.Kind) {
			st.Status, st.DoneAt = StepSkipped, d.now
			st.Reason = fmt.Sprintf("applies only to %s products; this one is %s", strings.Join(step.AppliesTo, " or "), d.inst.Kind)
			d.inst.Steps[id] = st
			continue
		}
		if !d.complete(step.After) {
			continue
		}
		switch step.Kind {
		case procedure.KindAnnouncement:
			if !d.allComplete(id) {
				// A step its predecessors no longer show as open (a child
				// reopened after its successors started) still holds the
				// announcement back, and with it the close of the request.
				continue
			}
			st.Status, st.DoneAt = StepDone, d.now
			d.inst.Steps[id] = st
			d.inst.Phase = PhaseCompleted
			d.dropPending(NoteStatus)
			d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteAnnouncement, Public: true, Step: id})
			d.enqueue(Action{Kind: ActClose, Ticket: d.inst.Parent})
			d.enqueue(Action{Kind: ActMail, Ticket: d.inst.Parent, Note: NoteAnnouncement, Step: id})
			return
		case procedure.KindApproval:
			// Completed only by an operator's approval.
		default:
			st.Status = StepOpening
			d.inst.Steps[id] = st
			d.enqueue(Action{Kind: ActOpen, Ticket: d.inst.Parent, Step: id})
		}
	}
}

// allComplete reports whether every step but the given one is done or
// skipped.
// Steps that do not apply are skipped by then: advance visits steps in
// procedure order, and the announcement comes after all of them.
func (d *decider) allComplete(except string) bool {
	for id := range d.p.InOrder() {
		if id != except && !d.inst.Steps[id].Status.Complete() {
			return false
		}
	}
	return true
}

func (d *decider) complete(ids []string) bool {
	for _, id := range ids {
		if !d.inst.Steps[id].Status.Complete() {
			return false
		}
	}
	return true
}

// status keeps the one progress note on the parent current: it is queued
// only when the progress differs from the last one posted.
func (d *decider) status() {
	if d.inst.Phase != PhaseAwaitingApproval && d.inst.Phase != PhaseRunning {
		return
	}
	var b strings.Builder
	b.WriteString(string(d.inst.Phase) + "|" + d.inst.Kind)
	if h := d.inst.Hold; h.On() {
		b.WriteString("|hold=" + h.By + "|" + h.Reason)
	}
	blocked := d.inst.blocked()
	for id := range d.p.InOrder() {
		s := string(d.inst.Steps[id].Status)
		_, isBlocked := blocked[id]
		switch {
		case isBlocked:
			s = "blocked" // the tracker keeps refusing its child: news
		case s == string(StepOpening):
			s = string(StepOpen) // the child being created is not news
		}
		b.WriteString("|" + id + "=" + s)
	}
	digest := digestOf(b.String())
	if digest == d.inst.Posted[NoteStatus] {
		d.dropPending(NoteStatus)
		return
	}
	d.enqueueOnce(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteStatus, Public: true, Digest: digest})
}

// dropStaleOpens drops the opening of a child that is no longer wanted:
// its step left StepOpening (an operator marked it not applicable) or the
// request is finished (a person closed it).
func (d *decider) dropStaleOpens() {
	out := d.inst.Outbox[:0:0]
	for _, a := range d.inst.Outbox {
		if a.Kind == ActOpen && (d.inst.Phase.Finished() || d.inst.Steps[a.Step].Status != StepOpening) {
			continue
		}
		out = append(out, a)
	}
	d.inst.Outbox = out
}

// reportRefusals tells the operators, once per effect, on the request, of
// an effect a tracker refused RefusalsBeforeReport times: a step routed to
// a queue procbot may not create in, a close the queue's lifecycle does
// not allow. The effect stays in the outbox and is tried again at its
// RetryAt; the note is internal, for the operators.
func (d *decider) reportRefusals() {
	// A completed request may still have its close refused; a rejected or
	// closed one has nothing left worth an operator's time.
	if d.inst.Phase.Finished() && d.inst.Phase != PhaseCompleted {
		return
	}
	for i, a := range d.inst.Outbox {
		if a.Refusals < RefusalsBeforeReport || a.Reported || a.Note == NoteRefused {
			continue
		}
		d.inst.Outbox[i].Reported = true
		d.enqueue(Action{Kind: ActNote, Ticket: d.inst.Parent, Note: NoteRefused, Step: a.Step, Other: a.Ticket,
			Command: string(a.Kind), Reason: a.Refused})
	}
}

// enqueue queues a. Notes on the request are public: the applicant reads
// them. Notes on a child are internal (in RT a comment, not a reply): a
// reply would move a new ticket to its lifecycle's first active status
// (open, or accepted in a lifecycle like EGI's Requirements queue), which
// is the unit's to do, and mail the child's requestor, procbot itself.
func (d *decider) enqueue(a Action) { d.inst.Outbox = append(d.inst.Outbox, a) }

// enqueueOnce queues a note of a kind that has at most one pending copy,
// replacing an older pending one. The same note pending already stays as
// it is: it may carry the attempt of a post whose answer was lost, which
// the executor looks for before posting again.
func (d *decider) enqueueOnce(a Action) {
	for _, p := range d.inst.Outbox {
		if p.Kind == a.Kind && p.Note == a.Note && p.Ticket.Key() == a.Ticket.Key() && p.Digest == a.Digest {
			return
		}
	}
	d.dropPending(a.Note)
	d.enqueue(a)
}

func (d *decider) dropPending(note string) {
	out := d.inst.Outbox[:0:0]
	for _, a := range d.inst.Outbox {
		if !(a.Kind == ActNote && a.Note == note && a.Ticket.Key() == d.inst.Parent.Key()) {
			out = append(out, a)
		}
	}
	d.inst.Outbox = out
}

func hasProblem(ps []intake.Problem, field string) bool {
	for _, p := range ps {
		if p.Field == field {
			return true
		}
	}
	return false
}

func digestOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

func hasTag(tags []string, tag string) bool {
	for _, t := range tags {
		if equalFold(t, tag) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}
