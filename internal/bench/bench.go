// Package bench measures procbot against the in-repo GGUS (Zammad) and RT
// simulators with N live procedures, beside a naive poller that re-reads
// every tracked ticket each cycle. `procbot bench` prints its table.
//
// Every procedure is real: the applicant files a PROC19 request in the GGUS
// simulator, an operator writes /approve on it, and procbot, wired exactly
// as `procbot run` wires it, takes it up and opens its first wave of
// children in its own cycles. The figures are printed, never checked
// against a target.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/zammad"
)

// DefaultSizes are the numbers of live procedures measured by default.
var DefaultSizes = []int{1, 10, 100, 1000}

// Options configure a run.
type Options struct {
	Sizes []int // numbers of live procedures; empty: DefaultSizes
	// Cycles is how many idle cycles are measured per size (the median is
	// printed); 0: 7.
	Cycles int
	// Progress, if set, gets a line per stage, so a long run shows where
	// it is.
	Progress io.Writer
	// Log gets procbot's warnings; nil: discarded.
	Log io.Writer
	// Procbot is the procbot executable whose `procbot run` is measured
	// as a process of its own; ProcbotEnv adds to its environment. Empty:
	// that figure is not measured.
	Procbot    string
	ProcbotEnv []string
}

// Figures are one poller's measurements at one size.
type Figures struct {
	// IdleRequests are the requests of one idle cycle, per tracker
	// (median), once the poll overlap has passed.
	IdleRequests map[string]int
	Idle         sample // one idle cycle (median)
	// Changed is what the trackers' changes of Closed children cost: the
	// cycles until procbot has noted them and opened the successors, or
	// the naive poller's one cycle that notices them.
	Changed       sample
	ChangedCycles int
	// Rebuild is procbot's cold rebuild on an empty database; for the
	// naive poller, its first cycle with nothing remembered.
	Rebuild time.Duration
}

// Row is the measurements at one size.
type Row struct {
	N int // live procedures built in bulk
	// Live is the number of live procedures the idle cycles ran with: N
	// and the one filed to measure the latency.
	Live int
	// Build is how long filing, approving and opening the first wave of
	// the N procedures took, in BuildCycles of procbot's cycles.
	Build       time.Duration
	BuildCycles int
	// BurstRequests are procbot's requests to GGUS in the two cycles
	// after the N procedures were built, with all of them inside the poll
	// overlap.
	BurstRequests [2]int
	// Closed is how many children were closed for the Changed figures: 10,
	// or every first-wave child where fewer exist.
	Closed int
	// FirstCycles and FirstWall measure a new request: filed and approved,
	// until procbot has its first children open.
	FirstCycles int
	FirstWall   time.Duration
	// DBBytes is the size of procbot's database file per live procedure.
	DBBytes int64
	// PeakRSS is the process's peak resident set so far: the simulators,
	// the naive poller and every smaller size included.
	PeakRSS int64
	// RunPeakRSS is the peak resident set of `procbot run`, a process of
	// its own, over a few poll cycles on this size's database; 0 when not
	// measured.
	RunPeakRSS     int64
	Procbot, Naive Figures
}

// Run measures every size in turn.
func Run(ctx context.Context, opts Options) ([]Row, error) {
	sizes := opts.Sizes
	if len(sizes) == 0 {
		sizes = DefaultSizes
	}
	if opts.Cycles <= 0 {
		opts.Cycles = 7
	}
	var rows []Row
	for _, n := range sizes {
		if n < 1 {
			return rows, fmt.Errorf("bench: %d live procedures: give at least 1", n)
		}
		row, err := runSize(ctx, n, opts)
		if err != nil {
			return rows, fmt.Errorf("bench at %d live procedures: %w", n, err)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// clock is the simulators' and procbot's time: the real clock, moved on
// by a poll interval before each of procbot's cycles, so that procbot sees
// the trackers as it does in service, where cycles are that far apart.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// world is one size's simulators, procbot and what was built in them.
type world struct {
	env   *demo.Env
	app   *app.App
	proc  *procedure.Procedure
	clock *clock
	opts  Options
	log   zerolog.Logger
	// first and second are the steps opened on approval, and those that
	// open once all of the first are done.
	first, second []string
}

func (w *world) say(format string, args ...any) {
	if w.opts.Progress != nil {
		fmt.Fprintf(w.opts.Progress, "bench: "+format+"\n", args...)
	}
}

func runSize(ctx context.Context, n int, opts Options) (row Row, err error) {
	row.N = n
	clk := &clock{}
	env, err := demo.NewEnvAt("", clk.now)
	if err != nil {
		return row, err
	}
	defer env.Close()
	// Compressing answers is GGUS's work, not procbot's: the bench's
	// figures, which include the simulators, leave it out.
	env.GGUS.Uncompressed()
	logOut := opts.Log
	if logOut == nil {
		logOut = io.Discard
	}
	log := zerolog.New(logOut).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	a, err := app.New(ctx, env.Config, log, app.Options{Now: clk.now})
	if err != nil {
		return row, err
	}
	defer a.Close()
	w := &world{env: env, app: a, proc: env.Proc, clock: clk, opts: opts, log: log}
	w.first, w.second = waves(env.Proc)

	// N requests, filed, approved and taken up by procbot.
	w.say("%d: filing and approving %d requests", n, n)
	start := time.Now()
	parents := make([]core.Ticket, 0, n)
	for i := range n {
		p, err := env.FileRequest(ctx, product(n, i), true)
		if err != nil {
			return row, err
		}
		parents = append(parents, p)
	}
	for _, p := range parents {
		if err := env.Operator.AddNote(ctx, p.Ref.ID, "/approve", true); err != nil {
			return row, fmt.Errorf("approve %s: %w", p.Ref, err)
		}
	}
	w.say("%d: procbot takes them up and opens their first children", n)
	if row.BuildCycles, err = w.cycleUntil(ctx, parents, w.first, 10, nil); err != nil {
		return row, err
	}
	row.Build = time.Since(start)
	w.say("%d: built in %.1f s, %d of procbot's cycles", n, row.Build.Seconds(), row.BuildCycles)

	// The next polls, with every ticket of the burst still inside the poll
	// overlap.
	for i := range row.BurstRequests {
		ggus0 := len(env.GGUS.Requests())
		if err := w.cycle(ctx); err != nil {
			return row, err
		}
		row.BurstRequests[i] = len(env.GGUS.Requests()) - ggus0
	}

	// Later: the overlap has passed and a new request comes in.
	clk.advance(env.Config.PollOverlap + time.Minute)
	w.say("%d: a new request, until its first children are open", n)
	start = time.Now()
	p, err := env.FileRequest(ctx, product(n, n), true)
	if err != nil {
		return row, err
	}
	if err := env.Operator.AddNote(ctx, p.Ref.ID, "/approve", true); err != nil {
		return row, fmt.Errorf("approve %s: %w", p.Ref, err)
	}
	if row.FirstCycles, err = w.cycleUntil(ctx, []core.Ticket{p}, w.first, 10, nil); err != nil {
		return row, err
	}
	row.FirstWall = time.Since(start)
	parents = append(parents, p)
	row.Live = len(parents)
	// The next poll reads procbot's own last changes once more: from then
	// on, cycles are idle.
	if err := w.cycle(ctx); err != nil {
		return row, err
	}

	w.say("%d: procbot, %d idle cycles", n, opts.Cycles)
	if row.Procbot.Idle, row.Procbot.IdleRequests, err = w.idle(func() error { return w.cycle(ctx) }); err != nil {
		return row, err
	}

	nv, err := w.naivePoller()
	if err != nil {
		return row, err
	}
	w.say("%d: naive poller, first cycle and %d idle cycles", n, opts.Cycles)
	cold, err := measure(func() error { _, err := nv.cycle(ctx); return err })
	if err != nil {
		return row, err
	}
	row.Naive.Rebuild = cold.wall
	if row.Naive.Idle, row.Naive.IdleRequests, err = w.idle(func() error {
		changed, err := nv.cycle(ctx)
		if err == nil && changed > 0 {
			err = fmt.Errorf("naive poller: %d tickets changed in an idle cycle", changed)
		}
		return err
	}); err != nil {
		return row, err
	}

	// Close 10 children: both first-wave children of some requests, so
	// that procbot notes each and opens the successors.
	closedParents, closed, err := w.closeChildren(ctx, parents, 10)
	if err != nil {
		return row, err
	}
	row.Closed = closed
	w.say("%d: %d children closed: naive poller, then procbot", n, closed)
	var seen int
	row.Naive.Changed, err = measure(func() (err error) { seen, err = nv.cycle(ctx); return err })
	if err != nil {
		return row, err
	}
	if seen != closed {
		return row, fmt.Errorf("naive poller: saw %d changed tickets, %d were closed", seen, closed)
	}
	row.Naive.ChangedCycles = 1
	if row.Procbot.ChangedCycles, err = w.cycleUntil(ctx, closedParents, w.second, 10, &row.Procbot.Changed); err != nil {
		return row, err
	}

	w.say("%d: cold rebuild on an empty database", n)
	if row.Procbot.Rebuild, err = w.rebuild(ctx, row.Live); err != nil {
		return row, err
	}
	fi, err := os.Stat(env.Config.DBPath)
	if err != nil {
		return row, err
	}
	row.DBBytes = fi.Size() / int64(row.Live)
	row.PeakRSS = peakRSS()
	if opts.Procbot != "" {
		if err := a.Close(); err != nil {
			return row, err
		}
		w.say("%d: procbot run, %d cycles in a process of its own", n, runCycles)
		if row.RunPeakRSS, err = w.runPeakRSS(ctx); errors.Is(err, errNoPeak) {
			w.say("%d: %v", n, err)
		} else if err != nil {
			return row, err
		}
	}
	return row, nil
}

func product(n, i int) string { return fmt.Sprintf("Bench%dProduct%d", n, i) }

// waves returns the task steps that open on approval and those that open
// once the approval and the first wave are done.
func waves(p *procedure.Procedure) (first, second []string) {
	kind := map[string]string{}
	for _, id := range p.Order() {
		s, _ := p.Step(id)
		kind[id] = s.Kind
	}
	within := func(ids []string, ok func(string) bool) bool {
		for _, id := range ids {
			if !ok(id) {
				return false
			}
		}
		return true
	}
	isApproval := func(id string) bool { return kind[id] == procedure.KindApproval }
	inFirst := map[string]bool{}
	for _, id := range p.Order() {
		s, _ := p.Step(id)
		if (s.Kind == "" || s.Kind == procedure.KindTask) && len(s.After) > 0 && within(s.After, isApproval) {
			first = append(first, id)
			inFirst[id] = true
		}
	}
	for _, id := range p.Order() {
		s, _ := p.Step(id)
		if (s.Kind == "" || s.Kind == procedure.KindTask) && !inFirst[id] && len(s.After) > 0 &&
			within(s.After, func(a string) bool { return isApproval(a) || inFirst[a] }) {
			second = append(second, id)
		}
	}
	return first, second
}

// cycle is procbot's next poll cycle, one poll interval after the last:
// the bench runs cycles back to back, its clock jumps the interval.
func (w *world) cycle(ctx context.Context) error {
	w.clock.advance(w.env.Config.PollInterval)
	return w.app.Daemon.Cycle(ctx)
}

// cycleUntil runs procbot's cycles until every request of parents has a
// child open for each of steps (or the step is done or not applicable)
// and nothing left in its outbox; it returns the number of cycles. If cost
// is set, what the cycles cost is added to it (the checks in between are
// not).
func (w *world) cycleUntil(ctx context.Context, parents []core.Ticket, steps []string, limit int, cost *sample) (int, error) {
	for cycles := 1; cycles <= limit; cycles++ {
		s, err := measure(func() error { return w.cycle(ctx) })
		if err != nil {
			return cycles, err
		}
		if cost != nil {
			cost.wall, cost.cpu, cost.alloc = cost.wall+s.wall, cost.cpu+s.cpu, cost.alloc+s.alloc
		}
		behind := 0
		var example string
		for _, p := range parents {
			inst, ok, err := w.app.Store.Instance(core.InstanceKey(w.proc.ID, p.Ref))
			if err != nil {
				return cycles, err
			}
			if !ok || !opened(inst, steps) {
				behind++
				example = p.Ref.String()
			}
		}
		if behind == 0 {
			return cycles, nil
		}
		if cycles == limit {
			return cycles, fmt.Errorf("after %d cycles %d requests (e.g. %s) still lack the children of steps %v", limit, behind, example, steps)
		}
	}
	return limit, nil
}

// opened reports whether every one of steps has its child (or is over)
// and nothing is left to do in the outbox.
func opened(inst core.Instance, steps []string) bool {
	if len(inst.Outbox) > 0 {
		return false
	}
	for _, id := range steps {
		st := inst.Steps[id]
		switch st.Status {
		case core.StepOpen:
			if st.Child.IsZero() {
				return false
			}
		case core.StepDone, core.StepSkipped:
		default:
			return false
		}
	}
	return true
}

// idle measures w.opts.Cycles cycles of f in which nothing changed, and
// returns the median and the median requests per tracker.
func (w *world) idle(f func() error) (sample, map[string]int, error) {
	var ss []sample
	reqs := map[string][]int{}
	for range w.opts.Cycles {
		g0, r0 := len(w.env.GGUS.Requests()), len(w.env.RT.Requests())
		s, err := measure(f)
		if err != nil {
			return s, nil, err
		}
		ss = append(ss, s)
		reqs[core.TrackerGGUS] = append(reqs[core.TrackerGGUS], len(w.env.GGUS.Requests())-g0)
		reqs[core.TrackerRT] = append(reqs[core.TrackerRT], len(w.env.RT.Requests())-r0)
	}
	med := map[string]int{}
	for tr, v := range reqs {
		sort.Ints(v)
		med[tr] = v[len(v)/2]
	}
	return median(ss), med, nil
}

// naivePoller watches what procbot recorded: every live request and its
// open children, through clients built as procbot builds its own.
func (w *world) naivePoller() (*naive, error) {
	cfg := w.env.Config
	gc, err := zammad.New(zammad.Config{URL: cfg.GGUS.URL, Token: cfg.GGUS.Token.Reveal(), Timeout: cfg.GGUS.Timeout, Name: core.TrackerGGUS, Log: w.log})
	if err != nil {
		return nil, err
	}
	rc, err := rt.New(rt.Config{URL: cfg.RT.URL, Token: cfg.RT.Token.Reveal(), User: cfg.RT.User, Timeout: cfg.RT.Timeout, Name: core.TrackerRT, Log: w.log})
	if err != nil {
		return nil, err
	}
	insts, err := w.app.Store.Instances()
	if err != nil {
		return nil, err
	}
	var tickets []tracked
	for _, inst := range insts {
		if !inst.Pending() {
			continue
		}
		tickets = append(tickets, tracked{ref: inst.Parent, parent: true})
		ids := make([]string, 0, len(inst.Steps))
		for id := range inst.Steps {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if st := inst.Steps[id]; st.Status == core.StepOpen && !st.Child.IsZero() {
				tickets = append(tickets, tracked{ref: st.Child})
			}
		}
	}
	return newNaive(map[string]reader{core.TrackerGGUS: gc, core.TrackerRT: rc}, tickets), nil
}

// closeChildren closes, as their unit would, up to limit first-wave
// children: all of them for one request after another. It returns the
// requests whose children it closed and how many it closed.
func (w *world) closeChildren(ctx context.Context, parents []core.Ticket, limit int) ([]core.Ticket, int, error) {
	var touched []core.Ticket
	closed := 0
	for _, p := range parents {
		if closed+len(w.first) > limit {
			break
		}
		inst, ok, err := w.app.Store.Instance(core.InstanceKey(w.proc.ID, p.Ref))
		if err != nil || !ok {
			return nil, 0, fmt.Errorf("request %s not recorded: %v", p.Ref, err)
		}
		for _, id := range w.first {
			if _, err := w.env.CloseChild(ctx, inst.Steps[id].Child); err != nil {
				return nil, 0, err
			}
			closed++
		}
		touched = append(touched, p)
	}
	return touched, closed, nil
}

// rebuild starts a second procbot on the same trackers with an empty
// database, as after a lost database, and times its rebuild. It checks
// that the rebuild found every live request and opened no ticket.
func (w *world) rebuild(ctx context.Context, live int) (time.Duration, error) {
	dir, err := os.MkdirTemp("", "procbot-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	cfg := w.env.Config
	cfg.DBPath = filepath.Join(dir, "rebuilt.db")
	created := func() int {
		return count(w.env.GGUS.Requests(), "POST /tickets") + count(w.env.RT.Requests(), "POST /ticket")
	}
	before := created()
	b, err := app.New(ctx, cfg, w.log, app.Options{Now: w.clock.now})
	if err != nil {
		return 0, err
	}
	defer b.Close()
	w.clock.advance(w.env.Config.PollInterval)
	start := time.Now()
	if err := b.Daemon.Rebuild(ctx); err != nil {
		return 0, err
	}
	took := time.Since(start)
	insts, err := b.Store.Instances()
	if err != nil {
		return took, err
	}
	pending := 0
	for _, inst := range insts {
		if inst.Pending() {
			pending++
		}
	}
	var errs []error
	if pending != live {
		errs = append(errs, fmt.Errorf("the rebuild found %d live requests of %d", pending, live))
	}
	if n := created() - before; n > 0 {
		errs = append(errs, fmt.Errorf("the rebuild created %d tickets", n))
	}
	return took, errors.Join(errs...)
}

// count counts the requests that are exactly req ("METHOD /path").
func count(reqs []string, req string) int {
	n := 0
	for _, r := range reqs {
		if r == req {
			n++
		}
	}
	return n
}
