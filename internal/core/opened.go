package core

import "time"

// Opened returns inst with the child of step opened at now, as the
// tracker answered its creation. The child counts as read at the change
// its creation made (if that change has settled, see settled): it is
// procbot's own, so the polls that show it next, in the overlap
// included, do not read it back. The child of a retry is linked to the
// child that failed before it, where both are in one tracker.
func Opened(inst Instance, step string, child Ticket, now time.Time) Instance {
	next := inst.Clone()
	st := next.Steps[step]
	st.Status, st.Child, st.ChildURL, st.OpenedAt = StepOpen, child.Ref, child.URL, now
	next.Steps[step] = st
	if n := len(st.Failed); n > 0 && st.Failed[n-1].Tracker == child.Ref.Tracker {
		next.Outbox = append(next.Outbox, Action{Kind: ActRelate, Ticket: child.Ref, Other: st.Failed[n-1], Step: step})
	}
	if !child.UpdatedAt.IsZero() && settled(now, child.UpdatedAt, child.Ref.Tracker) {
		if next.Read == nil {
			next.Read = map[string]time.Time{}
		}
		next.Read[child.Ref.Key()] = child.UpdatedAt
	}
	return next
}
