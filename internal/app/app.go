// Package app wires procbot's parts from its configuration: procedures,
// templates, the store, the tracker clients and the daemon. The procbot
// command and its demo both start procbot through it.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/render"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/zammad"
	"github.com/procbot/procbot/templates"
)

// App is a wired procbot.
type App struct {
	Config     config.Config
	Procedures []*procedure.Procedure
	Store      *bolt.DB
	Daemon     *daemon.Daemon
	Mail       *daemon.MailRoom
	Log        zerolog.Logger

	// aborted ends when Abort is called: it is the parent of every cycle's
	// context, so a cycle outlives the end of Run's context, not an abort.
	aborted context.Context
	abort   context.CancelFunc
	// links are the trackers; robots procbot's login in each, filled in as
	// each tracker is reached (the daemon's policy holds the same map).
	links  []*link
	robots map[string]string
}

// Options are the parts a caller may set beyond the configuration.
type Options struct {
	Now     func() time.Time
	OnEvent func(core.AuditEntry)
	// Crash is daemon.Config.Crash: only the crash test sets it.
	Crash func(point string)
	// Store, if set, wraps the store the daemon reads and records in; a
	// test counts with it what a cycle reads.
	Store func(daemon.Store) daemon.Store
}

// Logger builds the logger the settings ask for, writing to w.
func Logger(cfg config.Config, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(strings.ToLower(cfg.LogLevel))
	if err != nil || cfg.LogLevel == "" {
		return zerolog.Nop(), fmt.Errorf("PROCBOT_LOG_LEVEL: %q is not one of debug, info, warn, error", cfg.LogLevel)
	}
	switch cfg.LogFormat {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	default:
		return zerolog.Nop(), fmt.Errorf("PROCBOT_LOG_FORMAT: %q is not json or console", cfg.LogFormat)
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}

// Procedures loads the configured procedures (names of embedded ones, or
// paths to YAML files) and applies the route overrides. An override must
// name a unit or step of at least one of them.
func Procedures(names []string, routes string) ([]*procedure.Procedure, error) {
	overrides, err := procedure.ParseRoutes(routes)
	if err != nil {
		return nil, fmt.Errorf("PROCBOT_ROUTES: %w", err)
	}
	var procs []*procedure.Procedure
	used := map[string]bool{}
	for _, name := range names {
		var p *procedure.Procedure
		if strings.ContainsAny(name, `/\`) || strings.HasSuffix(name, ".yaml") {
			p, err = procedure.Load(name)
		} else {
			p, err = procedure.Embedded(name)
		}
		if err != nil {
			return nil, err
		}
		mine := map[string]procedure.Route{}
		for key, r := range overrides {
			_, unit := p.Units[key]
			_, step := p.Step(key)
			if unit || step {
				mine[key], used[key] = r, true
			}
		}
		if err := p.ApplyRoutes(mine); err != nil {
			return nil, fmt.Errorf("PROCBOT_ROUTES: %w", err)
		}
		procs = append(procs, p)
	}
	for key := range overrides {
		if !used[key] {
			return nil, fmt.Errorf("PROCBOT_ROUTES: %q is no unit or step of the configured procedures", key)
		}
	}
	return procs, nil
}

// Renderer parses the built-in texts and the operator's replacements.
func Renderer(dir string) (*render.Renderer, error) {
	if dir == "" {
		return render.New(templates.FS, nil)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("PROCBOT_TEMPLATES_DIR: %w", err)
	}
	return render.New(templates.FS, os.DirFS(dir))
}

// New wires procbot. It checks the trackers' credentials, so a wrong token
// fails start-up naming its setting; a tracker that does not answer does
// not stop procbot: Run tries it again before every cycle.
func New(ctx context.Context, cfg config.Config, log zerolog.Logger, opts Options) (*App, error) {
	procs, err := Procedures(cfg.Procedures, cfg.Routes)
	if err != nil {
		return nil, err
	}
	rnd, err := Renderer(cfg.TemplatesDir)
	if err != nil {
		return nil, err
	}
	policy := core.Policy{
		Operators:     cfg.Operators,
		ApprovalTag:   cfg.ApprovalTag,
		ReminderEvery: cfg.ReminderEvery,
		Terminal:      map[string][]string{},
		Failed:        map[string][]string{},
		Robots:        map[string]string{},
	}
	var links []*link
	if cfg.GGUS.URL != "" {
		c, err := zammad.New(zammad.Config{URL: cfg.GGUS.URL, Token: cfg.GGUS.Token.Reveal(), Timeout: cfg.GGUS.Timeout, Name: core.TrackerGGUS, Log: log, CloseState: cfg.GGUS.CloseState,
			MaxAnswer: int64(cfg.MaxAnswer), MaxArticleAnswer: int64(cfg.MaxArticleAnswer)})
		if err != nil {
			return nil, err
		}
		links = append(links, &link{tr: c, name: "GGUS", url: cfg.GGUS.URL, urlVar: "PROCBOT_GGUS_URL", tokenVar: "PROCBOT_GGUS_TOKEN",
			check: func(ctx context.Context) (string, error) {
				login, _, err := c.Me(ctx)
				return login, err
			}})
		policy.Terminal[core.TrackerGGUS] = cfg.GGUS.Terminal
		policy.Failed[core.TrackerGGUS] = cfg.GGUS.Failed
	}
	if cfg.RT.URL != "" {
		tz, err := time.LoadLocation(cfg.RT.TimeZone)
		if err != nil {
			return nil, fmt.Errorf("PROCBOT_RT_TIMEZONE: %w", err)
		}
		paths, err := cfg.RT.Paths()
		if err != nil {
			return nil, err
		}
		c, err := rt.New(rt.Config{URL: cfg.RT.URL, Token: cfg.RT.Token.Reveal(), User: cfg.RT.User, Password: cfg.RT.Password.Reveal(), Timeout: cfg.RT.Timeout, TimeZone: tz, Name: core.TrackerRT, Log: log, ClosePaths: paths, CloseState: cfg.RT.CloseState,
			MaxAnswer: int64(cfg.MaxAnswer), MaxArticleAnswer: int64(cfg.MaxArticleAnswer)})
		if err != nil {
			return nil, err
		}
		tokenVar := "PROCBOT_RT_TOKEN"
		if cfg.RT.Token == "" {
			tokenVar = "PROCBOT_RT_USER and PROCBOT_RT_PASSWORD"
		}
		links = append(links, &link{tr: c, name: "RT", url: cfg.RT.URL, urlVar: "PROCBOT_RT_URL", tokenVar: tokenVar,
			check: func(ctx context.Context) (string, error) {
				_, err := c.Ping(ctx)
				return cfg.RT.User, err
			},
			verify: func(ctx context.Context) (bool, error) {
				checked, err := c.CheckTimeZone(ctx)
				var ze *rt.ZoneError
				if errors.As(err, &ze) {
					return true, &settingError{setting: "PROCBOT_RT_TIMEZONE",
						err: fmt.Errorf("%w: set it to RT's $Timezone (RT_SiteConfig.pm), a zone at UTC%s", err, rt.OffsetText(ze.Offset))}
				}
				if err == nil && !checked {
					log.Info().Str("tracker", core.TrackerRT).Msg("RT's time zone cannot be checked yet: procbot may see no ticket; it is checked once it may")
				}
				return checked, err
			}})
		policy.Terminal[core.TrackerRT] = cfg.RT.Terminal
		terminal, err := cfg.RT.QueueTerminals()
		if err != nil {
			return nil, err
		}
		policy.Failed[core.TrackerRT] = cfg.RT.Failed
		failed, err := cfg.RT.QueueFailedStates()
		if err != nil {
			return nil, err
		}
		policy.QueueTerminal, policy.QueueFailed = byPlace(core.TrackerRT, terminal), byPlace(core.TrackerRT, failed)
	}
	// A wrong token fails start-up with a clear message instead of every
	// poll; a tracker that does not answer is tried again every cycle.
	var trackers []daemon.Tracker
	for _, l := range links {
		l.now = opts.Now
		if l.now == nil {
			l.now = time.Now
		}
		trackers = append(trackers, l)
		err := l.connect(ctx, policy.Robots)
		switch {
		case err == nil:
		case errors.Is(err, core.ErrUnavailable) && ctx.Err() == nil:
			log.Warn().Err(err).Str("tracker", l.tr.Name()).Msg("a tracker does not answer at start-up; procbot starts and tries it again every cycle")
		default:
			return nil, err
		}
	}
	db, err := bolt.Open(cfg.DBPath, bolt.Options{Timeout: 3 * time.Second})
	if err != nil {
		return nil, err
	}
	// A dry run is enforced here, once: procbot's writes go through
	// wrappers that only log them (dryrun.go).
	var st store = db
	daemonLog := log
	if cfg.DryRun {
		for i, t := range trackers {
			trackers[i] = dryTracker{Tracker: t, log: log}
		}
		st = dryStore{db}
		// The daemon's and the mail room's own lines tell what they
		// recorded ("posted", "sent"), and a dry run records nothing: the
		// wrappers' "would ..." lines say what it did.
		daemonLog = log.Level(max(log.GetLevel(), zerolog.WarnLevel))
	}
	mailRoom, err := MailRoom(cfg, st, procs, daemonLog, opts.Now)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if cfg.DryRun && mailRoom.Mailer != nil {
		mailRoom.Mailer = dryMailer{log: log}
	}
	var dst daemon.Store = st
	if opts.Store != nil {
		dst = opts.Store(dst)
	}
	d, err := daemon.New(daemon.Config{
		Procedures: procs, Trackers: trackers, Store: dst, Renderer: rnd.WithOutcomes(policy.Outcomes), Policy: policy,
		Overlap: cfg.PollOverlap, CreateHold: 2 * max(cfg.GGUS.Timeout, cfg.RT.Timeout),
		Now: opts.Now, Log: daemonLog, OnEvent: opts.OnEvent, Crash: opts.Crash, Mail: mailRoom,
	})
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	aborted, abort := context.WithCancel(context.Background())
	return &App{Config: cfg, Procedures: procs, Store: db, Daemon: d, Mail: mailRoom, Log: log, aborted: aborted, abort: abort,
		links: links, robots: policy.Robots}, nil
}

// Close releases the database.
func (a *App) Close() error {
	a.abort()
	return a.Store.Close()
}

// byPlace keys lists by queue of one tracker.
func byPlace(tracker string, byQueue map[string][]string) map[core.Place][]string {
	out := make(map[core.Place][]string, len(byQueue))
	for q, states := range byQueue {
		out[core.Place{Tracker: tracker, Queue: q}] = states
	}
	return out
}
