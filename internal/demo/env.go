package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
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
	// Procbot's credentials, for the counts made with its accounts.
	robotGGUSToken, robotRTToken string

	// Tries is how often the people try an action of FileRequest, Post and
	// CloseChild when the tracker fails them (unavailable, or credentials
	// refused by a back-end having a bad moment); 0 or 1: once.
	Tries int
	// Pause is how long they wait before trying again.
	Pause time.Duration
	// OnError, if set, sees every error the people's actions met, retried
	// or not.
	OnError func(error)
}

// Secrets are the credentials of procbot's accounts in the simulators.
// Empty fields keep the demo's.
type Secrets struct {
	GGUSToken string // procbot's GGUS (Zammad) API token
	RTToken   string // procbot's RT auth token, "1-20-<secret>"
	// RTPassword is the password of procbot's RT user. Set without
	// RTToken, procbot logs in to RT with its user name and password.
	RTPassword string
}

// NewEnv starts both simulators on 127.0.0.1. dbPath empty: a temporary
// database, removed by Close.
func NewEnv(dbPath string) (*Env, error) {
	return NewEnvWithSecrets(dbPath, Secrets{})
}

// NewEnvWithSecrets is NewEnv with procbot's credentials chosen by the
// caller; the tests that check that no credential reaches a log use it.
func NewEnvWithSecrets(dbPath string, sec Secrets) (*Env, error) {
	return newEnv(dbPath, sec, nil)
}

// NewEnvAt is NewEnv with both simulators on the given clock, so that a
// caller can let time pass (the benchmark moves past the poll overlap).
func NewEnvAt(dbPath string, now func() time.Time) (*Env, error) {
	return newEnv(dbPath, Secrets{}, now)
}

func newEnv(dbPath string, sec Secrets, now func() time.Time) (*Env, error) {
	procs, err := app.Procedures([]string{"proc19"}, "")
	if err != nil {
		return nil, err
	}
	e := &Env{Proc: procs[0], robotGGUSToken: robotToken, robotRTToken: rtRobotToken}
	if sec.GGUSToken != "" {
		e.robotGGUSToken = sec.GGUSToken
	}
	if sec.RTToken != "" {
		e.robotRTToken = sec.RTToken
	}
	if dbPath == "" {
		if e.tmp, err = os.MkdirTemp("", "procbot-demo-"); err != nil {
			return nil, err
		}
		dbPath = filepath.Join(e.tmp, "procbot.db")
	}
	groups, queues := routes(e.Proc)
	e.GGUS = zammadsim.New(zammadsim.Options{
		Now:    now,
		Groups: append(groups, requestQueue),
		Users: []zammadsim.User{
			{Login: robotLogin, Email: robotLogin, Firstname: "procbot", Token: e.robotGGUSToken, Agent: true, Groups: map[string][]string{"*": {"full"}}},
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
		Now:    now,
		Queues: queues,
		Users:  []rtsim.User{{Name: rtRobot, ID: 20, Token: e.robotRTToken, Password: sec.RTPassword}, {Name: rtUnit, ID: 21, Token: rtUnitToken}},
	})
	if err := e.RT.Start(); err != nil {
		e.Close()
		return nil, fmt.Errorf("start the RT simulator: %w", err)
	}

	cfg := config.Defaults()
	cfg.DBPath = dbPath
	cfg.Operators = []string{operatorLogin}
	cfg.AllowHTTP = true
	cfg.GGUS.URL, cfg.GGUS.Token = e.GGUS.URL(), config.Secret(e.robotGGUSToken)
	cfg.RT.URL, cfg.RT.Token, cfg.RT.User = e.RT.URL(), config.Secret(e.robotRTToken), rtRobot
	if sec.RTPassword != "" && sec.RTToken == "" {
		cfg.RT.Token, cfg.RT.Password = "", config.Secret(sec.RTPassword)
	}
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

// RobotLogin is procbot's login in GGUS.
func (e *Env) RobotLogin() string { return robotLogin }

// FileRequest opens a PROC19 request as the applicant, with or without the
// motivation. When GGUS fails, the applicant first looks whether the
// request was filed after all, then files it again.
func (e *Env) FileRequest(ctx context.Context, product string, withMotivation bool) (core.Ticket, error) {
	title := strings.ReplaceAll(e.Proc.Request.Subject, procedure.ProductPlaceholder, product)
	var t core.Ticket
	err := e.persist(ctx, func() (err error) {
		t, err = e.Applicant.Create(ctx, core.NewTicket{Queue: requestQueue, Title: title, Body: RequestBody(product, withMotivation)})
		return err
	}, func() (bool, error) {
		mine, err := e.Applicant.Changed(ctx, title, time.Time{})
		for _, m := range mine {
			if m.Title == title {
				t = m
				return true, nil
			}
		}
		return false, err
	})
	if err != nil {
		return t, fmt.Errorf("file the request: %w", err)
	}
	return t, nil
}

// Person is what one of the demo's people does on a ticket.
type Person interface {
	AddNote(ctx context.Context, id, body string, public bool) error
	Articles(ctx context.Context, id string) ([]core.Article, error)
}

// Post adds a public note as who. When the tracker fails, who first looks
// whether the note is on the ticket after all, then posts it again.
func (e *Env) Post(ctx context.Context, who Person, id, body string) error {
	return e.persist(ctx, func() error { return who.AddNote(ctx, id, body, true) }, func() (bool, error) {
		arts, err := who.Articles(ctx, id)
		for _, a := range arts {
			if strings.TrimSpace(a.Body) == strings.TrimSpace(body) {
				return true, nil
			}
		}
		return false, err
	})
}

// persist runs a person's action, trying again (up to e.Tries times in
// all) when the tracker was unavailable or refused the credentials for a
// moment. Before each new try, done (if set) says whether the last try
// went through although its answer was lost.
func (e *Env) persist(ctx context.Context, try func() error, done func() (bool, error)) error {
	var err error
	for i := 0; i < max(e.Tries, 1); i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return errors.Join(err, ctx.Err())
			case <-time.After(e.Pause):
			}
			if done != nil {
				ok, derr := done()
				if derr != nil && e.OnError != nil {
					e.OnError(derr)
				}
				if ok {
					return nil
				}
			}
		}
		if err = try(); err == nil {
			return nil
		}
		if e.OnError != nil {
			e.OnError(err)
		}
		if !errors.Is(err, core.ErrUnavailable) && !errors.Is(err, core.ErrUnauthorized) {
			return err
		}
	}
	return err
}

// UnitActor is what a unit does on a child ticket.
type UnitActor interface {
	AddNote(ctx context.Context, id, body string, public bool) error
	SetState(ctx context.Context, id, state string) error
	Get(ctx context.Context, id string) (core.Ticket, error)
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
	return e.setChild(ctx, child, state)
}

// FailChild closes a child as its unit does when the step could not be
// done: GGUS "unsolved", RT "rejected".
func (e *Env) FailChild(ctx context.Context, child core.TicketRef) (string, error) {
	state := "unsolved"
	if child.Tracker == core.TrackerRT {
		state = "rejected"
	}
	return e.setChild(ctx, child, state)
}

func (e *Env) setChild(ctx context.Context, child core.TicketRef, state string) (string, error) {
	if err := e.persist(ctx, func() error { return e.Unit(child.Tracker).SetState(ctx, child.ID, state) }, nil); err != nil {
		return "", fmt.Errorf("close %s: %w", child, err)
	}
	return state, nil
}

// Markers counts, per child marker, the tickets carrying it in both
// trackers, read with procbot's own accounts.
func (e *Env) Markers(ctx context.Context, search string) (map[string]int, error) {
	robotGGUS, _ := zammad.New(zammad.Config{URL: e.GGUS.URL(), Token: e.robotGGUSToken})
	robotRT, _ := rt.New(rt.Config{URL: e.RT.URL(), Token: e.robotRTToken})
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
				out[core.ChildMarker(m.Procedure, core.TicketRef{Tracker: m.Tracker, Number: m.Number}, core.StepLabel(m.Step, m.Attempt))]++
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
%[3]s* type of product: cloud

Best Regards
Jane Doe
`, product, motivation, Prerequisites)
}

// Prerequisites answers the seed's prerequisite questions and functional
// requirements (PROC19's fields beyond the v8 template's data), one
// "* label: value" line each.
const Prerequisites = `* request sent by: Technology Provider
* Resource Centre(s) ready to deploy: CESGA, IFCA-LCG2
* Operations Centre(s) supporting the integration: NGI_IBERGRID
* Technology Provider effort for integration, GGUS support and UMD maintenance: yes
* supports the VO concept: yes
* supported identities: X.509 and Check-in
`

// RTChildren lists the RT tickets whose title starts with prefix.
func (e *Env) RTChildren(ctx context.Context, prefix string) ([]core.Ticket, error) {
	robotRT, _ := rt.New(rt.Config{URL: e.RT.URL(), Token: e.robotRTToken})
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

// OperatorHTMLNote adds a public note to a GGUS ticket as the operator,
// written in HTML as a mail client sends a reply (content type text/html).
func (e *Env) OperatorHTMLNote(ctx context.Context, id, body string) error {
	n, err := strconv.Atoi(id)
	if err != nil {
		return fmt.Errorf("ticket id %q: %w", id, err)
	}
	payload, err := json.Marshal(map[string]any{"ticket_id": n, "body": body, "content_type": "text/html", "type": "email", "internal": false})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.GGUS.URL()+"/ticket_articles", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token token="+operatorToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("post an HTML note on ggus #%s: HTTP %d: %s", id, resp.StatusCode, b)
	}
	return nil
}
