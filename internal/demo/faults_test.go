package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/rt/rtsim"
	"github.com/procbot/procbot/internal/testlog"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// faultRun is one run of the demo's procedure with tracker faults.
type faultRun struct {
	Seed    uint64
	Secrets Secrets
	// Extra401 adds refused credentials (401) to the usual 500, 502, 503,
	// 429, dropped connections and slow answers.
	Extra401 bool
	// Outages takes RT down completely for the two polls after approval.
	Outages bool
	// Settings changes procbot's settings before it starts.
	Settings func(*config.Config)
}

// faultResult is what a faultRun left behind.
type faultResult struct {
	env       *Env
	inst      core.Instance
	rounds    int
	ggus, rt  int              // faults injected
	markers   map[string]int   // child tickets per marker, as the trackers hold them
	log       []byte           // procbot's whole log, zerolog JSON at debug level
	errs      []error          // every error procbot's cycle or the people met
	failed    map[string][]int // failed_cycles logged per tracker
	recovered map[string]bool  // "tracker answers again" logged
	notes     map[string]int   // procbot's notes in GGUS, by ticket and text
	// openedInOutage counts, per tracker, the children opened by the end
	// of RT's outage.
	openedInOutage map[string]int
	took           time.Duration
}

// runWithFaults runs the demo's PROC19 with 20 % of the requests to both
// simulators failing: procbot polls, the applicant, the operator and the
// units act after each poll and, like people, try again what failed.
func runWithFaults(t *testing.T, fr faultRun) faultResult {
	t.Helper()
	start := time.Now()
	ctx := context.Background()
	env, err := NewEnvWithSecrets(filepath.Join(t.TempDir(), "procbot.db"), fr.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	res := faultResult{env: env, failed: map[string][]int{}, recovered: map[string]bool{}, notes: map[string]int{}, openedInOutage: map[string]int{}}
	var errMu sync.Mutex
	addErr := func(err error) {
		errMu.Lock()
		res.errs = append(res.errs, err)
		errMu.Unlock()
	}
	env.Tries, env.Pause, env.OnError = 5, 20*time.Millisecond, addErr

	cfg := env.Config
	cfg.LogLevel, cfg.LogFormat = "debug", "json"
	// GGUS answers slowly within procbot's timeout; RT's slow answers time
	// out, and procbot's reads of RT are tried again.
	cfg.GGUS.Timeout, cfg.RT.Timeout = time.Second, 150*time.Millisecond
	if fr.Settings != nil {
		fr.Settings(&cfg)
	}
	var logs testlog.Buffer
	log, err := app.Logger(cfg, &logs)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, cfg, log, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	// Kinds are drawn uniformly: every kind twice but 429, whose
	// Retry-After of a second procbot honours on each read it hits, which
	// would make the test slow, not harder.
	ggusKinds := []zammadsim.FaultKind{zammadsim.Fault429}
	rtKinds := []rtsim.FaultKind{rtsim.Fault429}
	for range 2 {
		ggusKinds = append(ggusKinds, zammadsim.Fault500, zammadsim.Fault502, zammadsim.Fault503, zammadsim.FaultDrop, zammadsim.FaultSlow)
		rtKinds = append(rtKinds, rtsim.Fault500, rtsim.Fault502, rtsim.Fault503, rtsim.FaultDrop, rtsim.FaultSlow)
	}
	if fr.Extra401 {
		ggusKinds = append(ggusKinds, zammadsim.Fault401, zammadsim.Fault401)
		rtKinds = append(rtKinds, rtsim.Fault401, rtsim.Fault401)
	}
	// A third of the failed changes are carried out before their answer
	// is lost: the ticket is created, the note posted, and nobody hears.
	twenty := func(seed uint64) {
		env.GGUS.SetFaults(zammadsim.Faults{Rate: 0.2, Kinds: ggusKinds, Seed: seed, SlowDelay: 50 * time.Millisecond, RetryAfter: 1, AfterRate: 1.0 / 3})
		env.RT.SetFaults(rtsim.Faults{Rate: 0.2, Kinds: rtKinds, Seed: seed + 1, Delay: 300 * time.Millisecond, RetryAfter: 1, AfterRate: 1.0 / 3})
	}
	twenty(fr.Seed)

	p := env.Proc
	parent, err := env.FileRequest(ctx, "FooStack", false)
	if err != nil {
		t.Fatalf("file the request: %v", err)
	}
	key := core.InstanceKey(p.ID, parent.Ref)
	cycle := func() core.Instance {
		res.rounds++
		if err := a.Daemon.Cycle(ctx); err != nil {
			addErr(err)
			t.Fatalf("round %d: procbot's cycle failed: %v", res.rounds, err)
		}
		inst, _, err := a.Store.Instance(key)
		if err != nil {
			t.Fatal(err)
		}
		return inst
	}

	// People's actions that failed even after a few tries are taken up
	// again after the next poll.
	motivated, approved, rtDown := false, false, 0
	closed := map[string]bool{}
	var inst core.Instance
	for res.rounds < 80 {
		inst = cycle()
		if rtDown > 0 {
			if rtDown--; rtDown == 0 {
				twenty(fr.Seed + 10)
				for id, st := range inst.Steps {
					if !st.Child.IsZero() {
						res.openedInOutage[p.RouteOf(id).Tracker]++
					}
				}
			}
		}
		if !inst.Pending() && inst.Key != "" {
			break
		}
		if inst.Key == "" {
			continue // not picked up yet: GGUS failed the poll
		}
		if !motivated {
			motivated = env.Post(ctx, env.Applicant, parent.Ref.ID, "Sorry, here it is:\n* motivation: three user communities of the EGI Federation asked for it.\n") == nil
			continue
		}
		if !approved {
			approved = env.Post(ctx, env.Operator, parent.Ref.ID, "The OMB approved the integration on its last meeting.\n/approve\n") == nil
			if approved && fr.Outages {
				// RT goes down for the two polls that open the children.
				env.RT.SetFaults(rtsim.Faults{Rate: 1, Kinds: []rtsim.FaultKind{rtsim.Fault503, rtsim.FaultDrop, rtsim.Fault502}, Seed: fr.Seed})
				rtDown = 2
			}
			continue
		}
		for _, id := range p.Order() {
			st := inst.Steps[id]
			if st.Status != core.StepOpen || closed[st.Child.Key()] {
				continue
			}
			if id == "10" {
				unit := env.Unit(st.Child.Tracker).(Person)
				if err := env.Post(ctx, unit, st.Child.ID, "/na e-GRANT was retired; access goes through the EGI Marketplace, nothing to add."); err != nil {
					continue
				}
			}
			if _, err := env.CloseChild(ctx, st.Child); err == nil {
				closed[st.Child.Key()] = true
			}
		}
	}
	res.inst = inst
	res.ggus, res.rt = env.GGUS.FaultsInjected(), env.RT.FaultCount()

	// Count what the trackers hold with the faults off.
	env.GGUS.SetFaults(zammadsim.Faults{})
	env.RT.SetFaults(rtsim.Faults{})
	if res.markers, err = env.Markers(ctx, p.Request.Search); err != nil {
		t.Fatal(err)
	}
	res.notes = robotNotes(env)

	res.log = logs.Bytes()
	sc := bufio.NewScanner(bytes.NewReader(res.log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var line struct {
			Message string `json:"message"`
			Tracker string `json:"tracker"`
			Failed  int    `json:"failed_cycles"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			t.Errorf("log line is not JSON: %s", sc.Text())
			continue
		}
		switch {
		case strings.HasPrefix(line.Message, "tracker failed"):
			res.failed[line.Tracker] = append(res.failed[line.Tracker], line.Failed)
		case strings.HasPrefix(line.Message, "tracker answers again"):
			res.recovered[line.Tracker] = true
		}
	}
	res.took = time.Since(start)
	return res
}

// checkCompleted asserts that the request completed with exactly one child
// per applicable step, and returns the duplicates and lost steps.
func checkCompleted(t *testing.T, res faultResult) (duplicates, lost int) {
	t.Helper()
	p := res.env.Proc
	if res.inst.Phase != core.PhaseCompleted || len(res.inst.Outbox) > 0 {
		t.Errorf("after %d polls the request is %s with %d actions left", res.rounds, res.inst.Phase, len(res.inst.Outbox))
	}
	for _, s := range p.Steps {
		if s.Kind != procedure.KindTask {
			continue
		}
		m := core.ChildMarker(p.ID, res.inst.Parent, s.ID)
		switch n := res.markers[m]; {
		case n == 0:
			lost++
			t.Errorf("step %s has no child ticket", s.ID)
		case n > 1:
			duplicates++
			t.Errorf("step %s has %d child tickets", s.ID, n)
		}
		if st := res.inst.Steps[s.ID]; !st.Status.Complete() {
			t.Errorf("step %s is %s", s.ID, st.Status)
		}
	}
	return duplicates, lost
}

func faultSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano() % 1e6)
	if s, err := strconv.ParseUint(os.Getenv("PROCBOTTEST_FAULT_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("seed %d (PROCBOTTEST_FAULT_SEED reproduces the faults)", seed)
	return seed
}

// TestDemoWithTrackerFaults runs the demo's procedure with 20 % of the
// requests to both trackers failing in every way the simulators know (500,
// 502, 503, 429 with Retry-After, dropped connections, slow answers that
// time out, changes carried out whose answer is lost), and RT down for the
// two polls that open the children. The procedure completes, with no duplicate, no
// lost step and no note posted twice; procbot's log names the tracker that failed and how often.
func TestDemoWithTrackerFaults(t *testing.T) {
	t.Parallel()
	res := runWithFaults(t, faultRun{Seed: faultSeed(t), Outages: true})
	duplicates, lost := checkCompleted(t, res)
	repeated := 0
	for body, n := range res.notes {
		if n > 1 {
			repeated += n - 1
			t.Errorf("procbot's note posted %d times: %.60q", n, body)
		}
	}
	fmt.Printf("faults: ggus=%d rt=%d injected, duplicates=%d lost=%d (polls=%d, repeated notes=%d, %.1fs)\n",
		res.ggus, res.rt, duplicates, lost, res.rounds, repeated, res.took.Seconds())
	if res.ggus == 0 || res.rt == 0 {
		t.Errorf("faults injected: ggus %d, rt %d; want both", res.ggus, res.rt)
	}
	// RT was down for the two polls that opened the children: GGUS's were
	// opened all the same, and the log says that RT failed, how many polls
	// in a row, and that it came back.
	if res.openedInOutage["ggus"] == 0 || res.openedInOutage["rt"] != 0 {
		t.Errorf("children opened by the end of RT's outage: %v, want some in GGUS and none in RT", res.openedInOutage)
	}
	if got := res.failed["rt"]; !contains(got, 1) || !contains(got, 2) {
		t.Errorf("log: rt failed_cycles %v, want 1 then 2", got)
	}
	if !res.recovered["rt"] {
		t.Errorf("log: no %q for rt", "tracker answers again")
	}
	t.Logf("tracker failures logged: %v", res.failed)
}

func contains(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}
