package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/render"
)

// This file is the one place where procbot changes tickets and sends mail:
// every side effect the core decided is carried out here, checked before
// and recorded after.

// execute records the decision with its audit entries, then carries out
// the side effects in the outbox one by one, in the order the core queued
// them: for each, check what an earlier attempt left, act, and record.
// Opening a child is one of them.
//
// An effect is recorded before the next one whose repetition the check
// could not catch, and at the end: a note (whose attempt is recorded
// before it is posted, so that the check finds it) and the announcement
// mail (recorded as soon as it is sent). Children opened, links made and
// tickets closed in between share one write: after a crash the opens
// still in the outbox find their children by marker, and linking and
// closing again change nothing. A busy cycle so writes a few times per
// request, not once per effect.
//
// Side effects on a tracker that failed this cycle wait for the next one:
// procbot does not spend the cycle waiting on a tracker that is down. So do
// those that follow a failed one on the same ticket.
func (d *Daemon) execute(ctx context.Context, p *procedure.Procedure, before, inst core.Instance, failed *tripped, entries []core.AuditEntry) error {
	// A request nothing happened to is not written again: a quiet cycle
	// costs the store nothing.
	if len(entries) > 0 || before.Key == "" || !inst.Equal(before) {
		if err := d.record(inst, entries...); err != nil {
			return err
		}
	}
	d.crash(CrashAfterIntent)
	// done holds the audit entries of the effects carried out since inst
	// was last recorded; unrecorded says there are such effects.
	var done []core.AuditEntry
	unrecorded := false
	flush := func(next core.Instance) error {
		if err := d.record(next, done...); err != nil {
			return err
		}
		done, unrecorded = nil, false
		return nil
	}
	var errs []error
	// Effects on one ticket keep their order: once one fails, the later
	// ones on that ticket wait with it for the next cycle, so that a
	// request is never closed before its announcement is on the ticket.
	held := map[string]bool{}
	for i := 0; i < len(inst.Outbox); {
		a := inst.Outbox[i]
		tracker, ticket := target(p, inst, a)
		if failed.has(tracker) || held[ticket] {
			i++
			continue
		}
		if d.cfg.Now().Before(a.RetryAt()) {
			// Refused often: it waits, and so do the later effects on its
			// ticket.
			held[ticket] = true
			i++
			continue
		}
		var err error
		next, what, on := inst, d.describe(a), a.Ticket
		switch a.Kind {
		case core.ActNote:
			var there bool
			if next, there, err = d.note(ctx, p, inst, i, flush); there {
				what = fmt.Sprintf("%s note already on %s, not posted again", a.Note, a.Ticket)
			}
		case core.ActOpen:
			var child core.Ticket
			var created bool
			if child, created, what, err = d.openChild(ctx, p, inst, a, a.Attempt != "" || !a.Tried.IsZero() || openPending(before, a.Step)); err == nil {
				if !created {
					// Adopted: changed by others, maybe, since procbot
					// created it; it is read like any other ticket.
					child.UpdatedAt = time.Time{}
				}
				next, on = core.Opened(inst, a.Step, child, d.cfg.Now()), child.Ref
			} else if errors.Is(err, errNoAnswer) {
				// The tracker may still create it: recorded, so that
				// the next attempts wait for it (see openChild).
				next = inst.Clone()
				next.Outbox[i].Tried = d.cfg.Now()
				if rerr := flush(next); rerr != nil {
					err = errors.Join(err, rerr)
				}
			}
		default:
			err = d.do(ctx, p, inst, a)
		}
		if err != nil && refused(err) {
			// Refused for certain: counted, so that the core reports it
			// once it keeps happening, and the retries slow down.
			next = next.Clone()
			r := &next.Outbox[i]
			r.Refusals, r.Refused, r.RefusedAt = r.Refusals+1, render.Clip(maxRefused, err.Error()), d.cfg.Now()
			if rerr := flush(next); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		if err != nil {
			inst = next // with the attempt recorded, if one was
			errs = append(errs, fmt.Errorf("%s %s%s on %s: %w", a.Kind, a.Note, a.Step, a.Ticket, err))
			held[ticket] = true
			i++ // stays in the outbox for the next cycle
			continue
		}
		if a.Kind != core.ActOpen {
			d.crash(CrashAfterEffect) // an open has its own: CrashAfterCreate
		}
		next = next.Clone()
		next.Outbox = append(next.Outbox[:i:i], next.Outbox[i+1:]...)
		if a.Digest != "" {
			next.Posted[a.Note] = a.Digest
		}
		done, unrecorded = append(done, d.entry(next, a.Step, on, what)), true
		inst = next
		if a.Kind == core.ActMail {
			// Sent again after a crash unless recorded now: no check
			// can tell that a mail went out.
			if err := flush(inst); err != nil {
				return errors.Join(append(errs, err)...)
			}
		}
	}
	if unrecorded {
		if err := flush(inst); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// target names the tracker an action changes, and the ticket whose
// effects keep their order. Opening a child changes the tracker the step
// is routed to, and waits for no other effect.
func target(p *procedure.Procedure, inst core.Instance, a core.Action) (tracker, ticket string) {
	if a.Kind == core.ActOpen {
		return inst.RouteOf(p, a.Step).Tracker, "open " + a.Step
	}
	return a.Ticket.Tracker, a.Ticket.Key()
}

// openPending reports whether the opening of the step's child was in the
// outbox when the cycle began: an earlier attempt may have created the
// child and stopped, or lost the tracker's answer, before recording it.
func openPending(before core.Instance, step string) bool {
	return slices.ContainsFunc(before.Outbox, func(a core.Action) bool { return a.Kind == core.ActOpen && a.Step == step })
}

// note posts the note at inst.Outbox[i]. Like a child, a note may have
// been posted by an earlier attempt whose answer was lost: before posting,
// procbot records a digest of the exact text, and a later attempt first
// looks for that text on the ticket. there reports a note found on the
// ticket already (a.OnTicket) and so not posted. The returned instance
// carries the recorded attempt, also when posting fails.
//
// The attempt is recorded by flush, together with the effects carried out
// before it that are not recorded yet.
func (d *Daemon) note(ctx context.Context, p *procedure.Procedure, inst core.Instance, i int, flush func(core.Instance) error) (_ core.Instance, there bool, _ error) {
	a := inst.Outbox[i]
	tr := d.trackers[a.Ticket.Tracker]
	if tr == nil {
		return inst, false, fmt.Errorf("tracker %q is not configured", a.Ticket.Tracker)
	}
	body, err := d.cfg.Renderer.Note(p, inst, a, d.cfg.Policy.Operators)
	if err != nil {
		return inst, false, err
	}
	if slices.Contains(a.OnTicket, core.NoteDigest(body)) {
		return inst, true, nil
	}
	if a.Attempt != "" {
		arts, err := tr.Articles(ctx, a.Ticket.ID)
		if err != nil {
			return inst, false, fmt.Errorf("look for the note an earlier attempt may have posted: %w", err)
		}
		for _, art := range arts {
			if core.NoteDigest(art.Body) == a.Attempt {
				return inst, false, nil // it was posted; only the answer was lost
			}
		}
	}
	next := inst.Clone()
	next.Outbox[i].Attempt = core.NoteDigest(body)
	if err := flush(next); err != nil {
		return inst, false, err
	}
	return next, false, tr.AddNote(ctx, a.Ticket.ID, body, a.Public)
}

// openChild opens the child ticket of a step, or, when an earlier attempt
// may have created it (look), finds it by its marker. It returns the child,
// whether it created it (rather than found it), and what was done, for the
// audit log; the caller records it.
func (d *Daemon) openChild(ctx context.Context, p *procedure.Procedure, inst core.Instance, a core.Action, look bool) (_ core.Ticket, created bool, _ string, _ error) {
	id := a.Step
	route := inst.RouteOf(p, id)
	tr := d.trackers[route.Tracker]
	if tr == nil {
		return core.Ticket{}, false, "", fmt.Errorf("tracker %q is not configured", route.Tracker)
	}
	marker := inst.MarkerOf(id)
	title, err := d.cfg.Renderer.ChildTitle(p, inst, id)
	if err != nil {
		return core.Ticket{}, false, "", err
	}
	// Check: an earlier attempt may have created the child and crashed, or
	// lost the tracker's answer, before recording it. The marker in the
	// title finds it: the link to the parent is a separate call after the
	// create, so it may be missing. Zammad answers a condition search from
	// its database and RT's TicketSQL is SQL, so neither lags behind.
	var child core.Ticket
	what := ""
	if look {
		found, err := tr.Changed(ctx, marker, time.Time{})
		if err != nil {
			return core.Ticket{}, false, "", fmt.Errorf("look for an existing child %s: %w", marker, err)
		}
		for _, t := range found {
			if strings.HasPrefix(t.Title, marker) && d.openedByProcbot(t) {
				child, what = t, "adopted existing child"
				break
			}
		}
	}
	if child.Ref.IsZero() && !a.Tried.IsZero() {
		if until := a.Tried.Add(d.cfg.CreateHold); d.cfg.Now().Before(until) {
			return core.Ticket{}, false, "", fmt.Errorf("an attempt at %s to create the child got no answer and may still land; "+
				"no other is created before %s", a.Tried.Format(time.RFC3339), until.Format(time.RFC3339))
		}
	}
	if child.Ref.IsZero() {
		body, err := d.cfg.Renderer.ChildBody(p, inst, id)
		if err != nil {
			return core.Ticket{}, false, "", err
		}
		// No tags: GGUS may refuse tags it does not know yet (Zammad's
		// tag_new setting), and the marker in the title does their job.
		// The unit's own address (the Technology Provider's, the site's)
		// is the customer, or requestor: it is mailed, can answer and can
		// close the child.
		nt := core.NewTicket{Queue: route.Queue, Title: title, Body: body, Customer: inst.CustomerOf(p, id)}
		if inst.Parent.Tracker == route.Tracker {
			nt.Parent = inst.Parent
		} else {
			nt.ParentURL = inst.ParentURL
		}
		// Act. A ticket that was created but could not be linked is not
		// recorded: the next attempt finds it by its marker, adopts and
		// links it, instead of creating another.
		if child, err = tr.Create(ctx, nt); err != nil {
			if !definite(err) {
				err = fmt.Errorf("%w: %w", errNoAnswer, err)
			}
			return core.Ticket{}, false, "", fmt.Errorf("create child in %s %q: %w", route.Tracker, route.Queue, err)
		}
		what, created = "opened child", true
		d.crash(CrashAfterCreate)
	} else if inst.Parent.Tracker == route.Tracker {
		if err := tr.Link(ctx, inst.Parent, child.Ref); err != nil {
			return core.Ticket{}, false, "", fmt.Errorf("link adopted child %s: %w", child.Ref, err)
		}
	}
	what = fmt.Sprintf("%s %s in %s", what, child.Ref, route.Queue)
	if c := inst.CustomerOf(p, id); c != "" {
		what += ", customer " + c
	}
	return child, created, what, nil
}

// maxRefused bounds the refusal kept in the record and shown in the note.
const maxRefused = 400

// errNoAnswer marks a create that ended without the tracker's answer: it
// may have been carried out.
var errNoAnswer = errors.New("no answer from the tracker")

// refused reports whether the tracker refused the effect itself, so that
// trying it again is no use until someone changes rights, routes or
// lifecycles: it is counted, reported and retried slowly. procbot's
// credentials refused (401) are not: that is the tracker, or its
// back-end having a bad moment, not the effect, and every effect on it is
// tried again next cycle.
func refused(err error) bool {
	return definite(err) && !errors.Is(err, core.ErrUnauthorized)
}

// definite reports whether a failed change was refused for certain, so
// that it was not carried out: the tracker answered it with a refusal.
func definite(err error) bool {
	for _, e := range []error{core.ErrInvalid, core.ErrUnauthorized, core.ErrForbidden, core.ErrNotFound} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// do carries out one outbox action.
func (d *Daemon) do(ctx context.Context, p *procedure.Procedure, inst core.Instance, a core.Action) error {
	tr := d.trackers[a.Ticket.Tracker]
	if tr == nil {
		return fmt.Errorf("tracker %q is not configured", a.Ticket.Tracker)
	}
	switch a.Kind {
	case core.ActRelate:
		return tr.Relate(ctx, a.Ticket, a.Other)
	case core.ActMail:
		return d.cfg.Mail.SendAnnouncement(ctx, p, inst)
	case core.ActClose:
		return tr.Close(ctx, a.Ticket.ID)
	}
	return fmt.Errorf("unknown action %q", a.Kind)
}

// record stores the request with its audit entries, in one transaction.
func (d *Daemon) record(inst core.Instance, entries ...core.AuditEntry) error {
	if err := d.cfg.Store.PutInstanceAudit(inst, entries...); err != nil {
		return fmt.Errorf("record %s: %w", inst.Key, err)
	}
	for _, e := range entries {
		d.event(e)
	}
	return nil
}

func (d *Daemon) entry(inst core.Instance, step string, t core.TicketRef, what string) core.AuditEntry {
	return core.AuditEntry{Time: d.cfg.Now(), Instance: inst.Key, Step: step, Tracker: t.Tracker, Ticket: t.ID, What: what}
}

func (d *Daemon) event(e core.AuditEntry) {
	d.cfg.Log.Info().Str("instance", e.Instance).Str("step", e.Step).Str("tracker", e.Tracker).Str("ticket", e.Ticket).Msg(e.What)
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
	for id := range p.InOrder() {
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
