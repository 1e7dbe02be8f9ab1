package procedure

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ApplyRoutes replaces routes, so that a deployment can send a unit's or a
// step's child tickets elsewhere without editing the definition. A key is a
// unit key (the unit's route changes, for all its steps that set no route
// of their own) or a step id (that step's route changes). Keys are checked
// first, then the result is validated; on any error p is left unchanged
// and every problem is returned.
func (p *Procedure) ApplyRoutes(overrides map[string]Route) error {
	next := *p
	next.Units = maps.Clone(p.Units)
	next.Steps = slices.Clone(p.Steps)

	var problems []error
	for _, key := range sortedKeys(overrides) {
		r := overrides[key]
		if r.IsZero() {
			problems = append(problems, fmt.Errorf("route override %q: empty route: give tracker:queue", key))
			continue
		}
		if u, ok := next.Units[key]; ok {
			u.Route = r
			next.Units[key] = u
			continue
		}
		i := slices.IndexFunc(next.Steps, func(s Step) bool { return s.ID == key })
		if i < 0 {
			problems = append(problems, fmt.Errorf("route override %q: no unit or step of %s has that key (units: %s)",
				key, orUnnamed(p.ID), strings.Join(sortedKeys(p.Units), ", ")))
			continue
		}
		next.Steps[i].Route = r
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	if err := next.Validate(); err != nil {
		return fmt.Errorf("procedure %s after route overrides: %w", orUnnamed(p.ID), err)
	}
	*p = next
	return nil
}

// ParseRoutes parses route overrides written as
//
//	unit-or-step=tracker:queue;other=rt:Queue Name
//
// Entries are separated by ";" (empty entries are ignored, so a trailing ";"
// is fine); the key ends at the first "=", the tracker at the first ":"
// after it, and the rest is the queue, which may contain spaces and "::"
// (a GGUS group path) but not ";". Spaces around each part are trimmed and
// the tracker is case-insensitive. Every bad entry is reported, by its
// position and text.
func ParseRoutes(s string) (map[string]Route, error) {
	routes := map[string]Route{}
	var problems []error
	for i, entry := range strings.Split(s, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		bad := func(why string) {
			problems = append(problems, fmt.Errorf("route entry %d %q: %s", i+1, entry, why))
		}
		key, value, ok := strings.Cut(entry, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			bad("want unit-or-step=tracker:queue")
			continue
		}
		tracker, queue, ok := strings.Cut(value, ":")
		tracker = strings.ToLower(strings.TrimSpace(tracker))
		queue = strings.TrimSpace(queue)
		switch {
		case !ok:
			bad("want tracker:queue after \"=\", e.g. ggus:Operations or rt:sw-rel")
			continue
		case tracker != TrackerGGUS && tracker != TrackerRT:
			bad(fmt.Sprintf("unknown tracker %q: use %s or %s", tracker, TrackerGGUS, TrackerRT))
			continue
		case queue == "":
			bad("queue is empty: give the GGUS group path or RT queue name")
			continue
		}
		if _, dup := routes[key]; dup {
			bad(fmt.Sprintf("%q is given more than once", key))
			continue
		}
		routes[key] = Route{Tracker: tracker, Queue: queue}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return routes, nil
}
