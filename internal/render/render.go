// Package render turns procbot's templates (templates/notes/*.tmpl) into the
// text of child tickets and notes.
//
// Templates are text/template and user text (product names, reasons, request
// data) only ever reaches them as data, never as template source, so a
// request cannot inject template syntax. Notes are sent to the trackers as
// text/plain, so HTML in user text is shown, not interpreted.
package render

import (
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"text/template"
	"unicode/utf8"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
)

// Renderer holds the parsed templates.
type Renderer struct {
	t *template.Template
	// outcomes names the states a child's unit sets for done and for
	// failed, by tracker and queue (core.Policy.Outcomes).
	outcomes func(tracker, queue string) (done, failed string)
}

// WithOutcomes returns a renderer whose children name the states that
// the given function gives (core.Policy.Outcomes): a child tells its unit
// which state completes the step and which says it cannot be done.
func (r *Renderer) WithOutcomes(f func(tracker, queue string) (done, failed string)) *Renderer {
	out := *r
	out.outcomes = f
	return &out
}

// defaultOutcomes are procbot's default terminal and failed states.
func defaultOutcomes(tracker, _ string) (done, failed string) {
	if tracker == core.TrackerRT {
		return "resolved", "rejected"
	}
	return "solved", "unsolved"
}

// Data is what every template sees.
type Data struct {
	Procedure *procedure.Procedure
	Request   core.Instance
	Action    core.Action
	Step      core.StepView
	Summary   core.Summary
	Answers   []core.Answer // the request's prerequisite data, for the approver
	Operators []string
	Marker    string
	DueDays   int // of Step
	// DoneState and FailedState are the states of the step's child that
	// complete the step and that say it cannot be done.
	DoneState, FailedState string
}

// New parses the templates under notes/ in base, then those in overrides
// (if not nil), which replace templates of the same name: operators can
// change a text without rebuilding procbot.
func New(base fs.FS, overrides fs.FS) (*Renderer, error) {
	t := template.New("procbot").Funcs(funcs).Option("missingkey=zero")
	if _, err := t.ParseFS(base, "notes/*.tmpl"); err != nil {
		return nil, fmt.Errorf("render: parse templates: %w", err)
	}
	if overrides != nil {
		matches, err := fs.Glob(overrides, "notes/*.tmpl")
		if err != nil {
			return nil, fmt.Errorf("render: list override templates: %w", err)
		}
		if len(matches) > 0 {
			if _, err := t.ParseFS(overrides, matches...); err != nil {
				return nil, fmt.Errorf("render: parse override templates: %w", err)
			}
		}
	}
	for _, name := range required {
		if t.Lookup(name+".tmpl") == nil {
			return nil, fmt.Errorf("render: template notes/%s.tmpl is missing", name)
		}
	}
	return &Renderer{t: t, outcomes: defaultOutcomes}, nil
}

var required = []string{
	"child-title", "child-body",
	core.NoteMissing, core.NoteUnauthorised, core.NoteSelfApproval, core.NoteRejected,
	core.NoteBadCommand, core.NoteSkipped, core.NoteStatus, core.NoteAnnouncement,
	core.NoteDuplicate, core.NoteReminder, core.NoteFailed, core.NoteDoneBy,
	core.NoteCancelled, core.NoteStopped, core.NoteHeld, core.NoteResumed,
	core.NoteRouted, core.NoteSite,
}

func (r *Renderer) exec(name string, d Data) (string, error) {
	var b bytes.Buffer
	if err := r.t.ExecuteTemplate(&b, name+".tmpl", d); err != nil {
		return "", fmt.Errorf("render %s for %s: %w", name, d.Request.Key, err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

func (r *Renderer) data(p *procedure.Procedure, inst core.Instance, stepID string) Data {
	d := Data{Procedure: p, Request: inst, Summary: core.Summarize(p, inst), Answers: core.Answers(p, inst)}
	for _, v := range d.Summary.Steps {
		if v.ID == stepID {
			d.Step = v
		}
	}
	if stepID != "" {
		d.Marker = inst.MarkerOf(stepID)
		d.DueDays = int(p.Due(stepID).Hours() / 24)
		d.DoneState, d.FailedState = r.outcomes(d.Step.Route.Tracker, d.Step.Route.Queue)
	}
	return d
}

// maxTitle is below Zammad's 250-character title limit.
const maxTitle = 240

// ChildTitle is the title of a step's child ticket; it starts with the
// step's marker.
func (r *Renderer) ChildTitle(p *procedure.Procedure, inst core.Instance, stepID string) (string, error) {
	s, err := r.exec("child-title", r.data(p, inst, stepID))
	if err != nil {
		return "", err
	}
	return Clip(maxTitle, Oneline(s)), nil
}

// ChildBody is the first article of a step's child ticket.
func (r *Renderer) ChildBody(p *procedure.Procedure, inst core.Instance, stepID string) (string, error) {
	return r.exec("child-body", r.data(p, inst, stepID))
}

// Note is the text of a note action.
func (r *Renderer) Note(p *procedure.Procedure, inst core.Instance, a core.Action, operators []string) (string, error) {
	d := r.data(p, inst, a.Step)
	d.Action, d.Operators = a, operators
	return r.exec(a.Note, d)
}

var funcs = template.FuncMap{
	"oneline": Oneline,
	"clip":    Clip,
	"join":    strings.Join,
	"pad": func(n int, s string) string {
		if c := utf8.RuneCountInString(s); c < n {
			return s + strings.Repeat(" ", n-c)
		}
		return s
	},
	// ticket shows a step's child reference, or that it is being opened.
	"ticket": func(v core.StepView) string {
		if v.Child.IsZero() && v.Blocked != "" {
			return "(blocked)   "
		}
		if v.Child.IsZero() {
			return "(opening)   "
		}
		ref := v.Child.String()
		if n := utf8.RuneCountInString(ref); n < 12 {
			ref += strings.Repeat(" ", 12-n)
		}
		return ref
	},
	// nextUp lists the waiting steps whose predecessors have all started:
	// what opens next.
	"nextUp": func(steps []core.StepView) []core.StepView {
		status := map[string]core.StepStatus{}
		for _, s := range steps {
			status[s.ID] = s.Status
		}
		var out []core.StepView
		for _, s := range steps {
			if s.Status != core.StepWaiting || s.Kind != "task" {
				continue
			}
			next := true
			for _, a := range s.After {
				if status[a] == core.StepWaiting {
					next = false
				}
			}
			if next {
				out = append(out, s)
			}
		}
		return out
	},
	// routedBy lists the steps a "/route <key>" or "/site" moved to the
	// route ("tracker:queue"): those of step or unit key now routed there.
	"routedBy": func(steps []core.StepView, key, route string) []core.StepView {
		var out []core.StepView
		for _, s := range steps {
			if (s.ID == key || s.UnitKey == key || key == "") && s.Route.Tracker+":"+s.Route.Queue == route {
				out = append(out, s)
			}
		}
		return out
	},
	// unit is the procedure's unit of that key, nil if there is none.
	"unit": func(p *procedure.Procedure, key string) *procedure.Unit {
		if u, ok := p.Units[key]; ok {
			return &u
		}
		return nil
	},
	"stepsIn": func(steps []core.StepView, statuses ...string) []core.StepView {
		var out []core.StepView
		for _, s := range steps {
			for _, st := range statuses {
				if string(s.Status) == st {
					out = append(out, s)
				}
			}
		}
		return out
	},
}

// Oneline folds text onto one line.
func Oneline(s string) string { return strings.Join(strings.Fields(s), " ") }

// Clip shortens s to at most n characters, ending with "…" when cut.
func Clip(n int, s string) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
