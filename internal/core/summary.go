package core

import (
	"slices"
	"time"

	"github.com/procbot/procbot/internal/procedure"
)

// StepView is one step as notes and mails show it.
type StepView struct {
	ID      string
	Area    string
	Kind    string
	Unit    string // name of the responsible unit
	Action  string
	Notes   string
	Current string // what changed since the procedure's source version
	UnitKey string
	// Route is where the step's child opens for this request.
	Route procedure.Route
	// Customer is the address that reaches the unit (the child's customer
	// or requestor), CustomerName the name given with it; Desk is who
	// works the child on the unit's behalf (see Instance.DeskOf).
	Customer, CustomerName, Desk string
	Status                       StepStatus
	Child                        TicketRef
	ChildURL                     string
	Reason                       string
	By                           string
	After                        []string
	OpenedAt                     time.Time
	DoneAt                       time.Time
	// Blocked is set while the tracker keeps refusing to open the step's
	// child (RefusalsBeforeReport times or more): its last refusal.
	Blocked string
}

// AreaView counts the steps of one area.
type AreaView struct {
	Name string
	// Done, Skipped (not applicable) and Failed are the three outcomes:
	// not applicable never counts as done.
	Done, Skipped, Failed int
	Total                 int
}

// Summary is the progress of one request.
type Summary struct {
	Done, Skipped, Failed, Open, Waiting, Total int
	Areas                                       []AreaView
	Steps                                       []StepView // in procedure order
}

// Summarize reports a request's progress, step by step and area by area.
func Summarize(p *procedure.Procedure, inst Instance) Summary {
	var s Summary
	areas := map[string]*AreaView{}
	for _, name := range p.Areas() {
		s.Areas = append(s.Areas, AreaView{Name: name})
	}
	for i := range s.Areas {
		areas[s.Areas[i].Name] = &s.Areas[i]
	}
	blocked := inst.blocked()
	for id := range p.InOrder() {
		step, _ := p.Step(id)
		st := inst.Steps[id]
		status := st.Status
		if status == "" {
			status = StepWaiting
		}
		v := StepView{ID: id, Area: step.Area, Kind: kindOf(step), Unit: p.UnitName(id), Action: step.Action, Notes: step.Notes,
			Current: step.Current, UnitKey: step.Unit, Route: inst.RouteOf(p, id), Customer: inst.CustomerOf(p, id),
			CustomerName: inst.CustomerName(p, id), Desk: inst.DeskOf(p, id),
			Status: status, Child: st.Child, ChildURL: st.ChildURL, Reason: st.Reason, By: st.By, After: step.After,
			OpenedAt: st.OpenedAt, DoneAt: st.DoneAt, Blocked: blocked[id]}
		s.Steps = append(s.Steps, v)
		s.Total++
		a := areas[step.Area]
		if a != nil {
			a.Total++
		}
		if a == nil {
			a = &AreaView{} // counted nowhere
		}
		switch status {
		case StepDone:
			s.Done++
			a.Done++
		case StepSkipped:
			s.Skipped++
			a.Skipped++
		case StepFailed:
			s.Failed++
			a.Failed++
		case StepOpen, StepOpening:
			s.Open++
		default:
			s.Waiting++
		}
	}
	return s
}

func kindOf(s procedure.Step) string {
	if s.Kind == "" {
		return procedure.KindTask
	}
	return s.Kind
}

// blocked maps the steps whose child the tracker keeps refusing to open
// (RefusalsBeforeReport times or more) to the last refusal.
func (in Instance) blocked() map[string]string {
	out := map[string]string{}
	for _, a := range in.Outbox {
		if a.Kind == ActOpen && a.Refusals >= RefusalsBeforeReport {
			out[a.Step] = a.Refused
		}
	}
	return out
}

// Answer is one piece of the request's prerequisite data as the approver
// sees it.
type Answer struct {
	Key, Label string
	Value      string // "" when not given
	// Unexpected is set when the answer is not one the procedure needs
	// (procedure.Field.Expect): a "no" to a functional requirement. The
	// approver decides; procbot does not refuse the request for it.
	Unexpected bool
	Expected   []string
}

// Answers lists the request's prerequisite data in the procedure's field
// order, contacts as "name <email>".
func Answers(p *procedure.Procedure, inst Instance) []Answer {
	var out []Answer
	for _, f := range p.Request.Fields {
		a := Answer{Key: f.Key, Label: f.Label, Value: inst.Data[f.Key], Expected: f.Expect}
		if f.Format == procedure.FormatContact {
			name, email := inst.Data[f.Key+"_name"], inst.Data[f.Key+"_email"]
			switch {
			case name != "" && email != "":
				a.Value = name + " <" + email + ">"
			default:
				a.Value = name + email
			}
		}
		if f.Key == procedure.KindField && a.Value == "" {
			a.Value = inst.Kind
		}
		if len(f.Expect) > 0 && a.Value != "" {
			a.Unexpected = !slices.ContainsFunc(f.Expect, func(e string) bool { return equalFold(e, a.Value) })
		}
		out = append(out, a)
	}
	return out
}
