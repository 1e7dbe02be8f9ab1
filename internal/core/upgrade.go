package core

import (
	"encoding/json"
	"slices"
	"sort"
)

// UnmarshalJSON decodes a recorded request, and brings records written by
// an older procbot to the current form: there, a step in StepOpening alone
// said that its child was to be opened, without an ActOpen in the outbox.
// Such a step gets its ActOpen, first in the outbox as the older executor
// opened children before carrying out the outbox, and marked so that the
// executor looks for the child by its marker before creating one: the
// older procbot may have created it and stopped before recording it.
func (in *Instance) UnmarshalJSON(b []byte) error {
	type record Instance // without this method
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	*in = Instance(r)
	in.upgradeOpening()
	return nil
}

func (in *Instance) upgradeOpening() {
	var steps []string
	for id, st := range in.Steps {
		if st.Status != StepOpening {
			continue
		}
		queued := slices.ContainsFunc(in.Outbox, func(a Action) bool { return a.Kind == ActOpen && a.Step == id })
		if !queued {
			steps = append(steps, id)
		}
	}
	if len(steps) == 0 {
		return
	}
	sort.Strings(steps)
	opens := make([]Action, 0, len(steps)+len(in.Outbox))
	for _, id := range steps {
		opens = append(opens, Action{Kind: ActOpen, Ticket: in.Parent, Step: id, Attempt: ChildMarker(in.Procedure, in.Parent, id)})
	}
	in.Outbox = append(opens, in.Outbox...)
}
