package app

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
)

// CheckResult is one line of procbot check: what was checked against which
// tracker, and whether it is a problem procbot would meet when it runs.
type CheckResult struct {
	Tracker string
	What    string // "credentials", "route", "states", "time zone", "operator"
	Subject string // the group, queue or setting checked
	Problem bool
	Detail  string
}

// What the checks need of the trackers' clients.
type (
	groupRights interface {
		GroupRights(ctx context.Context) (map[string][]string, error)
		States(ctx context.Context) ([]string, error)
	}
	queueRights interface {
		QueueRights(ctx context.Context, name string) (visible, create bool, lifecycle string, err error)
	}
	// userFinder returns the login under which the tracker names the
	// authors of notes of the user who (a login or an address), or "".
	userFinder interface {
		FindUser(ctx context.Context, who string) (string, error)
	}
)

// Check runs procbot's preflight against the live trackers: procbot's
// credentials; for every route of every procedure, that its group or queue
// exists and procbot may create tickets there; that GGUS knows the states
// procbot sets and waits for; RT's time zone; that each operator is a
// user of a tracker. It changes nothing.
func (a *App) Check(ctx context.Context) []CheckResult {
	var out []CheckResult
	routes := routesOf(a.Procedures)
	var reached []*link
	for _, l := range a.links {
		name := l.tr.Name()
		// The credentials (and RT's time zone) were checked when procbot
		// started; a tracker not reached then is tried now.
		if !l.ready.Load() {
			if err := l.connect(ctx, a.robots); err != nil {
				out = append(out, CheckResult{Tracker: name, What: "credentials", Subject: l.tokenVar, Problem: true, Detail: err.Error()})
				continue // nothing more can be asked of it
			}
		}
		out = append(out, CheckResult{Tracker: name, What: "credentials", Subject: l.tokenVar, Detail: "procbot acts as " + a.robots[name]})
		reached = append(reached, l)
		switch c := l.tr.(type) {
		case groupRights:
			out = append(out, a.checkGGUS(ctx, c, routes[name])...)
		case queueRights:
			out = append(out, a.checkRT(ctx, c, routes[name], l.verified)...)
		}
	}
	return append(out, a.checkOperators(ctx, reached)...)
}

// checkOperators looks for each operator among the users of the trackers
// reached. Commands count only from an author the tracker names as the
// operator is listed, so an operator is a problem when no tracker has a
// user of that login: found only by address under another login, the
// detail names the login to list instead.
func (a *App) checkOperators(ctx context.Context, reached []*link) []CheckResult {
	var out []CheckResult
	for _, op := range a.Config.Operators {
		r := CheckResult{Tracker: "-", What: "operator", Subject: op, Problem: true}
		var seen []string
		for _, l := range reached {
			f, ok := l.tr.(userFinder)
			if !ok {
				continue
			}
			login, err := f.FindUser(ctx, op)
			switch {
			case err != nil:
				seen = append(seen, l.name+": "+err.Error())
			case login == "":
				seen = append(seen, l.name+": no such user")
			case strings.EqualFold(login, op):
				r.Problem = false
				seen = append(seen, l.name+": user "+login)
			default:
				seen = append(seen, fmt.Sprintf("%s: the user with this address is %s, and %s names authors by login: list %s in PROCBOT_OPERATORS to let them act there", l.name, login, l.name, login))
			}
		}
		if len(seen) == 0 {
			continue // no tracker reached: the credentials lines say so
		}
		r.Detail = strings.Join(seen, "; ")
		if r.Problem {
			r.Detail = "no tracker has a user of this login, so no command of theirs is obeyed (" + r.Detail + ")"
		}
		out = append(out, r)
	}
	return out
}

// routesOf lists, by tracker, the groups or queues children go to, each
// with the steps that go there.
func routesOf(procs []*procedure.Procedure) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	for _, p := range procs {
		for id := range p.InOrder() {
			if s, _ := p.Step(id); s.Kind != "" && s.Kind != procedure.KindTask {
				continue
			}
			r := p.RouteOf(id)
			if out[r.Tracker] == nil {
				out[r.Tracker] = map[string][]string{}
			}
			out[r.Tracker][r.Queue] = append(out[r.Tracker][r.Queue], p.ID+" "+id)
		}
	}
	return out
}

func (a *App) checkGGUS(ctx context.Context, c groupRights, routes map[string][]string) []CheckResult {
	var out []CheckResult
	rights, err := c.GroupRights(ctx)
	if err != nil {
		return append(out, CheckResult{Tracker: core.TrackerGGUS, What: "route", Subject: "groups", Problem: true, Detail: err.Error()})
	}
	for _, group := range slices.Sorted(maps.Keys(routes)) {
		r := CheckResult{Tracker: core.TrackerGGUS, What: "route", Subject: group}
		access, ok := rights[group]
		switch {
		case !ok:
			r.Problem, r.Detail = true, "no such group, or procbot's account has no access to it"
		case slices.Contains(access, "full") || slices.Contains(access, "create"):
			r.Detail = "procbot may create tickets (" + strings.Join(access, ", ") + ")"
		default:
			r.Problem, r.Detail = true, "procbot's account may not create tickets here (access: "+strings.Join(access, ", ")+")"
		}
		r.Detail += "; steps " + strings.Join(routes[group], ", ")
		out = append(out, r)
	}
	states, err := c.States(ctx)
	if err != nil {
		return append(out, CheckResult{Tracker: core.TrackerGGUS, What: "states", Subject: "ticket states", Problem: true, Detail: err.Error()})
	}
	want := map[string]string{a.Config.GGUS.CloseState: "PROCBOT_GGUS_CLOSE_STATE"}
	for _, s := range a.Config.GGUS.Terminal {
		want[s] = "PROCBOT_GGUS_TERMINAL_STATES"
	}
	for _, s := range a.Config.GGUS.Failed {
		want[s] = "PROCBOT_GGUS_FAILED_STATES"
	}
	for _, s := range slices.Sorted(maps.Keys(want)) {
		r := CheckResult{Tracker: core.TrackerGGUS, What: "states", Subject: want[s] + " " + s, Detail: "GGUS has it"}
		if !slices.ContainsFunc(states, func(x string) bool { return strings.EqualFold(x, s) }) {
			r.Problem, r.Detail = true, fmt.Sprintf("GGUS has no state %q; its states: %s", s, strings.Join(states, ", "))
		}
		out = append(out, r)
	}
	return out
}

// checkRT checks the RT routes; zoneProven is when the link proved RT's
// time zone (zero: not yet, no ticket to prove it with).
func (a *App) checkRT(ctx context.Context, c queueRights, routes map[string][]string, zoneProven time.Time) []CheckResult {
	var out []CheckResult
	lifecycles := map[string]bool{}
	for _, queue := range slices.Sorted(maps.Keys(routes)) {
		r := CheckResult{Tracker: core.TrackerRT, What: "route", Subject: queue}
		visible, create, lifecycle, err := c.QueueRights(ctx, queue)
		switch {
		case err != nil:
			r.Problem, r.Detail = true, err.Error()
		case !visible:
			r.Problem, r.Detail = true, "no such queue, or procbot's user may not see it (SeeQueue)"
		case !create:
			r.Problem, r.Detail = true, "procbot's user may not create tickets here (CreateTicket)"
		default:
			r.Detail = "procbot may create tickets; lifecycle " + lifecycle
			if lifecycle != "" && lifecycle != "default" {
				lifecycles[queue] = true
			}
		}
		r.Detail += "; steps " + strings.Join(routes[queue], ", ")
		out = append(out, r)
	}
	// Checked when the settings were read.
	paths, _ := a.Config.RT.Paths()
	terminal, _ := a.Config.RT.QueueTerminals()
	for _, queue := range slices.Sorted(maps.Keys(lifecycles)) {
		out = append(out, CheckResult{Tracker: core.TrackerRT, What: "states", Subject: queue,
			Detail: fmt.Sprintf("a lifecycle of its own: procbot closes tickets through %s; steps complete on %s. RT's REST 2.0 does not list a lifecycle's statuses, so these are not checked against it",
				a.Config.RT.PathOf(paths, queue), strings.Join(a.Config.RT.TerminalOf(terminal, queue), ", "))})
	}
	// A zone proven wrong has failed the credentials check above.
	r := CheckResult{Tracker: core.TrackerRT, What: "time zone", Subject: "PROCBOT_RT_TIMEZONE " + a.Config.RT.TimeZone,
		Detail: "not checked: procbot's user may see no ticket yet"}
	if !zoneProven.IsZero() {
		r.Detail = "RT reads TicketSQL times in it (proven " + zoneProven.UTC().Format(time.RFC3339) + ")"
	}
	return append(out, r)
}

// PrintCheck writes the results as a table and reports whether any is a
// problem.
func PrintCheck(w io.Writer, results []CheckResult) (problems int, err error) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TRACKER\tCHECK\tSUBJECT\tRESULT\tDETAIL")
	for _, r := range results {
		result := "ok"
		if r.Problem {
			result, problems = "PROBLEM", problems+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Tracker, r.What, r.Subject, result, r.Detail)
	}
	if err := tw.Flush(); err != nil {
		return problems, err
	}
	_, err = fmt.Fprintf(w, "%d checks, %d problems\n", len(results), problems)
	return problems, err
}

// LogCheck runs Check and logs each problem: procbot run does so at
// start-up, so that a route procbot may not create in shows in the log
// before the first request needs it.
func (a *App) LogCheck(ctx context.Context) {
	for _, r := range a.Check(ctx) {
		if r.Problem {
			a.Log.Warn().Str("tracker", r.Tracker).Str("check", r.What).Str("subject", r.Subject).Msg("procbot check: " + r.Detail)
		}
	}
}
