// Package daemon runs procbot's poll cycle: it reads what changed in the
// trackers (daemon.go), asks the core what to do, and carries that out
// (execute.go: the one place where procbot changes tickets, and so the one
// place that enforces check-act-record; a dry run wraps the trackers and
// the store where procbot is wired, in internal/app). mail.go sends the
// weekly digest and the announcement mail, each once.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/intake"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/render"
)

// Config wires a Daemon.
type Config struct {
	Procedures []*procedure.Procedure
	Trackers   []Tracker
	Store      Store
	Renderer   *render.Renderer
	Policy     core.Policy
	// Overlap is how far before the recorded cursor each poll starts, so
	// tickets changed while the previous poll ran are not missed.
	Overlap time.Duration
	// PollTimeout is how long one tracker's poll may take. Trackers are
	// polled at the same time, each with this deadline of its own, so a
	// tracker that hangs holds up neither the other's poll nor the cycle
	// for longer. Zero: DefaultPollTimeout.
	PollTimeout time.Duration
	// CreateHold is how long after a create that got no answer (a
	// timeout, a dropped connection) procbot waits for the ticket to show
	// before it creates another: a tracker may carry out a request after
	// its client gave up. It should outlast the trackers' request timeouts.
	// Zero: DefaultCreateHold.
	CreateHold time.Duration
	// Workers is how many requests a cycle decides and carries out at
	// once; the effects of one request are carried out one after another.
	// Zero: DefaultWorkers.
	Workers int
	Now     func() time.Time
	Log     zerolog.Logger
	// OnEvent, if set, receives every audit entry as it is written.
	OnEvent func(core.AuditEntry)
	// Mail sends the announcement by mail; nil sends none.
	Mail *MailRoom
	// Crash, if set, is called at the points where a crash is most harmful
	// (CrashAfterIntent, CrashAfterCreate, CrashAfterEffect). The crash test
	// kills procbot there; nothing else sets it.
	Crash func(point string)
}

// DefaultPollTimeout is Config.PollTimeout when none is set.
const DefaultPollTimeout = time.Minute

// DefaultWorkers is Config.Workers when none is set: a tracker's answer
// takes a round trip, so a cycle with many requests to advance waits on
// four at a time rather than one.
const DefaultWorkers = 4

// DefaultCreateHold is Config.CreateHold when none is set: twice the
// trackers' default request timeout.
const DefaultCreateHold = time.Minute

// Points where Config.Crash is called.
const (
	CrashAfterIntent = "after-intent" // decision recorded, nothing done yet
	CrashAfterCreate = "after-create" // child created, not yet recorded
	CrashAfterEffect = "after-effect" // note posted or ticket closed, not yet recorded
)

func (d *Daemon) crash(point string) {
	if d.cfg.Crash != nil {
		d.cfg.Crash(point)
	}
}

// Daemon is procbot's poll loop.
type Daemon struct {
	cfg      Config
	trackers map[string]Tracker
	procs    map[string]*procedure.Procedure
	subjects map[string]*intake.SubjectMatcher
	mu       sync.Mutex
	failures map[string]int // consecutive failed cycles per tracker
	// badLogged holds the records logged as set aside, with why.
	badLogged map[string]string
}

// New checks the configuration and returns a daemon.
func New(cfg Config) (*Daemon, error) {
	if cfg.Store == nil || cfg.Renderer == nil {
		return nil, errors.New("daemon: a store and a renderer are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CreateHold <= 0 {
		cfg.CreateHold = DefaultCreateHold
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = DefaultPollTimeout
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	d := &Daemon{cfg: cfg, trackers: map[string]Tracker{}, procs: map[string]*procedure.Procedure{},
		subjects: map[string]*intake.SubjectMatcher{}, failures: map[string]int{}, badLogged: map[string]string{}}
	for _, t := range cfg.Trackers {
		d.trackers[t.Name()] = t
	}
	d.cfg.Policy.Trackers = slices.Sorted(maps.Keys(d.trackers))
	// The timers are the records' data: the store keeps the live requests
	// in the order their first timer falls due, as the core finds it.
	cfg.Store.SetWake(func(l core.Live) (time.Time, bool) { return l.Wake(d.procs[l.Procedure], cfg.Policy) })
	for _, p := range cfg.Procedures {
		m, err := intake.NewSubjectMatcher(p.Request.Subject)
		if err != nil {
			return nil, fmt.Errorf("daemon: procedure %s: %w", p.ID, err)
		}
		d.procs[p.ID], d.subjects[p.ID] = p, m
		for id := range p.InOrder() {
			step, _ := p.Step(id)
			if step.Kind != "" && step.Kind != procedure.KindTask {
				continue
			}
			if r := p.RouteOf(id); d.trackers[r.Tracker] == nil {
				return nil, fmt.Errorf("daemon: procedure %s step %s is routed to tracker %q, which is not configured", p.ID, id, r.Tracker)
			}
		}
	}
	return d, nil
}

// work is one request to decide on this cycle.
type work struct {
	proc *procedure.Procedure
	inst core.Instance
	// before is the request as recorded when the cycle began (zero for one
	// first seen); the core decides on its own copy of inst.
	before core.Instance
	fresh  bool                   // first seen this cycle
	parent *core.Ticket           // changed parent, to re-read
	kids   map[string]core.Ticket // changed children, by step
	// marked holds changed tickets that carry this request's child marker
	// but are no request's recorded child, to re-read: the core adopts
	// those procbot opened.
	marked []core.Ticket
	// others are the other requests for the same product, for the core
	// to tell whether a request first seen this cycle repeats one.
	others []core.Request
}

// readAlready reports whether this change of the ticket was read before:
// polls overlap, so the same change shows up more than once.
func (w *work) readAlready(t core.Ticket) bool {
	last, ok := w.inst.Read[t.Ref.Key()]
	return ok && !t.UpdatedAt.IsZero() && last.Equal(t.UpdatedAt)
}

// Rebuild forgets the poll cursors and polls once: every ticket of every
// procedure is read again, requests procbot has no record of are rebuilt
// from their tickets and children found by their markers are adopted. On a
// database that is empty, the first cycle does the same by itself.
func (d *Daemon) Rebuild(ctx context.Context) error {
	for _, name := range d.trackerNames() {
		if err := d.cfg.Store.SetCursor(name, time.Time{}); err != nil {
			return fmt.Errorf("reset the %s poll cursor: %w", name, err)
		}
	}
	return d.Cycle(ctx)
}

// Cycle polls every tracker once and acts on what changed.
func (d *Daemon) Cycle(ctx context.Context) error {
	live, err := d.cfg.Store.Live()
	if err != nil {
		return fmt.Errorf("read the index of live requests: %w", err)
	}
	polls := d.pollAll(ctx)
	ld, err := d.load(live, polls)
	if err != nil {
		return err
	}
	items := ld.items

	failed := map[string]bool{}
	cursors := map[string]time.Time{}
	var marked []core.Ticket // children procbot has no record of
	for _, res := range polls {
		if res.err != nil {
			failed[res.name] = true
			continue
		}
		cursors[res.name] = res.cursor
		for _, t := range res.changed {
			key := t.Ref.Key()
			for _, ik := range ld.parents[key] {
				if w := items[ik]; w != nil && !w.readAlready(t) {
					tt := t
					w.parent = &tt
				}
			}
			if c, ok := ld.children[key]; ok {
				if w := items[c[0]]; w != nil && !w.readAlready(t) {
					w.kids[c[1]] = t
				}
				continue
			}
			if _, ok := ld.concerned[key]; ok {
				continue // of a live request not read: read at this change already, or set aside
			}
			if isMarked(t) {
				marked = append(marked, t)
				continue
			}
			d.discover(t, ld.known, items)
		}
	}
	d.observeOthers(live, items)
	observeMarked(marked, items)

	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Requests are independent of each other: up to Workers of them are
	// decided and carried out at once, each one's effects in their order.
	trip := &tripped{m: failed}
	var wg sync.WaitGroup
	sem := make(chan struct{}, d.cfg.Workers)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := d.decide(ctx, items[k], trip); err != nil {
				d.cfg.Log.Warn().Err(err).Str("instance", k).Msg("request not advanced this cycle")
			}
		})
	}
	wg.Wait()
	for name, c := range cursors {
		if failed[name] {
			continue // re-read next cycle what this one could not process
		}
		if err := d.cfg.Store.SetCursor(name, c); err != nil {
			return fmt.Errorf("record %s poll cursor: %w", name, err)
		}
	}
	return nil
}

// loaded is what a cycle reads of the store.
type loaded struct {
	items map[string]*work // requests to decide on, by key
	// concerned holds the changed tickets that are the parent or a child
	// of a live request; parents and children say which, for the requests
	// whose records decoded.
	concerned map[string][]string  // ticket key -> request keys
	parents   map[string][]string  // ticket key -> request keys
	children  map[string][2]string // ticket key -> request key, step
	// known holds the keys of recorded requests among those read and
	// those a changed ticket could start, finished ones included.
	known map[string]bool
}

// load reads the records a cycle concerns, and no others: those of the
// live requests that a changed ticket is the parent or a child of (unless
// the index says the request read the ticket at that change already), that
// the marker of a changed ticket names, that have effects waiting
// (outbox actions, a child being opened) or whose reminder is due.
// Finished requests are not read: of a ticket that could start a new
// request, the store is only asked whether its request is recorded.
func (d *Daemon) load(live []core.Live, polls []polled) (loaded, error) {
	var changed []string
	var marked, unindexed []core.Ticket
	for _, res := range polls {
		for _, t := range res.changed {
			changed = append(changed, t.Ref.Key())
		}
	}
	concerned, err := d.cfg.Store.Concerned(changed)
	if err != nil {
		return loaded{}, fmt.Errorf("read the ticket index: %w", err)
	}
	var want []string
	for _, res := range polls {
		for _, t := range res.changed {
			keys, ok := concerned[t.Ref.Key()]
			switch {
			case ok:
				for _, k := range keys {
					if l, ok := liveEntry(live, k); !ok || !l.ReadAlready(t) {
						want = append(want, k)
					}
				}
			case isMarked(t):
				marked = append(marked, t)
			default:
				unindexed = append(unindexed, t)
			}
		}
	}
	due, err := d.cfg.Store.Due(d.cfg.Now())
	if err != nil {
		return loaded{}, fmt.Errorf("read the index of live requests: %w", err)
	}
	want = append(want, due...)
	byMarker := map[string]string{}
	if len(marked) > 0 {
		for _, l := range live {
			byMarker[core.ChildMarker(l.Procedure, l.Parent, "")] = l.Key
		}
	}
	for _, t := range marked {
		m, _ := core.ParseMarker(t.Title)
		if k, ok := byMarker[core.ChildMarker(m.Procedure, core.TicketRef{Tracker: m.Tracker, Number: m.Number}, "")]; ok {
			want = append(want, k)
		}
	}
	var candidates []string
	for _, t := range unindexed {
		for _, p := range d.cfg.Procedures {
			if _, ok := d.subjects[p.ID].Match(t.Title); ok {
				candidates = append(candidates, core.InstanceKey(p.ID, t.Ref))
			}
		}
	}
	known, err := d.cfg.Store.Known(candidates)
	if err != nil {
		return loaded{}, fmt.Errorf("look up recorded requests: %w", err)
	}
	insts, bad, err := d.cfg.Store.RecordsOf(want)
	if err != nil {
		return loaded{}, fmt.Errorf("read recorded requests: %w", err)
	}
	ld := loaded{items: map[string]*work{}, concerned: concerned, parents: map[string][]string{},
		children: map[string][2]string{}, known: known}
	for _, b := range bad {
		// Its request is left alone: known, so that it is not taken
		// for a new one, and no work, so nothing is done for it.
		ld.known[b.Key] = true
		d.setAside(b)
	}
	for _, inst := range insts {
		ld.known[inst.Key] = true
		ld.parents[inst.Parent.Key()] = append(ld.parents[inst.Parent.Key()], inst.Key)
		for id, st := range inst.Steps {
			if !st.Child.IsZero() {
				ld.children[st.Child.Key()] = [2]string{inst.Key, id}
			}
		}
		if p := d.procs[inst.Procedure]; p != nil && inst.Pending() {
			ld.items[inst.Key] = &work{proc: p, inst: inst, before: inst, kids: map[string]core.Ticket{}}
		}
	}
	return ld, nil
}

// isMarked reports whether the ticket's title carries a child marker.
func isMarked(t core.Ticket) bool {
	_, ok := core.ParseMarker(t.Title)
	return ok
}

// liveEntry finds the request's entry in live, which is in key order.
func liveEntry(live []core.Live, key string) (core.Live, bool) {
	i := sort.Search(len(live), func(i int) bool { return live[i].Key >= key })
	if i < len(live) && live[i].Key == key {
		return live[i], true
	}
	return core.Live{}, false
}

// setAside logs a record that does not decode, once per record and reason.
func (d *Daemon) setAside(b core.BadRecord) {
	d.mu.Lock()
	logged := d.badLogged[b.Key] == b.Err.Error()
	d.badLogged[b.Key] = b.Err.Error()
	d.mu.Unlock()
	if !logged {
		d.cfg.Log.Error().Str("instance", b.Key).AnErr("decode_error", b.Err).
			Msg("recorded request does not decode and is set aside: procbot leaves it alone and goes on with the others; " +
				"rebuild the database from the trackers (PROCBOT_DB_PATH=<new file> procbot rebuild) to take it up again")
	}
}

func (d *Daemon) trackerNames() []string {
	names := make([]string, 0, len(d.trackers))
	for n := range d.trackers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// polled is what one tracker's poll returned.
type polled struct {
	name    string
	changed []core.Ticket
	cursor  time.Time
	err     error
}

// pollAll polls every tracker at the same time and returns their answers
// in the order of their names, once the last one answered or gave up.
func (d *Daemon) pollAll(ctx context.Context) []polled {
	names := d.trackerNames()
	out := make([]polled, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			changed, cursor, err := d.poll(ctx, d.trackers[name])
			out[i] = polled{name: name, changed: changed, cursor: cursor, err: err}
		}()
	}
	wg.Wait()
	return out
}

// poll asks one tracker for the tickets of every procedure changed since
// its cursor, less the overlap, within Config.PollTimeout. It returns them
// and the new cursor.
func (d *Daemon) poll(ctx context.Context, tr Poller) ([]core.Ticket, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.PollTimeout)
	defer cancel()
	name := tr.Name()
	cursor, err := d.cfg.Store.Cursor(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	since := cursor
	if !since.IsZero() {
		since = since.Add(-d.cfg.Overlap)
	}
	searched := map[string]bool{}
	seen := map[string]bool{}
	var out []core.Ticket
	next := cursor
	for _, p := range d.cfg.Procedures {
		if searched[p.Request.Search] {
			continue
		}
		searched[p.Request.Search] = true
		ts, err := tr.Changed(ctx, p.Request.Search, since)
		if err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				err = fmt.Errorf("poll of %s not done within %s: %w", name, d.cfg.PollTimeout, err)
			}
			d.trackerFailed(name, err)
			return nil, time.Time{}, err
		}
		for _, t := range ts {
			if seen[t.Ref.Key()] {
				continue
			}
			seen[t.Ref.Key()] = true
			out = append(out, t)
			if t.UpdatedAt.After(next) {
				next = t.UpdatedAt
			}
		}
	}
	d.trackerOK(name)
	return out, next, nil
}

func (d *Daemon) trackerFailed(name string, err error) {
	d.mu.Lock()
	d.failures[name]++
	n := d.failures[name]
	d.mu.Unlock()
	d.cfg.Log.Warn().Err(err).Str("tracker", name).Int("failed_cycles", n).Msg("tracker failed; other trackers carry on, this one is retried next cycle")
}

func (d *Daemon) trackerOK(name string) {
	d.mu.Lock()
	n := d.failures[name]
	d.failures[name] = 0
	d.mu.Unlock()
	if n > 0 {
		d.cfg.Log.Info().Str("tracker", name).Int("failed_cycles", n).Msg("tracker answers again")
	}
}

// observeOthers gives each request first seen this cycle the other
// requests for the same product, live or also first seen, from which the
// core tells whether it repeats one. The live ones come from the index:
// their records are not read for it.
func (d *Daemon) observeOthers(live []core.Live, items map[string]*work) {
	var fresh []*work
	for _, w := range items {
		if w.fresh {
			fresh = append(fresh, w)
		}
	}
	if len(fresh) == 0 {
		return
	}
	byProduct := map[string][]core.Request{}
	add := func(r core.Request) {
		k := r.Procedure + "|" + core.ProductKey(r.Product)
		byProduct[k] = append(byProduct[k], r)
	}
	for _, l := range live {
		if items[l.Key] != nil && items[l.Key].fresh {
			continue // added below, as first seen
		}
		add(core.Request{Key: l.Key, Procedure: l.Procedure, Parent: l.Parent, ParentURL: l.ParentURL,
			Product: l.Product, Phase: l.Phase, DuplicateOf: l.DuplicateOf})
	}
	for _, w := range fresh {
		add(core.Request{Key: w.inst.Key, Procedure: w.inst.Procedure, Parent: w.inst.Parent, ParentURL: w.inst.ParentURL,
			Product: w.inst.Product, Phase: w.inst.Phase, Unrecorded: true, Filed: w.parent.CreatedAt})
	}
	for _, w := range fresh {
		w.others = byProduct[w.inst.Procedure+"|"+core.ProductKey(w.inst.Product)]
	}
}

// observeMarked hands each ticket that carries a child marker but is no
// request's recorded child to the request its marker names. Those of
// finished requests, or of another procbot's, are left alone.
func observeMarked(marked []core.Ticket, items map[string]*work) {
	if len(marked) == 0 {
		return
	}
	byMarker := map[string]*work{}
	for _, w := range items {
		byMarker[core.ChildMarker(w.proc.ID, w.inst.Parent, "")] = w
	}
	for _, t := range marked {
		m, _ := core.ParseMarker(t.Title)
		if w := byMarker[core.ChildMarker(m.Procedure, core.TicketRef{Tracker: m.Tracker, Number: m.Number}, "")]; w != nil && !w.readAlready(t) {
			w.marked = append(w.marked, t)
		}
	}
}

// openedByProcbot reports whether procbot's own account opened the ticket.
func (d *Daemon) openedByProcbot(t core.Ticket) bool {
	robot := d.cfg.Policy.Robots[t.Ref.Tracker]
	return robot != "" && intake.SameIdentity(robot, t.Creator)
}

// discover starts a record for a ticket whose subject matches a procedure's
// request template.
func (d *Daemon) discover(t core.Ticket, known map[string]bool, items map[string]*work) {
	for _, p := range d.cfg.Procedures {
		product, ok := d.subjects[p.ID].Match(t.Title)
		if !ok {
			continue
		}
		key := core.InstanceKey(p.ID, t.Ref)
		if known[key] || items[key] != nil {
			return
		}
		tt := t
		items[key] = &work{proc: p, inst: core.NewInstance(p, t, product, d.cfg.Now()), fresh: true, parent: &tt, kids: map[string]core.Ticket{}}
		return
	}
}

// decide observes one request (re-reads what changed of its tickets),
// calls the core, and hands what it decided to the executor, which records
// it and carries it out.
// tripped holds the trackers that failed this cycle, for the requests
// decided at once.
type tripped struct {
	mu sync.Mutex
	m  map[string]bool
}

func (t *tripped) has(tracker string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[tracker]
}

func (t *tripped) set(tracker string) {
	t.mu.Lock()
	t.m[tracker] = true
	t.mu.Unlock()
}

func (d *Daemon) decide(ctx context.Context, w *work, failed *tripped) error {
	obs := core.Observation{Children: map[string]core.Snapshot{}, Unrecorded: w.fresh}
	if w.parent != nil && !failed.has(w.parent.Ref.Tracker) {
		snap, err := d.snapshot(ctx, w.parent.Ref, true, w.inst.Seen[w.parent.Ref.Key()])
		if err != nil {
			failed.set(w.parent.Ref.Tracker)
			if w.fresh {
				return fmt.Errorf("read new request %s: %w", w.parent.Ref, err)
			}
		} else {
			snap.Changed = w.parent.UpdatedAt
			obs.Parent = &snap
		}
	}
	for step, t := range w.kids {
		if failed.has(t.Ref.Tracker) {
			continue // failed this cycle: not waited on again; read next cycle
		}
		snap, err := d.snapshot(ctx, t.Ref, false, w.inst.Seen[t.Ref.Key()])
		if err != nil {
			failed.set(t.Ref.Tracker)
			d.cfg.Log.Warn().Err(err).Str("instance", w.inst.Key).Str("step", step).Msg("child not re-read")
			continue
		}
		snap.Ticket.State = t.State // as polled, in case Get was skipped
		snap.Changed = t.UpdatedAt
		obs.Children[step] = snap
	}
	for _, t := range w.marked {
		if failed.has(t.Ref.Tracker) {
			continue
		}
		snap, err := d.snapshot(ctx, t.Ref, false, 0)
		if err != nil {
			failed.set(t.Ref.Tracker)
			d.cfg.Log.Warn().Err(err).Str("instance", w.inst.Key).Str("ticket", t.Ref.String()).Msg("ticket found by its marker not read")
			continue
		}
		snap.Ticket, snap.Changed = t, t.UpdatedAt
		obs.Marked = append(obs.Marked, snap)
	}
	in := core.Input{Procedure: w.proc, State: w.inst, Observed: obs, Others: w.others, Policy: d.cfg.Policy, Now: d.cfg.Now()}
	inst := core.Decide(in)
	audit := d.adoptions(w, inst, obs.Marked)
	if in.Rebuilding() {
		// The record is new; what it holds was there before it was lost.
		audit = append(audit, d.entry(inst, "", inst.Parent, "rebuilt the record of this request from the trackers"))
	} else {
		audit = append(audit, transitions(w.proc, w.before, inst)...)
	}
	return d.execute(ctx, w.proc, w.before, inst, failed, audit)
}

// adoptions lists, for the audit log, the children the core adopted of
// the tickets found by their marker, and logs those it did not.
func (d *Daemon) adoptions(w *work, inst core.Instance, marked []core.Snapshot) []core.AuditEntry {
	var out []core.AuditEntry
	for _, snap := range marked {
		t := snap.Ticket
		m, _ := core.ParseMarker(t.Title)
		if inst.Steps[m.Step].Child == t.Ref && w.before.Steps[m.Step].Child != t.Ref {
			out = append(out, d.entry(inst, m.Step, t.Ref, "adopted existing child "+t.Ref.String()+", found by its marker"))
			continue
		}
		if inst.Steps[m.Step].Child != t.Ref {
			d.cfg.Log.Warn().Str("instance", inst.Key).Str("step", m.Step).Str("ticket", t.Ref.String()).Str("creator", t.Creator).
				Str("recorded", inst.Steps[m.Step].Child.String()).
				Msg("a ticket carries a step's marker but is not taken as its child: procbot did not open it, it is not in the step's tracker, or the step has its child already")
		}
	}
	return out
}

// snapshot reads the ticket (if full) and its articles newer than after,
// the last one the request has read of it.
func (d *Daemon) snapshot(ctx context.Context, ref core.TicketRef, full bool, after int64) (core.Snapshot, error) {
	tr := d.trackers[ref.Tracker]
	if tr == nil {
		return core.Snapshot{}, fmt.Errorf("tracker %q is not configured", ref.Tracker)
	}
	var snap core.Snapshot
	var err error
	if full {
		if snap.Ticket, err = tr.Get(ctx, ref.ID); err != nil {
			return snap, fmt.Errorf("read %s: %w", ref, err)
		}
	} else {
		snap.Ticket.Ref = ref
	}
	if snap.Articles, err = tr.ArticlesAfter(ctx, ref.ID, after); err != nil {
		return snap, fmt.Errorf("read articles of %s: %w", ref, err)
	}
	return snap, nil
}
