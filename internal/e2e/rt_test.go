package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/rt"
)

// realRT returns the settings of the real RT started by
// deploy/dev/rt/start-rt.sh. In CI a missing or silent RT fails the test;
// elsewhere the test says it skipped and why.
func realRT(t *testing.T) (url, token string, tz *time.Location) {
	t.Helper()
	unavailable := func(why string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but the real RT is unavailable: %s (.ci/run starts it with deploy/dev/rt/start-rt.sh)", why)
		}
		t.Skipf("skipped the real RT: %s; start one with deploy/dev/rt/start-rt.sh and source its output", why)
	}
	url, token = os.Getenv("RT_REST2_URL"), os.Getenv("RT_TOKEN")
	if url == "" || token == "" {
		unavailable("RT_REST2_URL or RT_TOKEN is not set")
	}
	tz = time.UTC
	if name := os.Getenv("RT_TIMEZONE"); name != "" {
		var err error
		if tz, err = time.LoadLocation(name); err != nil {
			t.Fatalf("RT_TIMEZONE: %v", err)
		}
	}
	c, err := rt.New(rt.Config{URL: url, Token: token, TimeZone: tz})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		unavailable(fmt.Sprintf("%s does not answer: %v", url, err))
	}
	return url, token, tz
}

// procbotInRT builds procbot on the RT of w with PROC19 wholly in RT: the
// children of every unit not routed to RT already (UMD provisioning, to
// sw-rel) go to the PROC19 queue, or those of every unit to w.queue.
// procbot is closed when the test ends.
func procbotInRT(t *testing.T, w rtWorld, opts app.Options) (*procedure.Procedure, *app.App) {
	t.Helper()
	p, cfg := rtConfig(t, w)
	a, err := app.New(context.Background(), cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return p, a
}

// rtConfig is procbot's configuration for procbotInRT.
func rtConfig(t *testing.T, w rtWorld) (*procedure.Procedure, config.Config) {
	t.Helper()
	procs, err := app.Procedures([]string{"proc19"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := procs[0]
	user, queue := w.user, w.queue
	if user == "" {
		user = "root"
	}
	var routes []string
	for key, u := range p.Units {
		switch {
		case queue != "":
			routes = append(routes, key+"=rt:"+queue)
		case u.Route.Tracker != core.TrackerRT:
			routes = append(routes, key+"=rt:PROC19")
		}
	}
	if queue != "" {
		// Steps with a route of their own (7d, to sw-rel) too.
		for _, s := range p.Steps {
			if r := p.RouteOf(s.ID); (s.Kind == "" || s.Kind == procedure.KindTask) && (r.Tracker != core.TrackerRT || r.Queue != queue) {
				routes = append(routes, s.ID+"=rt:"+queue)
			}
		}
	}
	if w.lifecycle != "" {
		umd := []string{"umd-rep"}
		for _, s := range p.Steps {
			if s.Unit == "umd-rep" { // 7b and 7d
				umd = append(umd, s.ID)
			}
		}
		routes = slices.DeleteFunc(routes, func(r string) bool {
			key, _, _ := strings.Cut(r, "=")
			return slices.Contains(umd, key)
		})
		for _, key := range umd {
			routes = append(routes, key+"=rt:"+w.lifecycle)
		}
	}
	sort.Strings(routes)
	cfg := config.Defaults()
	cfg.DBPath = filepath.Join(t.TempDir(), "procbot.db")
	cfg.AllowHTTP = true
	cfg.Operators = []string{"operator"}
	cfg.Routes = strings.Join(routes, ";")
	cfg.RT.URL, cfg.RT.Token, cfg.RT.User, cfg.RT.TimeZone = w.url, config.Secret(w.token), user, w.tz.String()
	if w.lifecycle != "" {
		cfg.RT.ClosePaths = w.lifecycle + "=accepted>in progress>resolved"
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return p, cfg
}

// fileRequest has applicant file a complete PROC19 request for product
// in RT's General queue.
func fileRequest(t *testing.T, applicant *rt.Client, p *procedure.Procedure, product string) core.Ticket {
	t.Helper()
	title := strings.ReplaceAll(p.Request.Subject, "{product}", product)
	parent, err := applicant.Create(context.Background(), core.NewTicket{Queue: "General", Title: title, Body: demo.RequestBody(product, true)})
	if err != nil {
		t.Fatal(err)
	}
	return parent
}

// cycler returns a function that runs one cycle of a and returns the
// request parent as procbot recorded it.
func cycler(t *testing.T, a *app.App, p *procedure.Procedure, parent core.Ticket) func() core.Instance {
	key := core.InstanceKey(p.ID, parent.Ref)
	return func() core.Instance {
		t.Helper()
		if err := a.Daemon.Cycle(context.Background()); err != nil {
			t.Fatal(err)
		}
		inst, ok, err := a.Store.Instance(key)
		if err != nil || !ok {
			t.Fatalf("request %s not recorded (%v)", parent.Ref, err)
		}
		return inst
	}
}

func as(t *testing.T, url, user string, tz *time.Location) *rt.Client {
	t.Helper()
	c, err := rt.New(rt.Config{URL: url, User: user, Password: user + "-password", TimeZone: tz})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPROC19InRealRT runs a whole PROC19 whose request is an RT ticket and
// whose children go to RT queues, against a real RT 5.
func TestPROC19InRealRT(t *testing.T) {
	url, token, tz := realRT(t)
	ctx := context.Background()

	var events []string
	p, a := procbotInRT(t, rtWorld{url: url, token: token, tz: tz}, app.Options{OnEvent: func(e core.AuditEntry) {
		events = append(events, e.Step+" "+e.What)
	}})
	applicant, operator, unit := as(t, url, "applicant", tz), as(t, url, "operator", tz), as(t, url, "unit", tz)

	product := fmt.Sprintf("RTStack%d", time.Now().UnixNano()%1e9)
	parent := fileRequest(t, applicant, p, product)
	start := time.Now()
	cycle := cycler(t, a, p, parent)
	inst := cycle()
	if inst.Phase != core.PhaseAwaitingApproval {
		t.Fatalf("request is %s, want awaiting-approval (missing: %v)", inst.Phase, inst.Missing)
	}
	// The applicant cannot approve; the operator can.
	if err := applicant.AddNote(ctx, parent.Ref.ID, "/approve", false); err != nil {
		t.Fatal(err)
	}
	if inst = cycle(); inst.Phase != core.PhaseAwaitingApproval {
		t.Fatalf("approved by the applicant: %s", inst.Phase)
	}
	if err := operator.AddNote(ctx, parent.Ref.ID, "OMB approved.\n/approve", false); err != nil {
		t.Fatal(err)
	}

	closed := map[string]bool{}
	rounds := 0
	for ; inst.Pending() && rounds < 40; rounds++ {
		inst = cycle()
		for _, id := range p.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			if id == "10" {
				if err := unit.AddNote(ctx, st.Child.ID, "/na e-GRANT was retired", false); err != nil {
					t.Fatal(err)
				}
			}
			if err := unit.SetState(ctx, st.Child.ID, "resolved"); err != nil {
				t.Fatal(err)
			}
			closed[st.Child.Key()] = true
		}
	}
	t.Logf("PROC19 in real RT: %s after %d polls in %s", inst.Phase, rounds+2, time.Since(start).Round(time.Millisecond))
	if inst.Phase != core.PhaseCompleted {
		t.Fatalf("request is %s after %d polls\n%s", inst.Phase, rounds, strings.Join(events, "\n"))
	}

	// RT holds exactly one child per task step, each a child of the request
	// or (sw-rel) in its queue; the request is resolved.
	robot, err := rt.New(rt.Config{URL: url, Token: token, TimeZone: tz})
	if err != nil {
		t.Fatal(err)
	}
	prefix := core.ChildMarker(p.ID, parent.Ref, "")
	prefix = prefix[:len(prefix)-1] // "[PROC19 rt#N " : every step of this request
	found, err := robot.Changed(ctx, prefix, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	perStep := map[string]int{}
	for _, tk := range found {
		if m, ok := core.ParseMarker(tk.Title); ok && strings.HasPrefix(tk.Title, prefix) {
			perStep[m.Step]++
		}
	}
	tasks := 0
	for _, s := range p.Steps {
		if s.Kind != "task" {
			continue
		}
		tasks++
		if perStep[s.ID] != 1 {
			t.Errorf("step %s has %d children in RT, want 1", s.ID, perStep[s.ID])
		}
	}
	children, err := robot.Children(ctx, parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != tasks {
		t.Errorf("the request has %d children linked in RT, want %d", len(children), tasks)
	}
	got, err := robot.Get(ctx, parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != "resolved" {
		t.Errorf("request state %q, want resolved", got.State)
	}
	arts, err := robot.Articles(ctx, parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	var unauthorised, announced bool
	for _, art := range arts {
		unauthorised = unauthorised || strings.Contains(art.Body, "only these EGI Operations")
		announced = announced || strings.Contains(art.Body, "Announcement: "+product+" is integrated")
	}
	if !unauthorised || !announced {
		t.Errorf("notes on the request: refusal of the applicant's /approve %v, announcement %v", unauthorised, announced)
	}
}
