package app

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
)

// link is a configured tracker and the check that procbot may use it: the
// tracker answers and takes procbot's credentials. A tracker that does not
// answer at start-up does not stop procbot: until its check passes, every
// call to it fails as unavailable, so each cycle counts it as down (and
// the other tracker carries on), and Run checks it again before each cycle.
type link struct {
	tr       daemon.Tracker
	name     string // GGUS or RT, for messages
	url      string
	urlVar   string // the variable that holds the URL
	tokenVar string // the variable that holds the credentials
	// check reaches the tracker; on success it returns procbot's own login
	// there.
	check func(ctx context.Context) (string, error)
	// ready is set once check passed, before the cycle that uses it.
	ready atomic.Bool
	// verify, if set, proves a setting against the tracker (RT's time
	// zone). checked is false when the tracker cannot tell yet; a
	// *settingError means the setting is wrong.
	verify func(ctx context.Context) (checked bool, err error)
	// verified is when verify last proved the setting; zero: not yet.
	// tried is when it last ran, on the clock now.
	verified, tried time.Time
	now             func() time.Time
}

// settingError is a setting the tracker proved wrong: procbot does not use
// the tracker with it.
type settingError struct {
	setting string
	err     error
}

func (e *settingError) Error() string { return e.setting + " is wrong: " + e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }

// reverifyEvery is how often a proven setting is proven again: an admin
// may change RT's zone under a running procbot.
const reverifyEvery = 24 * time.Hour

// retryUnproven is how often a setting the tracker could not prove yet
// (RT shows procbot no ticket) is tried again: not every cycle.
const retryUnproven = 10 * time.Minute

// errNotReached is what a link answers until its tracker was reached.
var errNotReached = fmt.Errorf("not reached since procbot started: %w", core.ErrUnavailable)

// connect runs the link's check and, when it passes, records procbot's
// login in robots. Refused credentials and other answers that waiting
// cannot fix are errors naming the setting to check; an error wrapping
// core.ErrUnavailable means the tracker did not answer.
func (l *link) connect(ctx context.Context, robots map[string]string) error {
	login, err := l.check(ctx)
	var wrong *settingError
	if err == nil {
		err = l.reverify(ctx, l.now())
	}
	switch {
	case err == nil:
		if login != "" {
			robots[l.tr.Name()] = login
		}
		l.ready.Store(true)
		return nil
	case errors.As(err, &wrong):
		return fmt.Errorf("%s at %s: %w", l.name, l.url, err)
	case errors.Is(err, core.ErrUnauthorized), errors.Is(err, core.ErrForbidden):
		return fmt.Errorf("%s at %s refused procbot's credentials: check %s: %w", l.name, l.url, l.tokenVar, err)
	case errors.Is(err, core.ErrUnavailable):
		return fmt.Errorf("%s at %s does not answer: %w", l.name, l.url, err)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("%s at %s does not answer: %w: %w", l.name, l.url, core.ErrUnavailable, err)
	}
	return fmt.Errorf("%s at %s: check %s: %w", l.name, l.url, l.urlVar, err)
}

// reverify runs verify when the setting was not proven yet or not for
// reverifyEvery. Only a *settingError is returned: a tracker that cannot
// answer now is tried again later.
func (l *link) reverify(ctx context.Context, now time.Time) error {
	switch {
	case l.verify == nil:
		return nil
	case !l.verified.IsZero() && now.Sub(l.verified) < reverifyEvery:
		return nil
	case l.verified.IsZero() && !l.tried.IsZero() && now.Sub(l.tried) < retryUnproven:
		return nil
	}
	l.tried = now
	checked, err := l.verify(ctx)
	var wrong *settingError
	if errors.As(err, &wrong) {
		return err
	}
	if err == nil && checked {
		l.verified = now
	}
	return nil
}

// connect checks the trackers not reached yet. It returns the errors of
// those still not usable.
func (a *App) connect(ctx context.Context) error {
	var errs []error
	for _, l := range a.links {
		if l.ready.Load() {
			if err := l.reverify(ctx, l.now()); err != nil {
				// Proven wrong under a running procbot: the tracker is
				// not used until the setting is right.
				l.ready.Store(false)
				a.Log.Error().Err(err).Str("tracker", l.tr.Name()).Msg(l.name + " is not used until the setting is right")
				errs = append(errs, fmt.Errorf("%s at %s: %w", l.name, l.url, err))
			}
			continue
		}
		if err := l.connect(ctx, a.robots); err != nil {
			errs = append(errs, err)
			continue
		}
		a.Log.Info().Str("tracker", l.tr.Name()).Msg(l.name + " answers; procbot uses it from this cycle on")
	}
	return errors.Join(errs...)
}

// Connect checks the trackers that did not answer when procbot started;
// the commands that need every tracker (procbot rebuild) call it first.
func (a *App) Connect(ctx context.Context) error { return a.connect(ctx) }

func (l *link) Name() string { return l.tr.Name() }

func (l *link) Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error) {
	if !l.ready.Load() {
		return nil, errNotReached
	}
	return l.tr.Changed(ctx, match, since)
}

func (l *link) Get(ctx context.Context, id string) (core.Ticket, error) {
	if !l.ready.Load() {
		return core.Ticket{}, errNotReached
	}
	return l.tr.Get(ctx, id)
}

func (l *link) Articles(ctx context.Context, id string) ([]core.Article, error) {
	if !l.ready.Load() {
		return nil, errNotReached
	}
	return l.tr.Articles(ctx, id)
}

func (l *link) ArticlesAfter(ctx context.Context, id string, after int64) ([]core.Article, error) {
	if !l.ready.Load() {
		return nil, errNotReached
	}
	return l.tr.ArticlesAfter(ctx, id, after)
}

func (l *link) Create(ctx context.Context, t core.NewTicket) (core.Ticket, error) {
	if !l.ready.Load() {
		return core.Ticket{}, errNotReached
	}
	return l.tr.Create(ctx, t)
}

func (l *link) AddNote(ctx context.Context, id, body string, public bool) error {
	if !l.ready.Load() {
		return errNotReached
	}
	return l.tr.AddNote(ctx, id, body, public)
}

func (l *link) Close(ctx context.Context, id string) error {
	if !l.ready.Load() {
		return errNotReached
	}
	return l.tr.Close(ctx, id)
}

func (l *link) Link(ctx context.Context, parent, child core.TicketRef) error {
	if !l.ready.Load() {
		return errNotReached
	}
	return l.tr.Link(ctx, parent, child)
}

func (l *link) Relate(ctx context.Context, a, b core.TicketRef) error {
	if !l.ready.Load() {
		return errNotReached
	}
	return l.tr.Relate(ctx, a, b)
}
