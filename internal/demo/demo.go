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
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/core"
)

// Options configure a demo run.
type Options struct {
	DBPath  string // keep the database here; empty: a temporary file
	Product string
	Out     io.Writer
	// MaxRounds bounds the run; the demo fails if PROC19 has not completed.
	MaxRounds int
	// Scenario is "" for the whole PROC19, or "cancel": an operator
	// cancels the request while it runs, and procbot closes its open
	// children.
	Scenario string
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
	if opts.Scenario != "" && opts.Scenario != "cancel" {
		return res, fmt.Errorf("unknown demo scenario %q: the scenarios are cancel and the default, the whole PROC19", opts.Scenario)
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	start := time.Now()
	env, err := NewEnv(opts.DBPath)
	if err != nil {
		return res, err
	}
	defer env.Close()
	p, cfg := env.Proc, env.Config

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
	fmt.Fprintf(out, "  GGUS (Zammad) simulator  %s\n  RT simulator             %s\n  database                 %s\n\n", env.GGUS.URL(), env.RT.URL(), cfg.DBPath)

	applicant, operator := env.Applicant, env.Operator

	// The applicant forgets the motivation at first.
	parent, err := env.FileRequest(ctx, opts.Product, false)
	if err != nil {
		return res, err
	}
	title := parent.Title
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

	// The security validation (11d) fails once: the step holds the
	// announcement until an operator retries it.
	const failStep = "11d"
	retried := false
	closed := map[string]bool{}
	held := false
	for inst.Pending() && res.Rounds < opts.MaxRounds {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if inst, err = cycle(); err != nil {
			return res, err
		}
		if opts.Scenario == "cancel" && inst.Steps["1a"].Status.Complete() {
			return cancel(ctx, res, env, inst, parent, cycle, say, out)
		}
		if inst.Phase == core.PhaseRunning && !held && inst.Steps["0a"].Status == core.StepDone {
			// The operators hold the request for a cycle: nothing opens.
			held = true
			if err := operator.AddNote(ctx, parent.Ref.ID, "/hold the pilot site moves to a new data centre this week\n", true); err != nil {
				return res, err
			}
			say("operator", "%s writes /hold", operatorLogin)
			if inst, err = cycle(); err != nil {
				return res, err
			}
			if err := operator.AddNote(ctx, parent.Ref.ID, "The move is done.\n/resume\n", true); err != nil {
				return res, err
			}
			say("operator", "%s writes /resume", operatorLogin)
			continue
		}
		for _, id := range p.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			if id == "10" {
				// e-GRANT was retired: the unit marks the step not applicable.
				if err := env.Unit(st.Child.Tracker).AddNote(ctx, st.Child.ID, "/na e-GRANT was retired; access goes through the EGI Marketplace, nothing to add.", true); err != nil {
					return res, err
				}
				say("unit", "writes /na on %s (step %s)", st.Child, id)
			}
			closeChild, verb := env.CloseChild, "closes"
			if id == failStep && st.Attempt == 0 {
				// The first security validation fails.
				closeChild, verb = env.FailChild, "closes as failed"
			}
			state, err := closeChild(ctx, st.Child)
			if err != nil {
				return res, err
			}
			closed[st.Child.Key()] = true
			say("unit", "%s %s %s (step %s, %s)", p.UnitName(id), verb, st.Child, id, state)
		}
		if st := inst.Steps[failStep]; st.Status == core.StepFailed && !retried {
			retried = true
			if err := operator.AddNote(ctx, parent.Ref.ID, "The site fixed its configuration; validating again.\n/retry "+failStep+"\n", true); err != nil {
				return res, err
			}
			say("operator", "%s writes /retry %s: step %s failed and holds the announcement", operatorLogin, failStep, failStep)
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
	if res.Markers, err = env.Markers(ctx, p.Request.Search); err != nil {
		return res, err
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
	fmt.Fprintf(out, "%s for %s completed in %.1fs and %d polls: %d steps done, %d not applicable, %d child tickets (%s, one a retry), %d of them duplicated.\n",
		p.ID, opts.Product, time.Since(start).Seconds(), res.Rounds, s.Done, s.Skipped, len(res.Markers), perTracker(res.Children), dups)
	if !retried {
		return res, fmt.Errorf("step %s never failed", failStep)
	}
	if dups > 0 {
		return res, fmt.Errorf("%d child tickets exist more than once", dups)
	}
	if opts.DBPath != "" {
		fmt.Fprintf(out, "The database is kept in %s; PROCBOT_DB_PATH=%s procbot digest --dry-run prints the task force's weekly digest.\n", opts.DBPath, opts.DBPath)
	}
	return res, nil
}

// cancel is the end of the cancel scenario: an operator cancels the
// running request, and procbot closes each open child with the reason,
// then the request.
func cancel(ctx context.Context, res Result, env *Env, inst core.Instance, parent core.Ticket, cycle func() (core.Instance, error),
	say func(who, format string, args ...any), out io.Writer) (Result, error) {
	var open []core.TicketRef
	for _, id := range env.Proc.Order() {
		if st := inst.Steps[id]; st.Status == core.StepOpen {
			open = append(open, st.Child)
		}
	}
	if err := env.Operator.AddNote(ctx, parent.Ref.ID, "/cancel the Technology Provider withdrew the product\n", true); err != nil {
		return res, err
	}
	say("operator", "%s writes /cancel with %d steps open", operatorLogin, len(open))
	inst, err := cycle()
	if err != nil {
		return res, err
	}
	res.Instance = inst
	if inst.Phase != core.PhaseCancelled || len(inst.Outbox) > 0 {
		return res, fmt.Errorf("the request is %s with %d effects waiting after /cancel", inst.Phase, len(inst.Outbox))
	}
	for _, ref := range open {
		t, err := env.Unit(ref.Tracker).Get(ctx, ref.ID)
		if err != nil {
			return res, err
		}
		if t.State != "closed" && t.State != "resolved" {
			return res, fmt.Errorf("child %s is %q after /cancel, want closed", ref, t.State)
		}
	}
	fmt.Fprintf(out, "\n%s for %s cancelled by %s: %d open child tickets closed with the reason, then the request.\n",
		env.Proc.ID, inst.Product, inst.StoppedBy, len(open))
	return res, nil
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
