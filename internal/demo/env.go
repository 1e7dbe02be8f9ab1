package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// Env is the demo's world: a GGUS simulator with the PROC19 support units,
// an RT simulator with its queues, the people who use them, and procbot's
// settings pointing at both. Tests start procbot in it too.
type Env struct {
	GGUS   *zammadsim.Server
	RT     *rtsim.Server
	Config config.Config
	Proc   *procedure.Procedure
	// Applicant files requests; Operator approves them (it is in
	// Config.Operators); units close children through Unit.
	Applicant, Operator *zammad.Client
	ggusUnit            *zammad.Client
	rtUnit              *rt.Client
	tmp                 string
}

// NewEnv starts both simulators on 127.0.0.1. dbPath empty: a temporary
// database, removed by Close.
func NewEnv(dbPath string) (*Env, error) {
	procs, err := app.Procedures([]string{"proc19"}, "")
	if err != nil {
		return nil, err
	}
	e := &Env{Proc: procs[0]}
	if dbPath == "" {
		if e.tmp, err = os.MkdirTemp("", "procbot-demo-"); err != nil {
			return nil, err
		}
		dbPath = filepath.Join(e.tmp, "procbot.db")
	}
	groups, queues := routes(e.Proc)
	e.GGUS = zammadsim.New(zammadsim.Options{
		Groups: append(groups, requestQueue),
		Users: []zammadsim.User{
			{Login: robotLogin, Email: robotLogin, Firstname: "procbot", Token: robotToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
			{Login: applicantLogin, Email: applicantLogin, Firstname: "Jane", Lastname: "Doe", Token: applicantToken},
			{Login: operatorLogin, Email: operatorLogin, Firstname: "EGI", Lastname: "Operations", Token: operatorToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
			{Login: unitLogin, Email: unitLogin, Firstname: "Unit", Lastname: "Supporter", Token: unitToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
		},
	})
	if err := e.GGUS.Start(); err != nil {
		e.Close()
		return nil, fmt.Errorf("start the GGUS simulator: %w", err)
	}
	e.RT = rtsim.New(rtsim.Options{
		Queues: queues,
		Users:  []rtsim.User{{Name: rtRobot, ID: 20, Token: rtRobotToken}, {Name: rtUnit, ID: 21, Token: rtUnitToken}},
	})
	if err := e.RT.Start(); err != nil {
		e.Close()
		return nil, fmt.Errorf("start the RT simulator: %w", err)
	}

	cfg := config.Defaults()
	cfg.DBPath = dbPath
	cfg.Operators = []string{operatorLogin}
	cfg.AllowHTTP = true
	cfg.GGUS.URL, cfg.GGUS.Token = e.GGUS.URL(), config.Secret(robotToken)
	cfg.RT.URL, cfg.RT.Token, cfg.RT.User = e.RT.URL(), config.Secret(rtRobotToken), rtRobot
	if err := cfg.Validate(); err != nil {
		e.Close()
		return nil, fmt.Errorf("demo settings: %w", err)
	}
	e.Config = cfg
	e.Applicant, _ = zammad.New(zammad.Config{URL: e.GGUS.URL(), Token: applicantToken})
	e.Operator, _ = zammad.New(zammad.Config{URL: e.GGUS.URL(), Token: operatorToken})
	e.ggusUnit, _ = zammad.New(zammad.Config{URL: e.GGUS.URL(), Token: unitToken})
	e.rtUnit, _ = rt.New(rt.Config{URL: e.RT.URL(), Token: rtUnitToken})
	return e, nil
}

// Close stops the simulators and removes a temporary database.
func (e *Env) Close() {
	if e.GGUS != nil {
		e.GGUS.Close()
	}
	if e.RT != nil {
		e.RT.Close()
	}
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
	}
}

// OperatorLogin is the operator's login, as procbot's allowlist has it.
func (e *Env) OperatorLogin() string { return operatorLogin }

// FileRequest opens a PROC19 request as the applicant, with or without the
// motivation.
func (e *Env) FileRequest(ctx context.Context, product string, withMotivation bool) (core.Ticket, error) {
	title := strings.ReplaceAll(e.Proc.Request.Subject, procedure.ProductPlaceholder, product)
	t, err := e.Applicant.Create(ctx, core.NewTicket{Queue: requestQueue, Title: title, Body: RequestBody(product, withMotivation)})
	if err != nil {
		return t, fmt.Errorf("file the request: %w", err)
	}
	return t, nil
}

// UnitActor is what a unit does on a child ticket.
type UnitActor interface {
	AddNote(ctx context.Context, id, body string, public bool) error
	SetState(ctx context.Context, id, state string) error
}

// Unit is the supporter account in the given tracker.
func (e *Env) Unit(tracker string) UnitActor {
	if tracker == core.TrackerRT {
		return e.rtUnit
	}
	return e.ggusUnit
}

// CloseChild closes a child as its unit would, with the tracker's usual
// closing state, and returns that state.
func (e *Env) CloseChild(ctx context.Context, child core.TicketRef) (string, error) {
	state := "solved"
	if child.Tracker == core.TrackerRT {
		state = "resolved"
	}
	if err := e.Unit(child.Tracker).SetState(ctx, child.ID, state); err != nil {
		return "", fmt.Errorf("close %s: %w", child, err)
	}
	return state, nil
}

// Markers counts, per child marker, the tickets carrying it in both
// trackers, read with procbot's own accounts.
func (e *Env) Markers(ctx context.Context, search string) (map[string]int, error) {
	robotGGUS, _ := zammad.New(zammad.Config{URL: e.GGUS.URL(), Token: robotToken})
	robotRT, _ := rt.New(rt.Config{URL: e.RT.URL(), Token: rtRobotToken})
	out := map[string]int{}
	for _, tr := range []interface {
		Changed(context.Context, string, time.Time) ([]core.Ticket, error)
	}{robotGGUS, robotRT} {
		ts, err := tr.Changed(ctx, search, time.Time{})
		if err != nil {
			return nil, fmt.Errorf("count the child tickets: %w", err)
		}
		for _, t := range ts {
			if m, ok := core.ParseMarker(t.Title); ok {
				out[core.ChildMarker(m.Procedure, core.TicketRef{Tracker: m.Tracker, Number: m.Number}, m.Step)]++
			}
		}
	}
	return out, nil
}

// routes lists the GGUS groups and RT queues the procedure's children go to.
func routes(p *procedure.Procedure) (groups, queues []string) {
	g, q := map[string]bool{}, map[string]bool{}
	for _, id := range p.Order() {
		r := p.RouteOf(id)
		switch r.Tracker {
		case core.TrackerGGUS:
			g[r.Queue] = true
		case core.TrackerRT:
			q[r.Queue] = true
		}
	}
	return keys(g), keys(q)
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// RequestBody is the procedure's request template, filled in.
func RequestBody(product string, withMotivation bool) string {
	motivation := ""
	if withMotivation {
		motivation = "three user communities of the EGI Federation asked for it."
	}
	return fmt.Sprintf(`Dear Operations,

We would like to request for starting procedure of integrating %[1]s to EGI Production Infrastructure: PROC19 Integration of new cloud management framework or middleware stack in the EGI Infrastructure

Prerequisite data:
* name of Technology Product: %[1]s
* Technology Provider (person representing or leading the team) contact details(name, email): Jane Doe, jane.doe@foostack.example
* customers of the Product (eg. user community, Operations Centre): EGI-ACE communities, NGI_FOO Operations Centre
* motivation: %[2]s
* type of product: cloud

Best Regards
Jane Doe
`, product, motivation)
}

// RTChildren lists the RT tickets whose title starts with prefix.
func (e *Env) RTChildren(ctx context.Context, prefix string) ([]core.Ticket, error) {
	robotRT, _ := rt.New(rt.Config{URL: e.RT.URL(), Token: rtRobotToken})
	ts, err := robotRT.Changed(ctx, prefix, time.Time{})
	if err != nil {
		return nil, err
	}
	var out []core.Ticket
	for _, t := range ts {
		if strings.HasPrefix(t.Title, prefix) {
			out = append(out, t)
		}
	}
	return out, nil
}
