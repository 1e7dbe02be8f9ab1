package app_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/testlog"
	"github.com/procbot/procbot/internal/trackertest"
)

// postsNote matches the GGUS request that posts a note.
func postsNote(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/ticket_articles")
}

// heldWorld is procbot on the demo's world with a complete request filed,
// and a gate in front of GGUS that holds procbot's first note.
type heldWorld struct {
	env    *demo.Env
	gate   *trackertest.Gate
	app    *app.App
	log    *testlog.Buffer
	parent core.Ticket
}

func newHeldWorld(t *testing.T, change func(*config.Config)) *heldWorld {
	t.Helper()
	env, err := demo.NewEnv("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	w := &heldWorld{env: env, log: &testlog.Buffer{}}
	w.gate = trackertest.NewGate(t, env.GGUS.URL(), postsNote)
	if w.parent, err = env.FileRequest(context.Background(), "FooStack", true); err != nil {
		t.Fatal(err)
	}
	cfg := env.Config
	cfg.GGUS.URL = w.gate.URL
	cfg.PollInterval = time.Hour // one cycle, unless a test asks for more
	if change != nil {
		change(&cfg)
	}
	if w.app, err = app.New(context.Background(), cfg, zerolog.New(w.log), app.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.app.Close() })
	return w
}

func (w *heldWorld) run(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() { done <- w.app.Run(ctx) }()
	return done
}

func (w *heldWorld) articles(t *testing.T) int {
	t.Helper()
	arts, err := w.env.Operator.Articles(context.Background(), w.parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(arts)
}

// TestRunFinishesTheCycleThenStops: a stop asked while the cycle waits on
// a tracker lets the cycle finish (its note is posted and recorded), then
// Run returns without starting another.
func TestRunFinishesTheCycleThenStops(t *testing.T) {
	w := newHeldWorld(t, nil)
	ctx, stop := context.WithCancel(context.Background())
	done := w.run(ctx)
	<-w.gate.Held
	stop()
	<-w.log.Written("finishing the cycle under way")
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while its cycle waited on GGUS", err)
	default:
	}
	if !w.gate.Waiting() {
		t.Fatal("the stop cancelled the cycle's request")
	}
	w.gate.Release()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v\n%s", err, w.log.String())
	}
	if n := w.articles(t); n != 2 {
		t.Errorf("%d articles on the request, want the request and procbot's status note", n)
	}
	inst, ok, err := w.app.Store.Instance(core.InstanceKey("PROC19", w.parent.Ref))
	if err != nil || !ok || len(inst.Outbox) != 0 {
		t.Errorf("the cycle's note is not recorded as posted: %+v, %v", inst.Outbox, err)
	}
	if n := strings.Count(w.log.String(), `"procbot stopped"`); n != 1 {
		t.Errorf("%d stop messages:\n%s", n, w.log.String())
	}
}

// TestAbortCutsTheCycleShort: Abort cancels the request the cycle waits
// on, and Run returns ErrAborted.
func TestAbortCutsTheCycleShort(t *testing.T) {
	w := newHeldWorld(t, nil)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := w.run(ctx)
	<-w.gate.Held
	stop() // a first signal: finish the cycle
	w.app.Abort()
	<-w.gate.Cancelled
	if err := <-done; !errors.Is(err, app.ErrAborted) {
		t.Errorf("Run after Abort: %v, want ErrAborted", err)
	}
	if n := w.articles(t); n != 1 {
		t.Errorf("%d articles on the request: the aborted note was posted", n)
	}
}

// TestCycleTimeoutEndsAHangingCycle: a tracker that never answers holds a
// cycle for PROCBOT_CYCLE_TIMEOUT, not longer; the next cycle posts the
// note.
func TestCycleTimeoutEndsAHangingCycle(t *testing.T) {
	w := newHeldWorld(t, func(c *config.Config) { c.CycleTimeout, c.PollInterval = time.Second, time.Second })
	ctx, stop := context.WithCancel(context.Background())
	done := w.run(ctx)
	<-w.gate.Held
	<-w.gate.Cancelled // nobody cancels it but the cycle's deadline
	<-w.log.Written("PROCBOT_CYCLE_TIMEOUT")
	<-w.log.Written("posted status note") // by the next cycle
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := w.articles(t); n != 2 {
		t.Errorf("%d articles on the request, want the request and one status note", n)
	}
}

// stopMargin is what procbot needs after its last cycle to stop: the
// digest run (whose sends stop with the run) and closing the database.
const stopMargin = 15 * time.Second

// TestStopTimeoutsFitTheCycle: systemd and Kubernetes wait for procbot to
// stop longer than a cycle may take, so a stop never kills a cycle.
func TestStopTimeoutsFitTheCycle(t *testing.T) {
	cycle := config.Defaults().CycleTimeout
	for _, f := range []string{"../../deploy/systemd/procbot.env.example", "../../deploy/kubernetes/procbot.yaml"} {
		if m := regexp.MustCompile(`(?m)^\s*PROCBOT_CYCLE_TIMEOUT[=:]\s*"?([0-9a-z]+)`).FindSubmatch(read(t, f)); m != nil {
			d, err := time.ParseDuration(string(m[1]))
			if err != nil {
				t.Fatalf("%s: PROCBOT_CYCLE_TIMEOUT: %v", f, err)
			}
			cycle = max(cycle, d)
		}
	}
	for _, tc := range []struct{ file, pattern string }{
		{"../../deploy/systemd/procbot.service", `(?m)^TimeoutStopSec=(\d+)s?$`},
		{"../../deploy/kubernetes/procbot.yaml", `(?m)^\s*terminationGracePeriodSeconds:\s*(\d+)\s*$`},
	} {
		m := regexp.MustCompile(tc.pattern).FindSubmatch(read(t, tc.file))
		if m == nil {
			t.Errorf("%s sets no stop timeout (%s)", tc.file, tc.pattern)
			continue
		}
		secs, _ := strconv.Atoi(string(m[1]))
		if stop := time.Duration(secs) * time.Second; stop < cycle+stopMargin {
			t.Errorf("%s: the stop timeout %s is shorter than a cycle (%s) and the time to stop after it (%s)", tc.file, stop, cycle, stopMargin)
		}
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
