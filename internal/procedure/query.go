package procedure

import (
	"iter"
	"slices"
	"strings"
	"time"
)

// views are what procbot asks of a procedure in every cycle, computed
// from its steps once, by Validate.
type views struct {
	order        []string            // Order
	index        map[string]int      // step id → its first position in Steps
	preds        map[string][]string // step id → its known predecessors
	areas        []string            // Areas
	approval     string              // ApprovalStep
	announcement string              // AnnouncementStep
}

// derive computes the views of p's steps as they are now.
func (p *Procedure) derive() *views {
	v := &views{index: make(map[string]int, len(p.Steps)), preds: p.computePredecessors()}
	for i, s := range p.Steps {
		if _, dup := v.index[s.ID]; !dup {
			v.index[s.ID] = i
		}
		if s.Area != "" && !slices.Contains(v.areas, s.Area) {
			v.areas = append(v.areas, s.Area)
		}
		if s.Kind == KindApproval && v.approval == "" {
			v.approval = s.ID
		}
		if s.Kind == KindAnnouncement && v.announcement == "" {
			v.announcement = s.ID
		}
	}
	v.order = p.computeOrder(v.preds)
	return v
}

// derived returns the views computed by Validate, or, for a procedure
// never validated, computes them for this call only (so that a shared
// procedure is never written to).
func (p *Procedure) derived() *views {
	if p.views != nil {
		return p.views
	}
	return p.derive()
}

// Step returns the step with the given id.
func (p *Procedure) Step(id string) (Step, bool) {
	i, ok := p.derived().index[id]
	if !ok {
		return Step{}, false
	}
	return p.Steps[i], true
}

// Order returns the step ids in an order that respects every "after": a
// step comes after all its predecessors. Among steps that are ready at the
// same time, the one earlier in the file comes first, so a file written in
// dependency order comes back unchanged. Steps caught in a cycle (which
// Validate rejects) are appended in file order. The slice is the caller's
// own; InOrder walks the same order without copying it.
func (p *Procedure) Order() []string { return slices.Clone(p.derived().order) }

// InOrder yields the step ids in Order, without a copy.
func (p *Procedure) InOrder() iter.Seq[string] {
	order := p.derived().order
	return func(yield func(string) bool) {
		for _, id := range order {
			if !yield(id) {
				return
			}
		}
	}
}

// ApprovalStep returns the id of the approval step, or "" if there is none.
func (p *Procedure) ApprovalStep() string { return p.derived().approval }

// AnnouncementStep returns the id of the announcement step, or "" if there
// is none.
func (p *Procedure) AnnouncementStep() string { return p.derived().announcement }

func (p *Procedure) computeOrder(preds map[string][]string) []string {
	ids := p.uniqueIDs()
	done := make(map[string]bool, len(ids))
	order := make([]string, 0, len(ids))
	for len(order) < len(ids) {
		progressed := false
		for _, id := range ids {
			if done[id] || !allDone(preds[id], done) {
				continue
			}
			done[id] = true
			order = append(order, id)
			progressed = true
			break // rescan from the top: keeps file order where possible
		}
		if !progressed {
			for _, id := range ids {
				if !done[id] {
					done[id] = true
					order = append(order, id)
				}
			}
		}
	}
	return order
}

func allDone(ids []string, done map[string]bool) bool {
	for _, id := range ids {
		if !done[id] {
			return false
		}
	}
	return true
}

// RouteOf returns where the step's child ticket is opened: the step's own
// route, else its unit's. It is zero for an unknown step and for a step
// with neither. Only task steps open children; for the other kinds the
// result is just the unit's route.
func (p *Procedure) RouteOf(stepID string) Route {
	s, ok := p.Step(stepID)
	if !ok {
		return Route{}
	}
	if !s.Route.IsZero() {
		return s.Route
	}
	return p.Units[s.Unit].Route
}

// UnitName returns the display name of the step's responsible unit: the
// unit's name, else its key. It is "" for an unknown step or one without a
// unit.
func (p *Procedure) UnitName(stepID string) string {
	s, ok := p.Step(stepID)
	if !ok || s.Unit == "" {
		return ""
	}
	if name := p.Units[s.Unit].Name; name != "" {
		return name
	}
	return s.Unit
}

// Applies reports whether the step applies to a product of the given kind
// (the request's KindField value). A step without applies_to always
// applies, and so does every step while the kind is unknown (""); otherwise
// the kind must be listed, compared case-insensitively. An unknown step
// does not apply.
func (p *Procedure) Applies(stepID, kind string) bool {
	s, ok := p.Step(stepID)
	if !ok {
		return false
	}
	kind = strings.TrimSpace(kind)
	if len(s.AppliesTo) == 0 || kind == "" {
		return true
	}
	return slices.ContainsFunc(s.AppliesTo, func(a string) bool {
		return strings.EqualFold(strings.TrimSpace(a), kind)
	})
}

// Areas returns the steps' areas, each once, in the order they first appear
// in the file. Steps without an area are left out. The slice is the
// caller's own.
func (p *Procedure) Areas() []string { return slices.Clone(p.derived().areas) }

// Due returns how long the step may stay open before it is overdue: its
// due_days, else the procedure's default_due_days, as a duration of whole
// days. Zero means no due date (also for an unknown step).
func (p *Procedure) Due(stepID string) time.Duration {
	s, ok := p.Step(stepID)
	if !ok {
		return 0
	}
	days := s.DueDays
	if days <= 0 {
		days = p.DefaultDueDays
	}
	return time.Duration(max(days, 0)) * 24 * time.Hour
}

// CriticalPath returns the chain of steps that takes longest, each step
// taking its due time and starting as soon as its predecessors are done,
// and that chain's length: the earliest the procedure can complete when
// every step takes the time it is given. Of two chains as long, the one
// through the step earlier in Order is given.
func (p *Procedure) CriticalPath() ([]string, time.Duration) {
	finish := map[string]time.Duration{}
	via := map[string]string{}
	last := ""
	for id := range p.InOrder() {
		s, _ := p.Step(id)
		start := time.Duration(0)
		for _, a := range s.After {
			if f, ok := finish[a]; ok && (via[id] == "" || f > start) {
				start, via[id] = f, a
			}
		}
		finish[id] = start + p.Due(id)
		if last == "" || finish[id] > finish[last] {
			last = id
		}
	}
	var path []string
	for id := last; id != ""; id = via[id] {
		path = append(path, id)
	}
	slices.Reverse(path)
	return path, finish[last]
}
