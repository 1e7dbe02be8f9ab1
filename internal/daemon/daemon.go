// Package daemon runs procbot's poll cycle: it reads what changed in the
// trackers, asks the core what to do, and carries that out. It is the one
// place where procbot changes tickets, and so the one place that enforces
// check-act-record and dry-run.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
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
	// CloseState is, per tracker, the state procbot sets to close a ticket.
	CloseState map[string]string
	// Overlap is how far before the recorded cursor each poll starts, so
	// tickets changed while the previous poll ran are not missed.
	Overlap time.Duration
	// DryRun logs what procbot would do and changes nothing, neither in
	// the trackers nor in the store.
	DryRun bool
	Now    func() time.Time
	Log    zerolog.Logger
	// OnEvent, if set, receives every audit entry as it is written.
	OnEvent func(core.AuditEntry)
	// Mail sends the announcement by mail; nil sends none.
	Mail *MailRoom
	// Crash, if set, is called at the points where a crash is most harmful
	// (CrashAfterIntent, CrashAfterCreate, CrashAfterEffect). The crash test
	// kills procbot there; nothing else sets it.
	Crash func(point string)
}

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
}

// New checks the configuration and returns a daemon.
func New(cfg Config) (*Daemon, error) {
	if cfg.Store == nil || cfg.Renderer == nil {
		return nil, errors.New("daemon: a store and a renderer are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	d := &Daemon{cfg: cfg, trackers: map[string]Tracker{}, procs: map[string]*procedure.Procedure{},
		subjects: map[string]*intake.SubjectMatcher{}, failures: map[string]int{}}
	for _, t := range cfg.Trackers {
		d.trackers[t.Name()] = t
	}
	for _, p := range cfg.Procedures {
		m, err := intake.NewSubjectMatcher(p.Request.Subject)
		if err != nil {
			return nil, fmt.Errorf("daemon: procedure %s: %w", p.ID, err)
		}
		d.procs[p.ID], d.subjects[p.ID] = p, m
		for _, id := range p.Order() {
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

// Run polls every interval until ctx is cancelled. A cycle under way when
// ctx is cancelled is finished, not cut short.
func (d *Daemon) Run(ctx context.Context, interval time.Duration) error {
	for {
		cycleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Minute)
		if err := d.Cycle(cycleCtx); err != nil {
			d.cfg.Log.Error().Err(err).Msg("cycle failed")
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// work is one request to decide on this cycle.
type work struct {
	proc   *procedure.Procedure
	inst   core.Instance
	before core.Instance          // as recorded when the cycle began
	fresh  bool                   // first seen this cycle
	parent *core.Ticket           // changed parent, to re-read
	kids   map[string]core.Ticket // changed children, by step
	found  []core.AuditEntry      // children found by their marker
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
	all, err := d.cfg.Store.Instances()
	if err != nil {
		return fmt.Errorf("read recorded requests: %w", err)
	}
	known := map[string]bool{}         // instance keys
	parents := map[string][]string{}   // ticket key -> instance keys
	children := map[string][2]string{} // ticket key -> instance key, step
	items := map[string]*work{}
	for _, inst := range all {
		known[inst.Key] = true
		parents[inst.Parent.Key()] = append(parents[inst.Parent.Key()], inst.Key)
		for id, st := range inst.Steps {
			if !st.Child.IsZero() {
				children[st.Child.Key()] = [2]string{inst.Key, id}
			}
		}
		if p := d.procs[inst.Procedure]; p != nil && inst.Pending() {
			items[inst.Key] = &work{proc: p, inst: inst, before: inst.Clone(), kids: map[string]core.Ticket{}}
		}
	}

	failed := map[string]bool{}
	cursors := map[string]time.Time{}
	var orphans []core.Ticket // children procbot has no record of
	for _, name := range d.trackerNames() {
		changed, cursor, err := d.poll(ctx, d.trackers[name])
		if err != nil {
			failed[name] = true
			continue
		}
		cursors[name] = cursor
		for _, t := range changed {
			key := t.Ref.Key()
			for _, ik := range parents[key] {
				if w := items[ik]; w != nil && !w.readAlready(t) {
					tt := t
					w.parent = &tt
				}
			}
			if c, ok := children[key]; ok {
				if w := items[c[0]]; w != nil && !w.readAlready(t) {
					w.kids[c[1]] = t
				}
				continue
			}
			if _, ok := core.ParseMarker(t.Title); ok {
				orphans = append(orphans, t)
				continue
			}
			d.discover(t, known, items)
		}
	}
	markDuplicates(all, items)
	d.adoptOrphans(orphans, items)

	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := d.decide(ctx, items[k], failed); err != nil {
			d.cfg.Log.Warn().Err(err).Str("instance", k).Msg("request not advanced this cycle")
		}
	}
	for name, c := range cursors {
		if failed[name] || d.cfg.DryRun {
			continue // re-read next cycle what this one could not process
		}
		if err := d.cfg.Store.SetCursor(name, c); err != nil {
			return fmt.Errorf("record %s poll cursor: %w", name, err)
		}
	}
	return nil
}

func (d *Daemon) trackerNames() []string {
	names := make([]string, 0, len(d.trackers))
	for n := range d.trackers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// poll asks one tracker for the tickets of every procedure changed since
// its cursor, less the overlap. It returns them and the new cursor.
func (d *Daemon) poll(ctx context.Context, tr Tracker) ([]core.Ticket, time.Time, error) {
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

// markDuplicates marks a request first seen this cycle as a duplicate when
// an earlier request for the same product is still open. Of two new ones,
// the one created first is the original.
func markDuplicates(all []core.Instance, items map[string]*work) {
	type original struct {
		ref core.TicketRef
		url string
	}
	first := map[string]original{}
	for _, inst := range all {
		if !inst.Phase.Finished() && inst.DuplicateOf.IsZero() {
			first[productKey(inst.Procedure, inst.Product)] = original{inst.Parent, inst.ParentURL}
		}
	}
	var fresh []*work
	for _, w := range items {
		if w.fresh {
			fresh = append(fresh, w)
		}
	}
	sort.Slice(fresh, func(i, j int) bool {
		a, b := fresh[i].parent, fresh[j].parent
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.Ref.Key() < b.Ref.Key()
	})
	for _, w := range fresh {
		key := productKey(w.proc.ID, w.inst.Product)
		if o, ok := first[key]; ok {
			w.inst.DuplicateOf, w.inst.DuplicateOfURL = o.ref, o.url
			continue
		}
		first[key] = original{w.inst.Parent, w.inst.ParentURL}
	}
}

func productKey(procedure, product string) string {
	return procedure + "|" + strings.ToLower(strings.Join(strings.Fields(product), " "))
}

// adoptOrphans attaches children that procbot has no record of to their
// requests, found by the marker in their titles. That happens when the
// database was lost or restored from a backup: the trackers still hold the
// children, and procbot must carry on with them, not open them again.
func (d *Daemon) adoptOrphans(orphans []core.Ticket, items map[string]*work) {
	if len(orphans) == 0 {
		return
	}
	byNumber := map[string]*work{}
	for _, w := range items {
		byNumber[core.ChildMarker(w.proc.ID, w.inst.Parent, "")] = w
	}
	sort.SliceStable(orphans, func(i, j int) bool { return orphans[i].CreatedAt.Before(orphans[j].CreatedAt) })
	for _, t := range orphans {
		m, _ := core.ParseMarker(t.Title)
		w := byNumber[core.ChildMarker(m.Procedure, core.TicketRef{Tracker: m.Tracker, Number: m.Number}, "")]
		if w == nil {
			continue // a finished request, or another procbot's
		}
		st, ok := w.inst.Steps[m.Step]
		switch {
		case !ok:
			continue
		case !st.Child.IsZero():
			if st.Child.Key() != t.Ref.Key() {
				d.cfg.Log.Warn().Str("instance", w.inst.Key).Str("step", m.Step).Str("recorded", st.Child.String()).Str("other", t.Ref.String()).
					Msg("a second ticket carries this step's marker; procbot keeps the recorded one")
			}
			continue
		case st.Status.Complete():
			continue
		}
		st.Status, st.Child, st.ChildURL, st.OpenedAt = core.StepOpen, t.Ref, t.URL, t.CreatedAt
		w.inst.Steps[m.Step] = st
		w.kids[m.Step] = t
		w.found = append(w.found, d.entry(w.inst, m.Step, t.Ref, "adopted existing child "+t.Ref.String()+", found by its marker"))
	}
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

// decide re-reads what changed of one request, runs the core and carries
// out what it decided.
func (d *Daemon) decide(ctx context.Context, w *work, failed map[string]bool) error {
	obs := core.Observation{Children: map[string]core.Snapshot{}}
	if w.parent != nil {
		snap, err := d.snapshot(ctx, w.parent.Ref, true)
		if err != nil {
			failed[w.parent.Ref.Tracker] = true
			if w.fresh {
				return fmt.Errorf("read new request %s: %w", w.parent.Ref, err)
			}
		} else {
			obs.Parent = &snap
			w.inst.Read = d.markRead(w.inst.Read, w.parent.Ref.Key(), w.parent.UpdatedAt)
		}
	}
	for step, t := range w.kids {
		snap, err := d.snapshot(ctx, t.Ref, false)
		if err != nil {
			failed[t.Ref.Tracker] = true
			d.cfg.Log.Warn().Err(err).Str("instance", w.inst.Key).Str("step", step).Msg("child not re-read")
			continue
		}
		snap.Ticket.State = t.State // as polled, in case Get was skipped
		obs.Children[step] = snap
		w.inst.Read = d.markRead(w.inst.Read, t.Ref.Key(), t.UpdatedAt)
	}
	inst := core.Decide(core.Input{Procedure: w.proc, State: w.inst, Observed: obs, Policy: d.cfg.Policy, Now: d.cfg.Now()})
	before := w.before
	if w.fresh && obs.Parent != nil && d.workedOnBefore(obs.Parent) {
		inst = rebuilt(inst)
		w.found = append(w.found, d.entry(inst, "", inst.Parent, "rebuilt the record of this request from the trackers"))
		// Any step may have a child that this cycle's search did not show
		// (a tracker that failed): every step to open is checked first.
		before = inst.Clone()
	}
	return d.execute(ctx, w.proc, before, inst, w.found...)
}

// workedOnBefore reports whether procbot's own notes are on a request it
// has no record of: its database was lost.
func (d *Daemon) workedOnBefore(parent *core.Snapshot) bool {
	robot := d.cfg.Policy.Robots[parent.Ticket.Ref.Tracker]
	for _, a := range parent.Articles {
		if robot != "" && intake.SameIdentity(robot, a.Author) {
			return true
		}
	}
	return false
}

// rebuilt drops from the outbox of a request rebuilt from the trackers the
// answers procbot gave before it lost its record (to old commands, about
// missing data), so they are not posted twice. A fresh status note stays:
// it tells the people on the ticket where procbot now stands.
func rebuilt(inst core.Instance) core.Instance {
	var keep []core.Action
	for _, a := range inst.Outbox {
		if a.Kind == core.ActNote && a.Note != core.NoteStatus && a.Note != core.NoteAnnouncement {
			if a.Digest != "" {
				inst.Posted[a.Note] = a.Digest
			}
			continue
		}
		keep = append(keep, a)
	}
	inst.Outbox = keep
	return inst
}

// readSettle is how old a change must be before procbot trusts that a read
// saw all of it. RT stamps changes to the whole second, so a note added in
// the second of a read leaves the ticket's last change unchanged; until a
// change is this old (clock skew included), polls keep reading the ticket.
const readSettle = 5 * time.Second

// markRead records that the change of the ticket at the given time was read.
func (d *Daemon) markRead(m map[string]time.Time, key string, at time.Time) map[string]time.Time {
	if d.cfg.Now().Sub(at) < readSettle {
		delete(m, key)
		return m
	}
	if m == nil {
		m = map[string]time.Time{}
	}
	m[key] = at
	return m
}

func (d *Daemon) snapshot(ctx context.Context, ref core.TicketRef, full bool) (core.Snapshot, error) {
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
	if snap.Articles, err = tr.Articles(ctx, ref.ID); err != nil {
		return snap, fmt.Errorf("read articles of %s: %w", ref, err)
	}
	return snap, nil
}

// execute records the decision, then carries out its side effects one by
// one, recording each as soon as the tracker has it.
func (d *Daemon) execute(ctx context.Context, p *procedure.Procedure, before, inst core.Instance, notes ...core.AuditEntry) error {
	if err := d.record(inst, append(notes, transitions(p, before, inst)...)...); err != nil {
		return err
	}
	d.crash(CrashAfterIntent)
	var errs []error
	for _, id := range p.Order() {
		if inst.Steps[id].Status != core.StepOpening {
			continue
		}
		// Only a step that was already opening when this cycle began can
		// have a child from an earlier attempt.
		retry := before.Steps[id].Status == core.StepOpening
		next, err := d.openChild(ctx, p, inst, id, retry)
		if err != nil {
			errs = append(errs, fmt.Errorf("open step %s: %w", id, err))
			continue
		}
		inst = next
	}
	var kept []core.Action
	for i, a := range inst.Outbox {
		if err := d.do(ctx, p, inst, a); err != nil {
			errs = append(errs, fmt.Errorf("%s %s on %s: %w", a.Kind, a.Note, a.Ticket, err))
			kept = append(kept, a)
			continue
		}
		d.crash(CrashAfterEffect)
		next := inst.Clone()
		next.Outbox = append(append([]core.Action(nil), kept...), inst.Outbox[i+1:]...)
		if a.Digest != "" {
			next.Posted[a.Note] = a.Digest
		}
		if err := d.record(next, d.entry(next, a.Step, a.Ticket, d.describe(a))); err != nil {
			return errors.Join(append(errs, err)...)
		}
		inst.Posted = next.Posted
	}
	return errors.Join(errs...)
}

// openChild opens the child ticket of one step, or adopts the one a
// previous attempt created but could not record.
func (d *Daemon) openChild(ctx context.Context, p *procedure.Procedure, inst core.Instance, id string, retry bool) (core.Instance, error) {
	route := p.RouteOf(id)
	tr := d.trackers[route.Tracker]
	marker := core.ChildMarker(p.ID, inst.Parent, id)
	title, err := d.cfg.Renderer.ChildTitle(p, inst, id)
	if err != nil {
		return inst, err
	}
	if d.cfg.DryRun {
		d.event(d.entry(inst, id, core.TicketRef{Tracker: route.Tracker}, fmt.Sprintf("would open child %q in %s", title, route.Queue)))
		return inst, nil
	}
	// Check: an earlier attempt may have created the child and crashed, or
	// lost the tracker's answer, before recording it. The marker in the
	// title finds it: the link to the parent is a separate call after the
	// create, so it may be missing. Zammad answers a condition search from
	// its database and RT's TicketSQL is SQL, so neither lags behind.
	var child core.Ticket
	what := ""
	if retry {
		found, err := tr.Changed(ctx, marker, time.Time{})
		if err != nil {
			return inst, fmt.Errorf("look for an existing child %s: %w", marker, err)
		}
		for _, t := range found {
			if strings.HasPrefix(t.Title, marker) {
				child, what = t, "adopted existing child"
				break
			}
		}
	}
	if child.Ref.IsZero() {
		body, err := d.cfg.Renderer.ChildBody(p, inst, id)
		if err != nil {
			return inst, err
		}
		nt := core.NewTicket{Queue: route.Queue, Title: title, Body: body, Tags: []string{"procbot", strings.ToLower(p.ID)}}
		if inst.Parent.Tracker == route.Tracker {
			nt.Parent = inst.Parent
		} else {
			nt.ParentURL = inst.ParentURL
		}
		// Act. A ticket that was created but could not be linked is not
		// recorded here: the next attempt finds it by its marker, adopts
		// and links it, instead of creating another.
		if child, err = tr.Create(ctx, nt); err != nil {
			return inst, fmt.Errorf("create child in %s %q: %w", route.Tracker, route.Queue, err)
		}
		what = "opened child"
		d.crash(CrashAfterCreate)
	} else if inst.Parent.Tracker == route.Tracker {
		if err := tr.Link(ctx, inst.Parent, child.Ref); err != nil {
			return inst, fmt.Errorf("link adopted child %s: %w", child.Ref, err)
		}
	}
	// Record.
	next := inst.Clone()
	st := next.Steps[id]
	st.Status, st.Child, st.ChildURL, st.OpenedAt = core.StepOpen, child.Ref, child.URL, d.cfg.Now()
	next.Steps[id] = st
	if err := d.record(next, d.entry(next, id, child.Ref, fmt.Sprintf("%s %s in %s", what, child.Ref, route.Queue))); err != nil {
		return inst, err
	}
	return next, nil
}

// do carries out one outbox action.
func (d *Daemon) do(ctx context.Context, p *procedure.Procedure, inst core.Instance, a core.Action) error {
	tr := d.trackers[a.Ticket.Tracker]
	if tr == nil {
		return fmt.Errorf("tracker %q is not configured", a.Ticket.Tracker)
	}
	switch a.Kind {
	case core.ActNote:
		body, err := d.cfg.Renderer.Note(p, inst, a, d.cfg.Policy.Operators)
		if err != nil {
			return err
		}
		if d.cfg.DryRun {
			d.event(d.entry(inst, a.Step, a.Ticket, "would post "+a.Note+" note:\n"+body))
			return nil
		}
		return tr.AddNote(ctx, a.Ticket.ID, body, a.Public)
	case core.ActRelate:
		if d.cfg.DryRun {
			d.event(d.entry(inst, a.Step, a.Ticket, "would link to "+a.Other.String()))
			return nil
		}
		return tr.Relate(ctx, a.Ticket, a.Other)
	case core.ActMail:
		if d.cfg.DryRun {
			d.event(d.entry(inst, a.Step, a.Ticket, "would mail the announcement"))
			return nil
		}
		return d.cfg.Mail.SendAnnouncement(ctx, p, inst)
	case core.ActClose:
		state := d.cfg.CloseState[a.Ticket.Tracker]
		if d.cfg.DryRun {
			d.event(d.entry(inst, a.Step, a.Ticket, "would set state "+state))
			return nil
		}
		return tr.SetState(ctx, a.Ticket.ID, state)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// record stores the request with its audit entries, in one transaction.
func (d *Daemon) record(inst core.Instance, entries ...core.AuditEntry) error {
	if d.cfg.DryRun {
		for _, e := range entries {
			d.event(e)
		}
		return nil
	}
	if err := d.cfg.Store.PutInstanceAudit(inst, entries...); err != nil {
		return fmt.Errorf("record %s: %w", inst.Key, err)
	}
	for _, e := range entries {
		d.event(e)
	}
	return nil
}

func (d *Daemon) entry(inst core.Instance, step string, t core.TicketRef, what string) core.AuditEntry {
	return core.AuditEntry{Time: d.cfg.Now(), Instance: inst.Key, Step: step, Tracker: t.Tracker, Ticket: t.ID, What: what, DryRun: d.cfg.DryRun}
}

func (d *Daemon) event(e core.AuditEntry) {
	ev := d.cfg.Log.Info()
	if e.DryRun {
		ev = ev.Bool("dry_run", true)
	}
	ev.Str("instance", e.Instance).Str("step", e.Step).Str("tracker", e.Tracker).Str("ticket", e.Ticket).Msg(e.What)
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(e)
	}
}

func (d *Daemon) describe(a core.Action) string {
	switch a.Kind {
	case core.ActClose:
		return "closed " + a.Ticket.String()
	case core.ActRelate:
		return "linked " + a.Ticket.String() + " to " + a.Other.String()
	case core.ActMail:
		if m := d.cfg.Mail; m == nil || m.Mailer == nil || len(m.AnnounceTo) == 0 {
			return "no " + a.Note + " mail: no SMTP server or no PROCBOT_ANNOUNCE_TO"
		}
		var to []string
		for _, addr := range d.cfg.Mail.AnnounceTo {
			to = append(to, addr.Address)
		}
		return "mailed the " + a.Note + " to " + strings.Join(to, ", ")
	}
	return fmt.Sprintf("posted %s note on %s", a.Note, a.Ticket)
}

// transitions lists what changed in a request's state, for the audit log.
func transitions(p *procedure.Procedure, before, after core.Instance) []core.AuditEntry {
	now := after.UpdatedAt
	var out []core.AuditEntry
	add := func(step, what string) {
		out = append(out, core.AuditEntry{Time: now, Instance: after.Key, Step: step, Tracker: after.Parent.Tracker, Ticket: after.Parent.ID, What: what})
	}
	if before.Key == "" {
		add("", fmt.Sprintf("new request for %q (%s)", after.Product, after.Parent))
	}
	if before.Phase != after.Phase {
		add("", fmt.Sprintf("request %s → %s", orNone(string(before.Phase)), after.Phase))
	}
	if before.Kind != after.Kind {
		add("", fmt.Sprintf("kind of product: %s", after.Kind))
	}
	for _, id := range p.Order() {
		b, a := before.Steps[id], after.Steps[id]
		if b.Status == a.Status || (before.Key == "" && a.Status == core.StepWaiting) {
			continue
		}
		what := fmt.Sprintf("step %s → %s", orNone(string(b.Status)), a.Status)
		switch {
		case a.Reason != "" && a.Status == core.StepSkipped:
			what += ": " + a.Reason
		case a.By != "" && a.Status == core.StepDone:
			what += " by " + a.By
		}
		add(id, what)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
