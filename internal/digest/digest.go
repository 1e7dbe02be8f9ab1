// Package digest builds the weekly email of an integration's task force:
// one digest per recipient, covering every open procedure they are on, with
// what needs attention first (overdue steps, open steps), what was
// completed in the last seven days, and what waits.
//
// Build is pure: it reads no clock and does no I/O; the time is passed in.
// A Renderer turns a Digest into the subject, plain text and HTML of the
// email (templates/mail/), and a completed procedure into its announcement
// email.
package digest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
)

// Week is the period "completed this week" looks back over.
const Week = 7 * 24 * time.Hour

// Digest is the email of one recipient.
type Digest struct {
	To core.Member
	// Week is the ISO week of Generated, e.g. "2026-W48".
	Week       string
	Generated  time.Time
	Procedures []Procedure // by instance key
}

// Procedure is one open procedure as its task force sees it.
type Procedure struct {
	Key     string // the instance key, e.g. "PROC19/ggus:1000"
	ID      string // the procedure's id, e.g. "PROC19"
	Title   string // the procedure's title
	Product string
	Phase   core.Phase
	// CompletedAt is when a completed procedure finished.
	CompletedAt time.Time
	// Hold is an operator's hold on the request, if it is on hold.
	Hold      core.Hold
	Parent    core.TicketRef
	ParentURL string
	// Role of the recipient on this procedure's task force, if known.
	Role string
	// Complete counts the steps done or not applicable, of Total; Done and
	// Skipped split it. Failed steps wait for an operator.
	Complete, Done, Skipped, Failed, Total int
	Areas                                  []Area
	// Overdue and Open are the steps with a child ticket being worked:
	// Overdue those open longer than the step's due time, Open the others.
	// A step is in one of the two, never both. Both are oldest first.
	Overdue []Step
	Open    []Step
	// Completed are the steps done or found not applicable in the seven
	// days up to Generated, in procedure order.
	Completed []Step
	// Blocked are the waiting steps held up by an open or overdue step:
	// the next steps, and what blocks them.
	Blocked []Blocked
	// Waiting are all steps waiting for predecessors, in procedure order
	// (Blocked's steps among them).
	Waiting []Step
	// NotApplicable are the steps skipped as not applicable, with their
	// reason, in procedure order.
	NotApplicable []Step
}

// Area counts the steps of one area of a procedure.
type Area struct {
	Name string
	// Complete counts the steps that no longer hold others back (done or
	// not applicable); Done, Skipped and Failed are the three outcomes.
	Complete, Done, Skipped, Failed, Total int
}

// Step is one step as the digest shows it.
type Step struct {
	ID     string
	Area   string
	Kind   string // task, approval, announcement
	Unit   string // the responsible unit's name
	Action string
	Status core.StepStatus
	// Child is the step's child ticket (zero while it is being opened, and
	// for approval steps).
	Child    core.TicketRef
	ChildURL string
	OpenedAt time.Time
	DoneAt   time.Time
	// AgeDays is how many whole days the step has been open; -1 when
	// unknown (no opening time recorded).
	AgeDays int
	// DueDays is how many days the step may stay open (0: no due time).
	DueDays int
	// Late: the step has been open for its due time or longer (it is in
	// Overdue); OverdueDays is how many whole days past the due time.
	Late        bool
	OverdueDays int
	Reason, By  string
	After       []string
	// Pending are the predecessors not complete yet.
	Pending []string
}

// Blocked is a waiting step held up by steps being worked on.
type Blocked struct {
	Step Step
	// By are the open or overdue predecessors, each with its unit and
	// child ticket.
	By []Step
}

// Blocker is an open or overdue step with the waiting steps it holds up.
type Blocker struct {
	Step   Step
	Blocks []Blocked
}

// Blockers regroups Blocked by the step that blocks: overdue steps first,
// then open ones, in the order of Overdue and Open.
func (p Procedure) Blockers() []Blocker {
	var out []Blocker
	for _, s := range slices.Concat(p.Overdue, p.Open) {
		b := Blocker{Step: s}
		for _, w := range p.Blocked {
			if slices.ContainsFunc(w.By, func(by Step) bool { return by.ID == s.ID }) {
				b.Blocks = append(b.Blocks, w)
			}
		}
		if len(b.Blocks) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// Others is how many more predecessors of the step are not complete yet,
// besides the open ones in By: steps still waiting themselves.
func (b Blocked) Others() int { return len(b.Step.Pending) - len(b.By) }

// OverdueCount is the number of overdue steps over all procedures.
func (d Digest) OverdueCount() int {
	n := 0
	for _, p := range d.Procedures {
		n += len(p.Overdue)
	}
	return n
}

// Later returns the waiting steps that no open step blocks directly: they
// wait for steps that are themselves waiting.
func (p Procedure) Later() []Step {
	var out []Step
	for _, w := range p.Waiting {
		if !slices.ContainsFunc(p.Blocked, func(b Blocked) bool { return b.Step.ID == w.ID }) {
			out = append(out, w)
		}
	}
	return out
}

// ISOWeek formats t's ISO week, e.g. "2026-W48".
func ISOWeek(t time.Time) string {
	y, w := t.ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// Open reports whether a request in this phase belongs in the digest:
// approved and running, or waiting for approval.
func Open(p core.Phase) bool {
	return p == core.PhaseRunning || p == core.PhaseAwaitingApproval
}

// completedAt is when the request completed: when its last step was done.
func completedAt(inst core.Instance) time.Time {
	var last time.Time
	for _, st := range inst.Steps {
		if st.DoneAt.After(last) {
			last = st.DoneAt
		}
	}
	return last
}

// inDigest reports whether the request belongs in a digest made at now:
// open, or completed in the seven days before (the task force hears once
// that its integration is done).
func inDigest(inst core.Instance, now time.Time) bool {
	if Open(inst.Phase) {
		return true
	}
	at := completedAt(inst)
	return inst.Phase == core.PhaseCompleted && at.After(now.Add(-Week)) && !at.After(now)
}

// Build makes one Digest per recipient: the configured defaults (e.g. EGI
// Operations) receive every open procedure, each task force member the open
// procedures whose task force they are on. A procedure completed in the
// seven days before now is in the digest once more, as completed. Recipients are matched by email,
// case-insensitively, and sorted by it; a recipient without an open
// procedure gets no digest. Instances whose procedure is not in procs
// (matched by id, case-insensitively) are left out, since their steps
// cannot be read.
func Build(procs map[string]*procedure.Procedure, insts []core.Instance, defaults []core.Member, now time.Time) []Digest {
	insts = slices.Clone(insts)
	slices.SortStableFunc(insts, func(a, b core.Instance) int { return strings.Compare(a.Key, b.Key) })

	type recipient struct {
		member core.Member
		procs  []Procedure
	}
	byEmail := map[string]*recipient{}
	var order []string
	add := func(m core.Member) *recipient {
		key := strings.ToLower(strings.TrimSpace(m.Email))
		if key == "" {
			return nil
		}
		r := byEmail[key]
		if r == nil {
			m.Email = strings.TrimSpace(m.Email)
			r = &recipient{member: m}
			byEmail[key] = r
			order = append(order, key)
		} else if r.member.Name == "" {
			r.member.Name = m.Name
		}
		return r
	}
	for _, m := range defaults {
		add(m)
	}
	for _, inst := range insts {
		if !inDigest(inst, now) {
			continue
		}
		p := lookup(procs, inst.Procedure)
		if p == nil {
			continue
		}
		view := build(p, inst, now)
		roles := map[string]string{}
		var members []string
		for _, m := range append(slices.Clone(defaults), inst.TaskForce...) {
			r := add(m)
			if r == nil {
				continue
			}
			key := strings.ToLower(strings.TrimSpace(m.Email))
			if _, seen := roles[key]; !seen {
				members = append(members, key)
			}
			if m.Role != "" {
				roles[key] = m.Role // the task force's role wins over the default's
			} else if _, ok := roles[key]; !ok {
				roles[key] = ""
			}
		}
		for _, key := range members {
			v := view
			v.Role = roles[key]
			byEmail[key].procs = append(byEmail[key].procs, v)
		}
	}
	slices.Sort(order)
	var out []Digest
	for _, key := range order {
		r := byEmail[key]
		if len(r.procs) == 0 {
			continue
		}
		out = append(out, Digest{To: r.member, Week: ISOWeek(now), Generated: now, Procedures: r.procs})
	}
	return out
}

func lookup(procs map[string]*procedure.Procedure, id string) *procedure.Procedure {
	if p := procs[id]; p != nil {
		return p
	}
	for k, p := range procs {
		if p != nil && (strings.EqualFold(k, id) || strings.EqualFold(p.ID, id)) {
			return p
		}
	}
	return nil
}

// build makes the view of one procedure.
func build(p *procedure.Procedure, inst core.Instance, now time.Time) Procedure {
	sum := core.Summarize(p, inst)
	v := Procedure{
		Key: inst.Key, ID: p.ID, Title: p.Title, Product: product(inst), Phase: inst.Phase,
		CompletedAt: completedAt(inst), Hold: inst.Hold,
		Parent: inst.Parent, ParentURL: inst.ParentURL,
		Done: sum.Done, Skipped: sum.Skipped, Failed: sum.Failed, Complete: sum.Done + sum.Skipped, Total: sum.Total,
	}
	for _, a := range sum.Areas {
		v.Areas = append(v.Areas, Area{Name: a.Name, Complete: a.Done + a.Skipped, Done: a.Done, Skipped: a.Skipped, Failed: a.Failed, Total: a.Total})
	}
	steps := map[string]Step{}
	for _, sv := range sum.Steps {
		st := inst.Steps[sv.ID]
		s := Step{
			ID: sv.ID, Area: sv.Area, Kind: sv.Kind, Unit: sv.Unit, Action: sv.Action, Status: sv.Status,
			Child: sv.Child, ChildURL: sv.ChildURL, OpenedAt: st.OpenedAt, DoneAt: st.DoneAt,
			Reason: sv.Reason, By: sv.By, After: sv.After, AgeDays: -1,
			DueDays: int(p.Due(sv.ID) / (24 * time.Hour)),
		}
		for _, a := range sv.After {
			if !inst.Steps[a].Status.Complete() {
				s.Pending = append(s.Pending, a)
			}
		}
		if !s.OpenedAt.IsZero() && !s.OpenedAt.After(now) {
			s.AgeDays = int(now.Sub(s.OpenedAt) / (24 * time.Hour))
		}
		steps[s.ID] = s
	}
	// Procedure order, as Summarize gives it.
	for _, sv := range sum.Steps {
		s := steps[sv.ID]
		switch {
		case s.Status == core.StepOpen || s.Status == core.StepOpening:
			if due := p.Due(s.ID); due > 0 && !s.OpenedAt.IsZero() && now.Sub(s.OpenedAt) >= due {
				// The same rule as the reminders on overdue child tickets.
				s.Late = true
				s.OverdueDays = int((now.Sub(s.OpenedAt) - due) / (24 * time.Hour))
				v.Overdue = append(v.Overdue, s)
			} else {
				v.Open = append(v.Open, s)
			}
		case s.Status == core.StepWaiting && s.Kind == procedure.KindApproval && len(s.Pending) == 0:
			// Waiting for an operator's approval, not for predecessors:
			// that needs someone's attention like an open step.
			v.Open = append(v.Open, s)
		case s.Status == core.StepWaiting:
			v.Waiting = append(v.Waiting, s)
		case s.Status == core.StepSkipped:
			v.NotApplicable = append(v.NotApplicable, s)
		}
		if s.Status.Complete() && s.DoneAt.After(now.Add(-Week)) && !s.DoneAt.After(now) {
			v.Completed = append(v.Completed, s)
		}
	}
	oldestFirst := func(a, b Step) int {
		switch {
		case a.AgeDays != b.AgeDays:
			return b.AgeDays - a.AgeDays
		case !a.OpenedAt.Equal(b.OpenedAt):
			return a.OpenedAt.Compare(b.OpenedAt)
		}
		return 0 // stable: procedure order
	}
	slices.SortStableFunc(v.Overdue, oldestFirst)
	slices.SortStableFunc(v.Open, oldestFirst)
	for _, w := range v.Waiting {
		var by []Step
		for _, id := range w.Pending {
			if s := steps[id]; s.Status == core.StepOpen || s.Status == core.StepOpening {
				by = append(by, s)
			}
		}
		if len(by) > 0 {
			v.Blocked = append(v.Blocked, Blocked{Step: w, By: by})
		}
	}
	return v
}

func product(inst core.Instance) string {
	for _, s := range []string{inst.Product, inst.Title, inst.Parent.String()} {
		if strings.TrimSpace(s) != "" {
			return strings.TrimSpace(s)
		}
	}
	return inst.Key
}
