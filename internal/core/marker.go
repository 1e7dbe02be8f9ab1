package core

import (
	"fmt"
	"regexp"
	"strconv"
)

// ChildMarker is the tag procbot puts at the start of every child ticket's
// title: "[PROC19 ggus#10123 1a]". It names the procedure, the parent and the
// step, so a child can be found again from the tracker alone, and it carries
// the procedure id, so the incremental search for a procedure's tickets also
// returns its children.
func ChildMarker(procedure string, parent TicketRef, step string) string {
	n := parent.Number
	if n == "" {
		n = parent.ID
	}
	return fmt.Sprintf("[%s %s#%s %s]", procedure, parent.Tracker, n, step)
}

// StepLabel names a step's child in its marker: the step id for the
// first child, "7c.2" for the child of the first retry, and so on, so
// that a retry's child is never taken for the one that failed.
func StepLabel(step string, attempt int) string {
	if attempt <= 0 {
		return step
	}
	return step + "." + strconv.Itoa(attempt+1)
}

// MarkerOf is the marker of the step's current child: the procedure's id
// in the record is the one the marker names.
func (in Instance) MarkerOf(step string) string {
	return ChildMarker(in.Procedure, in.Parent, StepLabel(step, in.Steps[step].Attempt))
}

var markerRE = regexp.MustCompile(`^\[([A-Za-z0-9_-]+) ([a-z]+)#([0-9]+) ([A-Za-z0-9_-]+)(?:\.([0-9]+))?\]`)

// Marker is a parsed ChildMarker.
type Marker struct {
	Procedure string
	Tracker   string
	Number    string // parent's number
	Step      string
	Attempt   int // see StepLabel
}

// ParseMarker reads the marker at the start of a child ticket's title.
func ParseMarker(title string) (Marker, bool) {
	m := markerRE.FindStringSubmatch(title)
	if m == nil {
		return Marker{}, false
	}
	out := Marker{Procedure: m[1], Tracker: m[2], Number: m[3], Step: m[4]}
	if m[5] != "" {
		n, err := strconv.Atoi(m[5])
		if err != nil || n < 2 {
			return Marker{}, false
		}
		out.Attempt = n - 1
	}
	return out, true
}
