package procedure

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Trackers procbot can open child tickets in.
const (
	TrackerGGUS = "ggus" // the EGI Helpdesk (Zammad); queue is a group's full "::" path
	TrackerRT   = "rt"   // EGI RT; queue is an RT queue name
)

// ProductPlaceholder is where the product name goes in Request.Subject.
const ProductPlaceholder = "{product}"

// KindField is the key of the request field whose value decides which steps
// apply (see Step.AppliesTo and Procedure.Applies).
const KindField = "kind"

// Validate checks the definition and returns every problem found, joined
// (errors.Join), each naming what is wrong and how to fix it. A definition
// that passes can be run: every task step has a route, the steps form a
// graph without cycles, and the announcement (if any) comes last.
//
// Validate also computes, once, the views procbot asks of the procedure in
// every cycle (see Procedure): call it again after changing the procedure.
func (p *Procedure) Validate() error {
	p.views = p.derive()
	var v validator
	v.procedure(p)
	v.request(&p.Request)
	v.units(p)
	v.steps(p)
	v.graph(p)
	return errors.Join(v.problems...)
}

type validator struct {
	problems []error
}

func (v *validator) add(format string, args ...any) {
	v.problems = append(v.problems, fmt.Errorf(format, args...))
}

func (v *validator) procedure(p *Procedure) {
	if strings.TrimSpace(p.ID) == "" {
		v.add("id is empty: set id, e.g. id: PROC19")
	}
	if p.DefaultDueDays < 0 {
		v.add("default_due_days is %d: set 0 (no due date) or more", p.DefaultDueDays)
	}
	if len(p.Steps) == 0 {
		v.add("no steps: add at least one step")
	}
}

func (v *validator) request(r *Request) {
	switch {
	case !strings.Contains(r.Subject, ProductPlaceholder):
		v.add("request.subject %q has no %s: put %s where the product name goes", r.Subject, ProductPlaceholder, ProductPlaceholder)
	case strings.TrimSpace(r.Search) == "":
		v.add("request.search is empty: set a literal that every request subject contains, e.g. the procedure id")
	case strings.Contains(r.Search, ProductPlaceholder):
		v.add("request.search %q contains %s: it must be a literal that every request subject contains", r.Search, ProductPlaceholder)
	case !templateContains(r.Subject, r.Search):
		v.add("request.search %q is not in request.subject %q: trackers would never return the requests; use a part of the subject outside %s", r.Search, r.Subject, ProductPlaceholder)
	}

	keys := map[string]bool{}
	labels := map[string]string{} // lower-case label or alias → field key
	for i, f := range r.Fields {
		name := fmt.Sprintf("request field %q", f.Key)
		if f.Key == "" {
			name = fmt.Sprintf("request field #%d", i+1)
			v.add("%s: key is empty: set key", name)
		} else if keys[f.Key] {
			v.add("%s: duplicate key: give each field its own key", name)
		}
		keys[f.Key] = true
		if strings.TrimSpace(f.Label) == "" {
			v.add("%s: label is empty: set the label as written in the request template", name)
		}
		for _, l := range append([]string{f.Label}, f.Aliases...) {
			l = strings.ToLower(strings.TrimSpace(l))
			if l == "" {
				continue
			}
			if other, ok := labels[l]; ok && other != f.Key {
				v.add("%s: label or alias %q is also used by field %q: a line could not tell them apart", name, l, other)
			}
			labels[l] = f.Key
		}
		switch f.Format {
		case "", FormatText, FormatContact, FormatEmail:
			if len(f.Choices) > 0 {
				v.add("%s: choices are set but format is %q: set format: choice or remove choices", name, orDefault(f.Format, FormatText))
			}
		case FormatChoice:
			if len(f.Choices) == 0 {
				v.add("%s: format choice without choices: list the accepted values in choices", name)
			}
		default:
			v.add("%s: unknown format %q: use one of %s, %s, %s, %s", name, f.Format, FormatText, FormatContact, FormatEmail, FormatChoice)
		}
		for _, e := range f.Expect {
			if !slices.ContainsFunc(f.Choices, func(c string) bool { return strings.EqualFold(c, e) }) {
				v.add("%s: expect %q is not one of its choices (%s)", name, e, strings.Join(f.Choices, ", "))
			}
		}
	}
	for _, f := range r.Fields {
		if f.RequiredWhen == "" {
			continue
		}
		key, value, ok := strings.Cut(f.RequiredWhen, "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		switch {
		case !ok || key == "" || value == "":
			v.add("request field %q: required_when %q: write <field key>=<value>", f.Key, f.RequiredWhen)
		case !keys[key] || key == f.Key:
			v.add("request field %q: required_when names %q, which is not another request field", f.Key, key)
		}
	}
}

func (v *validator) units(p *Procedure) {
	stepIDs := map[string]bool{}
	for _, s := range p.Steps {
		stepIDs[s.ID] = true
	}
	for _, key := range sortedKeys(p.Units) {
		u := p.Units[key]
		if strings.TrimSpace(key) == "" {
			v.add("unit with an empty key: give it a key")
		}
		if stepIDs[key] {
			v.add("unit %q: key is also a step id: rename one, so that route overrides are unambiguous", key)
		}
		v.route(fmt.Sprintf("unit %q", key), u.Route)
		if u.Customer != "" {
			i := slices.IndexFunc(p.Request.Fields, func(f Field) bool { return f.Key == u.Customer })
			if i < 0 || (p.Request.Fields[i].Format != FormatContact && p.Request.Fields[i].Format != FormatEmail) {
				v.add("unit %q: customer %q is not a request field of format %s or %s: name the field whose address reaches the unit", key, u.Customer, FormatContact, FormatEmail)
			}
		}
	}
}

func (v *validator) route(where string, r Route) {
	if r.IsZero() {
		return
	}
	switch r.Tracker {
	case TrackerGGUS, TrackerRT:
	case "":
		v.add("%s: route has queue %q but no tracker: set tracker: %s or %s", where, r.Queue, TrackerGGUS, TrackerRT)
	default:
		v.add("%s: route tracker %q is unknown: use %s or %s", where, r.Tracker, TrackerGGUS, TrackerRT)
	}
	if strings.TrimSpace(r.Queue) == "" {
		v.add("%s: route has no queue: set the GGUS group path or RT queue name", where)
	}
}

func (v *validator) steps(p *Procedure) {
	seen := map[string]bool{}
	var approvals, announcements []string
	for i, s := range p.Steps {
		name := "step " + s.ID
		if s.ID == "" {
			name = fmt.Sprintf("step #%d", i+1)
			v.add("%s: id is empty: set id", name)
		} else if seen[s.ID] {
			v.add("%s: duplicate step id: give each step its own id", name)
		}
		seen[s.ID] = true

		if strings.TrimSpace(s.Action) == "" {
			v.add("%s: action is empty: say what the responsible unit has to do", name)
		}
		if s.DueDays < 0 {
			v.add("%s: due_days is %d: set 0 (use default_due_days) or more", name, s.DueDays)
		}
		unit, unitKnown := p.Units[s.Unit]
		if s.Unit != "" && !unitKnown {
			v.add("%s: unknown unit %q: use one of %s", name, s.Unit, strings.Join(sortedKeys(p.Units), ", "))
		}

		switch s.Kind {
		case "", KindTask, KindAnnouncement:
			v.route(name, s.Route)
			if s.Route.IsZero() && unit.Route.IsZero() && (s.Unit == "" || unitKnown) {
				v.add("%s: no route: set route or a unit with a route", name)
			}
			if s.Kind == KindAnnouncement {
				announcements = append(announcements, s.ID)
			}
		case KindApproval:
			if !s.Route.IsZero() {
				v.add("%s: route is set but %s steps open no child ticket: remove route", name, s.Kind)
			}
			approvals = append(approvals, s.ID)
		default:
			v.add("%s: unknown kind %q: use %s, %s or %s", name, s.Kind, KindTask, KindApproval, KindAnnouncement)
		}

		dup := map[string]bool{}
		for _, a := range s.After {
			if dup[a] {
				v.add("%s: after: %q is listed twice", name, a)
			}
			dup[a] = true
		}
		v.appliesTo(p, name, s)
	}
	if len(approvals) > 1 {
		v.add("more than one approval step (%s): a request is approved once; keep one", strings.Join(approvals, ", "))
	}
	if len(announcements) > 1 {
		v.add("more than one announcement step (%s): the announcement closes the request; keep one", strings.Join(announcements, ", "))
	}
}

func (v *validator) appliesTo(p *Procedure, name string, s Step) {
	if len(s.AppliesTo) == 0 {
		return
	}
	var kind *Field
	for i := range p.Request.Fields {
		if p.Request.Fields[i].Key == KindField {
			kind = &p.Request.Fields[i]
		}
	}
	if kind == nil {
		v.add("%s: applies_to is set but the request has no %q field to decide it: add a choice field with key %s", name, KindField, KindField)
		return
	}
	if kind.Format != FormatChoice || len(kind.Choices) == 0 {
		return // nothing to check against (a choice without choices is reported on the field)
	}
	for _, a := range s.AppliesTo {
		if !slices.ContainsFunc(kind.Choices, func(c string) bool { return strings.EqualFold(c, a) }) {
			v.add("%s: applies_to %q is not a choice of field %s (%s)", name, a, KindField, strings.Join(kind.Choices, ", "))
		}
	}
}

// graph checks the "after" edges: predecessors exist, there are no cycles,
// and the announcement comes after every other step.
func (v *validator) graph(p *Procedure) {
	index := map[string]int{}
	for i, s := range p.Steps {
		if _, dup := index[s.ID]; !dup {
			index[s.ID] = i
		}
	}
	for _, s := range p.Steps {
		for _, a := range s.After {
			if _, ok := index[a]; !ok {
				v.add("step %s: after: unknown step %q", s.ID, a)
			}
		}
	}
	for _, c := range p.cycles() {
		v.add("cycle: %s: remove one of these steps from another's after", strings.Join(c, " → "))
	}
	for _, s := range p.Steps {
		if s.Kind != KindAnnouncement {
			continue
		}
		before := p.ancestors(s.ID)
		var missing []string
		for _, o := range p.Steps {
			if o.ID != s.ID && !before[o.ID] {
				missing = append(missing, o.ID)
			}
		}
		if len(missing) > 0 {
			// Suggest only the missing steps that no other missing step
			// comes after: adding those covers the rest.
			var last []string
			for _, m := range missing {
				if !slices.ContainsFunc(missing, func(n string) bool { return n != m && p.ancestors(n)[m] }) {
					last = append(last, m)
				}
			}
			v.add("step %s: the announcement does not come after %s: add %s to its after", s.ID, strings.Join(missing, ", "), strings.Join(last, ", "))
		}
	}
}

// ancestors returns the steps that id comes after, directly or not.
func (p *Procedure) ancestors(id string) map[string]bool {
	preds := p.predecessors()
	seen := map[string]bool{}
	stack := slices.Clone(preds[id])
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[a] {
			continue
		}
		seen[a] = true
		stack = append(stack, preds[a]...)
	}
	return seen
}

// predecessors maps each step id to its known predecessors. The map and
// its slices are shared: read them only.
func (p *Procedure) predecessors() map[string][]string { return p.derived().preds }

func (p *Procedure) computePredecessors() map[string][]string {
	known := map[string]bool{}
	for _, s := range p.Steps {
		known[s.ID] = true
	}
	preds := map[string][]string{}
	for _, s := range p.Steps {
		for _, a := range s.After {
			if known[a] && !slices.Contains(preds[s.ID], a) {
				preds[s.ID] = append(preds[s.ID], a)
			}
		}
	}
	return preds
}

// cycles returns one cycle per strongly connected component of the step
// graph that has one, each as step ids in run order with the first repeated
// at the end ("1a", "1b", "1a"), starting from the component's first step
// in file order.
func (p *Procedure) cycles() [][]string {
	ids := p.uniqueIDs()
	pos := map[string]int{}
	for i, id := range ids {
		pos[id] = i
	}
	preds := p.predecessors()
	succs := map[string][]string{}
	for _, id := range ids { // file order, for deterministic output
		for _, a := range preds[id] {
			succs[a] = append(succs[a], id)
		}
	}

	// Tarjan's strongly connected components.
	var (
		next    int
		index   = map[string]int{}
		low     = map[string]int{}
		onStack = map[string]bool{}
		stack   []string
		comps   [][]string
	)
	var strong func(id string)
	strong = func(id string) {
		index[id], low[id] = next, next
		next++
		stack = append(stack, id)
		onStack[id] = true
		for _, s := range succs[id] {
			if _, visited := index[s]; !visited {
				strong(s)
				low[id] = min(low[id], low[s])
			} else if onStack[s] {
				low[id] = min(low[id], index[s])
			}
		}
		if low[id] == index[id] {
			var comp []string
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				comp = append(comp, top)
				if top == id {
					break
				}
			}
			comps = append(comps, comp)
		}
	}
	for _, id := range ids {
		if _, visited := index[id]; !visited {
			strong(id)
		}
	}

	var out [][]string
	for _, comp := range comps {
		if len(comp) == 1 && !slices.Contains(preds[comp[0]], comp[0]) {
			continue
		}
		sort.Slice(comp, func(i, j int) bool { return pos[comp[i]] < pos[comp[j]] })
		out = append(out, shortestCycle(comp[0], comp, succs))
	}
	sort.Slice(out, func(i, j int) bool { return pos[out[i][0]] < pos[out[j][0]] })
	return out
}

// shortestCycle finds, by breadth-first search inside one strongly
// connected component, the shortest path from start back to itself.
func shortestCycle(start string, comp []string, succs map[string][]string) []string {
	in := map[string]bool{}
	for _, id := range comp {
		in[id] = true
	}
	parent := map[string]string{}
	queue := []string{start}
	visited := map[string]bool{}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, s := range succs[cur] {
			if !in[s] {
				continue
			}
			if s == start {
				path := []string{start}
				for n := cur; n != start; n = parent[n] {
					path = append(path, n)
				}
				slices.Reverse(path[1:])
				return append(path, start)
			}
			if !visited[s] {
				visited[s] = true
				parent[s] = cur
				queue = append(queue, s)
			}
		}
	}
	return append(slices.Clone(comp), start) // not reached for a real component
}

// uniqueIDs returns the step ids in file order, each once.
func (p *Procedure) uniqueIDs() []string {
	seen := map[string]bool{}
	var ids []string
	for _, s := range p.Steps {
		if !seen[s.ID] {
			seen[s.ID] = true
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// templateContains reports whether every subject made from the template
// contains lit: lit must lie inside one literal part of the template.
func templateContains(template, lit string) bool {
	for _, part := range strings.Split(template, ProductPlaceholder) {
		if strings.Contains(part, lit) {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
