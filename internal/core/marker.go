package core

import (
	"fmt"
	"regexp"
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

var markerRE = regexp.MustCompile(`^\[([A-Za-z0-9_-]+) ([a-z]+)#([0-9]+) ([A-Za-z0-9_-]+)\]`)

// Marker is a parsed ChildMarker.
type Marker struct {
	Procedure string
	Tracker   string
	Number    string // parent's number
	Step      string
}

// ParseMarker reads the marker at the start of a child ticket's title.
func ParseMarker(title string) (Marker, bool) {
	m := markerRE.FindStringSubmatch(title)
	if m == nil {
		return Marker{}, false
	}
	return Marker{Procedure: m[1], Tracker: m[2], Number: m[3], Step: m[4]}, true
}
