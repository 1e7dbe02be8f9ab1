package core

import (
	"maps"
	"slices"
	"strings"

	"github.com/procbot/procbot/internal/intake"
	"github.com/procbot/procbot/internal/procedure"
)

// SiteField is the request field that names the pilot site (format
// contact: its name and contact address). An operator's "/site <name>
// <email or group>" sets it, and the units whose customer it is (see
// procedure.Unit.Customer) reach the site through it.
const SiteField = "site"

// RouteOf is where the step's child is opened for this request: the
// request's own route for the step (an operator's "/route"), else the
// step's route in the procedure, else the request's route for the step's
// unit ("/route <unit>", "/site <name> <group>"), else the unit's.
func (in Instance) RouteOf(p *procedure.Procedure, step string) procedure.Route {
	if r, ok := in.Routes[step]; ok {
		return r
	}
	s, ok := p.Step(step)
	if !ok {
		return procedure.Route{}
	}
	if !s.Route.IsZero() {
		return s.Route
	}
	if r, ok := in.Routes[s.Unit]; ok {
		return r
	}
	return p.Units[s.Unit].Route
}

// Rerouted reports whether the request sends the step's child somewhere
// else than the procedure does.
func (in Instance) Rerouted(p *procedure.Procedure, step string) bool {
	return in.RouteOf(p, step) != p.RouteOf(step)
}

// CustomerOf is the address that reaches the step's unit, from the
// request field its unit names (procedure.Unit.Customer): the customer
// (GGUS) or requestor (RT) of the child. It is "" when the unit names no
// field or the request has no valid address in it yet.
func (in Instance) CustomerOf(p *procedure.Procedure, step string) string {
	s, ok := p.Step(step)
	if !ok {
		return ""
	}
	field := p.Units[s.Unit].Customer
	if field == "" {
		return ""
	}
	email := in.Data[field+"_email"] // a contact field
	if email == "" {
		email = in.Data[field] // an email field
	}
	if !intake.ValidEmail(email) {
		return ""
	}
	return email
}

// CustomerName is the name given beside the step's customer address, if
// any.
func (in Instance) CustomerName(p *procedure.Procedure, step string) string {
	s, _ := p.Step(step)
	return in.Data[p.Units[s.Unit].Customer+"_name"]
}

// DeskOf is who works the step's child on its unit's behalf: the unit's
// desk (procedure.Unit.Desk) while the child goes to the unit's default
// route, "" once the request routes it elsewhere (to the site's own group,
// say) or when the unit works its queue itself.
func (in Instance) DeskOf(p *procedure.Procedure, step string) string {
	s, ok := p.Step(step)
	if !ok || in.Rerouted(p, step) {
		return ""
	}
	return p.Units[s.Unit].Desk
}

// siteUnits are the units reached through the request's site field.
func siteUnits(p *procedure.Procedure) []string {
	var out []string
	for _, key := range slices.Sorted(maps.Keys(p.Units)) {
		if p.Units[key].Customer == SiteField {
			out = append(out, key)
		}
	}
	return out
}

// parseRoute reads "<tracker>:<queue>" as the "/route" and "/site"
// commands give it. tracker reports whether s named a tracker; if not,
// the whole of s is the queue (a GGUS group path has "::" in it).
func parseRoute(s string) (r procedure.Route, tracker bool) {
	s = strings.TrimSpace(s)
	name, queue, ok := strings.Cut(s, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	if !ok || strings.HasPrefix(queue, ":") || name == "" || strings.ContainsAny(name, " \t") {
		return procedure.Route{Queue: s}, false
	}
	return procedure.Route{Tracker: name, Queue: strings.TrimSpace(queue)}, true
}
