// Package demo runs a whole PROC19 request with procbot against local GGUS
// (Zammad) and RT simulators: an applicant files the request, EGI
// Operations approves it, each responsible unit closes its child ticket, and
// procbot ends with the announcement. Everything runs in this process on
// 127.0.0.1; procbot itself is wired exactly as `procbot run` wires it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// Options configure a demo run.
type Options struct {
	DBPath  string // keep the database here; empty: a temporary file
	Product string
	Out     io.Writer
	// MaxRounds bounds the run; the demo fails if PROC19 has not completed.
	MaxRounds int
}

// People of the demo, with their simulator tokens.
const (
	robotLogin     = "procbot@egi.example"
	robotToken     = "demo-procbot-token"
	applicantLogin = "jane.doe@foostack.example"
	applicantToken = "demo-applicant-token"
	operatorLogin  = "ops@egi.example"
	operatorToken  = "demo-operator-token"
	unitLogin      = "supporter@egi.example"
	unitToken      = "demo-supporter-token"
	rtRobot        = "procbot"
	rtRobotToken   = "1-20-demoprocbottoken"
	rtUnit         = "urt"
	rtUnitToken    = "1-21-demourttoken"
	requestQueue   = "Operations"
)

// Result summarises a demo run.
type Result struct {
	Instance core.Instance
	Rounds   int
	Children map[string]int // per tracker
	// Markers counts, per child marker, the tickets that carry it in the
	// trackers at the end: every one must be 1.
	Markers map[string]int
}

// Run runs the demo and prints every transition to opts.Out.
func Run(ctx context.Context, opts Options) error {
	_, err := run(ctx, opts)
	return err
}

func run(ctx context.Context, opts Options) (Result, error) {
	var res Result
	if opts.Product == "" {
		opts.Product = "FooStack"
	}
	if opts.MaxRounds == 0 {
		opts.MaxRounds = 40
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	start := time.Now()
	procs, err := app.Procedures([]string{"proc19"}, "")
	if err != nil {
		return res, err
	}
	p := procs[0]

	groups, queues := routes(p)
	zs := zammadsim.New(zammadsim.Options{
		Groups: append(groups, requestQueue),
		Users: []zammadsim.User{
			{Login: robotLogin, Email: robotLogin, Firstname: "procbot", Token: robotToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
			{Login: applicantLogin, Email: applicantLogin, Firstname: "Jane", Lastname: "Doe", Token: applicantToken},
			{Login: operatorLogin, Email: operatorLogin, Firstname: "EGI", Lastname: "Operations", Token: operatorToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
			{Login: unitLogin, Email: unitLogin, Firstname: "Unit", Lastname: "Supporter", Token: unitToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
		},
	})
	if err := zs.Start(); err != nil {
		return res, fmt.Errorf("start the GGUS simulator: %w", err)
	}
	defer zs.Close()
	rs := rtsim.New(rtsim.Options{
		Queues: queues,
		Users: []rtsim.User{
			{Name: rtRobot, ID: 20, Token: rtRobotToken},
			{Name: rtUnit, ID: 21, Token: rtUnitToken},
		},
	})
	if err := rs.Start(); err != nil {
		return res, fmt.Errorf("start the RT simulator: %w", err)
	}
	defer rs.Close()

	dbPath := opts.DBPath
	if dbPath == "" {
		dir, err := os.MkdirTemp("", "procbot-demo-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(dir)
		dbPath = filepath.Join(dir, "procbot.db")
	}

	cfg := config.Defaults()
	cfg.DBPath = dbPath
	cfg.Operators = []string{operatorLogin}
	cfg.AllowHTTP = true
	cfg.GGUS.URL, cfg.GGUS.Token = zs.URL(), config.Secret(robotToken)
	cfg.RT.URL, cfg.RT.Token, cfg.RT.User = rs.URL(), config.Secret(rtRobotToken), rtRobot
	if err := cfg.Validate(); err != nil {
		return res, fmt.Errorf("demo settings: %w", err)
	}

	say := func(who, format string, args ...any) {
		fmt.Fprintf(out, "%6.2fs  %-9s %s\n", time.Since(start).Seconds(), who, fmt.Sprintf(format, args...))
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	a, err := app.New(ctx, cfg, log, app.Options{OnEvent: func(e core.AuditEntry) {
		step := ""
		if e.Step != "" {
			step = "[" + e.Step + "] "
		}
		say("procbot", "%s%s", step, e.What)
	}})
	if err != nil {
		return res, err
	}
	defer a.Close()

	fmt.Fprintf(out, "procbot demo: %s for %q, against local simulators\n", p.ID, opts.Product)
	fmt.Fprintf(out, "  GGUS (Zammad) simulator  %s\n  RT simulator             %s\n  database                 %s\n\n", zs.URL(), rs.URL(), dbPath)

	applicant, _ := zammad.New(zammad.Config{URL: zs.URL(), Token: applicantToken})
	operator, _ := zammad.New(zammad.Config{URL: zs.URL(), Token: operatorToken})
	ggusUnit, _ := zammad.New(zammad.Config{URL: zs.URL(), Token: unitToken})
	rtUnitClient, _ := rt.New(rt.Config{URL: rs.URL(), Token: rtUnitToken})
	units := map[string]unitActor{
		core.TrackerGGUS: {tracker: ggusUnit, done: "solved"},
		core.TrackerRT:   {tracker: rtUnitClient, done: "resolved"},
	}

	// The applicant forgets the motivation at first.
	title := strings.ReplaceAll(p.Request.Subject, "{product}", opts.Product)
	parent, err := applicant.Create(ctx, core.NewTicket{Queue: requestQueue, Title: title, Body: requestBody(opts.Product, false)})
	if err != nil {
		return res, fmt.Errorf("file the request: %w", err)
	}
	say("applicant", "files %q in GGUS (%s), without the motivation", title, parent.Ref)
	key := core.InstanceKey(p.ID, parent.Ref)

	cycle := func() (core.Instance, error) {
		res.Rounds++
		if err := a.Daemon.Cycle(ctx); err != nil {
			return core.Instance{}, err
		}
		inst, ok, err := a.Store.Instance(key)
		if err == nil && !ok {
			err = errors.New("procbot did not pick the request up")
		}
		return inst, err
	}
	inst, err := cycle()
	if err != nil {
		return res, err
	}
	if err := applicant.AddNote(ctx, parent.Ref.ID, "Sorry, here it is:\n* motivation: three user communities of the EGI Federation asked for it.\n", true); err != nil {
		return res, err
	}
	say("applicant", "replies with the motivation")
	if inst, err = cycle(); err != nil {
		return res, err
	}
	if err := operator.AddNote(ctx, parent.Ref.ID, "The OMB approved the integration on its last meeting.\n/approve\n", true); err != nil {
		return res, err
	}
	say("operator", "%s writes /approve after the OMB's approval", operatorLogin)

	closed := map[string]bool{}
	for inst.Pending() && res.Rounds < opts.MaxRounds {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if inst, err = cycle(); err != nil {
			return res, err
		}
		for _, id := range p.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			u := units[st.Child.Tracker]
			if id == "10" {
				// e-GRANT was retired: the unit marks the step not applicable.
				if err := u.tracker.AddNote(ctx, st.Child.ID, "/na e-GRANT was retired; access goes through the EGI Marketplace, nothing to add.", true); err != nil {
					return res, err
				}
				say("unit", "writes /na on %s (step %s)", st.Child, id)
			}
			if err := u.tracker.SetState(ctx, st.Child.ID, u.done); err != nil {
				return res, fmt.Errorf("close %s: %w", st.Child, err)
			}
			closed[st.Child.Key()] = true
			say("unit", "%s closes %s (step %s, %s)", p.UnitName(id), st.Child, id, u.done)
		}
	}
	res.Instance = inst
	if inst.Phase != core.PhaseCompleted || len(inst.Outbox) > 0 {
		return res, fmt.Errorf("PROC19 did not complete in %d rounds: request is %s", res.Rounds, inst.Phase)
	}

	res.Children = map[string]int{}
	for _, st := range inst.Steps {
		if !st.Child.IsZero() {
			res.Children[st.Child.Tracker]++
		}
	}
	// Count the children as the trackers hold them, not as procbot recorded them.
	res.Markers = map[string]int{}
	robotGGUS, _ := zammad.New(zammad.Config{URL: zs.URL(), Token: robotToken})
	robotRT, _ := rt.New(rt.Config{URL: rs.URL(), Token: rtRobotToken})
	for _, tr := range []interface {
		Changed(context.Context, string, time.Time) ([]core.Ticket, error)
	}{robotGGUS, robotRT} {
		ts, err := tr.Changed(ctx, p.Request.Search, time.Time{})
		if err != nil {
			return res, fmt.Errorf("count the child tickets: %w", err)
		}
		for _, t := range ts {
			if m, ok := core.ParseMarker(t.Title); ok {
				res.Markers[core.ChildMarker(m.Procedure, core.TicketRef{Tracker: m.Tracker, Number: m.Number}, m.Step)]++
			}
		}
	}
	dups := 0
	for _, n := range res.Markers {
		if n > 1 {
			dups++
		}
	}
	arts, err := operator.Articles(ctx, parent.Ref.ID)
	if err != nil || len(arts) == 0 {
		return res, fmt.Errorf("read the announcement: %v", err)
	}
	fmt.Fprintf(out, "\n--- announcement posted on %s ---\n%s---\n\n", parent.Ref, arts[len(arts)-1].Body)
	s := core.Summarize(p, inst)
	fmt.Fprintf(out, "%s for %s completed in %.1fs and %d polls: %d steps done, %d not applicable, %d child tickets (%s), %d of them duplicated.\n",
		p.ID, opts.Product, time.Since(start).Seconds(), res.Rounds, s.Done, s.Skipped, len(res.Markers), perTracker(res.Children), dups)
	if dups > 0 {
		return res, fmt.Errorf("%d child tickets exist more than once", dups)
	}
	if opts.DBPath != "" {
		fmt.Fprintf(out, "The database is kept in %s.\n", opts.DBPath)
	}
	return res, nil
}

type unitActor struct {
	tracker interface {
		AddNote(ctx context.Context, id, body string, public bool) error
		SetState(ctx context.Context, id, state string) error
	}
	done string
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

func perTracker(n map[string]int) string {
	var parts []string
	for _, t := range []string{core.TrackerGGUS, core.TrackerRT} {
		if n[t] > 0 {
			parts = append(parts, fmt.Sprintf("%d in %s", n[t], strings.ToUpper(t)))
		}
	}
	return strings.Join(parts, ", ")
}

// requestBody is the seed's request template, filled in.
func requestBody(product string, withMotivation bool) string {
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
