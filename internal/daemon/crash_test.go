package daemon_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/demo"
)

// TestCrashRecovery runs a whole PROC19 with procbot in a child process
// that is killed with SIGKILL again and again: at random moments, and at
// the points where a crash hurts most (a decision recorded but not carried
// out, a child created but not recorded, a note posted but not recorded).
// The simulated trackers live in this process and survive every kill. At
// the end every applicable step must have exactly one child ticket.
//
// PROCBOTTEST_CRASH_KILLS sets how many kills (default 50), PROCBOTTEST_CRASH_SEED
// the random seed (default: the time, printed).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test runs a procedure many times over")
	}
	want := envInt("PROCBOTTEST_CRASH_KILLS", 50)
	seed := uint64(envInt("PROCBOTTEST_CRASH_SEED", int(time.Now().UnixNano()%1e9)))
	rng := rand.New(rand.NewPCG(seed, 19))
	t.Logf("seed %d (PROCBOTTEST_CRASH_SEED reproduces the kill points)", seed)

	env, err := demo.NewEnv(filepath.Join(t.TempDir(), "procbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := context.Background()

	// Five requests, filed one after another, keep procbot busy through
	// every kill; units close only some of the open children each round.
	const requests = 5
	var parents []core.Ticket
	points := []string{daemon.CrashAfterIntent, daemon.CrashAfterCreate, daemon.CrashAfterEffect}
	kills, done := 0, false
	atPoint := map[string]int{}
	for round := 0; round < 600 && (kills < want || !done); round++ {
		if len(parents) < requests && round%6 == 0 {
			p, err := env.FileRequest(ctx, fmt.Sprintf("Stack%d", len(parents)+1), true)
			if err != nil {
				t.Fatal(err)
			}
			if err := env.Operator.AddNote(ctx, p.Ref.ID, "/approve", true); err != nil {
				t.Fatal(err)
			}
			parents = append(parents, p)
		}
		point, nth := "", 0
		after := time.Duration(5+rng.IntN(150)) * time.Millisecond
		if round%2 == 0 {
			// It kills itself at the point; if the point does not come
			// within after, this is a kill at a random moment like the
			// others. The child says which it was.
			point, nth, after = points[rng.IntN(len(points))], 1+rng.IntN(3), 400*time.Millisecond
		}
		res, err := runCrashChild(env, point, nth, after)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if res.killed {
			kills++
			if res.atPoint != "" {
				atPoint[res.atPoint]++
			}
		}
		done = closeChildren(t, env, parents, rng) && len(parents) == requests
	}
	// Last, procbot runs undisturbed until it has nothing left to do.
	for i := 0; i < 30 && !done; i++ {
		if _, err := runCrashChild(env, "", 0, 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		done = closeChildren(t, env, parents, nil)
	}

	markers, err := env.Markers(ctx, "PROC19")
	if err != nil {
		t.Fatal(err)
	}
	duplicates, lost := 0, 0
	for m, n := range markers {
		if n > 1 {
			duplicates++
			t.Errorf("%s exists %d times", m, n)
		}
	}
	for _, parent := range parents {
		for _, s := range env.Proc.Steps {
			if s.Kind == "task" && markers[core.ChildMarker("PROC19", parent.Ref, s.ID)] == 0 {
				lost++
				t.Errorf("%s step %s has no child ticket", parent.Ref, s.ID)
			}
		}
	}
	if !done {
		t.Errorf("the requests were not all completed")
	}
	// Notes too reach the people once: one announcement per request.
	for _, parent := range parents {
		n := 0
		for _, a := range env.GGUS.Articles(mustAtoi(t, parent.Ref.ID)) {
			if strings.HasPrefix(a.Body, "Announcement: ") {
				n++
			}
		}
		if n != 1 {
			duplicates++
			t.Errorf("%s carries the announcement %d times, want once", parent.Ref, n)
		}
	}
	t.Logf("kills at crash points: %v; the others at random moments", atPoint)
	fmt.Printf("kills=%d duplicates=%d lost=%d\n", kills, duplicates, lost)
	if kills < want {
		t.Errorf("only %d kills, want %d", kills, want)
	}
	if atPoint[daemon.CrashAfterCreate] == 0 {
		t.Errorf("no kill between creating a child and recording it")
	}
}

// closeChildren closes open children of the requests, as units would: each
// with probability one half when rng is set, else all. It reports whether
// procbot has closed every request.
func closeChildren(t *testing.T, env *demo.Env, parents []core.Ticket, rng *rand.Rand) bool {
	t.Helper()
	ctx := context.Background()
	all := true
	for _, parent := range parents {
		prefix := strings.TrimSuffix(core.ChildMarker("PROC19", parent.Ref, ""), "]")
		var open []core.TicketRef
		for _, tk := range env.GGUS.Tickets() {
			if strings.HasPrefix(tk.Title, prefix) && !terminal(tk.State) {
				open = append(open, core.TicketRef{Tracker: "ggus", ID: strconv.Itoa(tk.ID)})
			}
		}
		rtTickets, err := env.RTChildren(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range rtTickets {
			if !terminal(tk.State) {
				open = append(open, tk.Ref)
			}
		}
		for _, ref := range open {
			if rng == nil || rng.IntN(2) == 0 {
				if _, err := env.CloseChild(ctx, ref); err != nil {
					t.Fatal(err)
				}
			}
		}
		id, _ := strconv.Atoi(parent.Ref.ID)
		p, _ := env.GGUS.Ticket(id)
		all = all && p.State == "closed"
	}
	return all
}

func terminal(state string) bool {
	switch state {
	case "solved", "closed", "resolved", "unsolved", "verified", "rejected":
		return true
	}
	return false
}

// crashMark is the line the child writes just before it kills itself at
// a crash point, followed by the point.
const crashMark = "procbot crash test: killed at "

// crashResult is how a crash child ended: killed by SIGKILL or not, and
// the crash point it killed itself at, if it did.
type crashResult struct {
	killed  bool
	atPoint string
}

// runCrashChild runs procbot in a child process until it crashes at the
// nth time it reaches point, or until after has passed (then it is
// killed).
func runCrashChild(env *demo.Env, point string, nth int, after time.Duration) (res crashResult, err error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cfg := env.Config
	cmd.Env = append(os.Environ(),
		"PROCBOTTEST_CRASH_CHILD=1",
		"PROCBOTTEST_CRASH_POINT="+point, "PROCBOTTEST_CRASH_NTH="+strconv.Itoa(nth),
		"PROCBOT_DB_PATH="+cfg.DBPath,
		"PROCBOT_GGUS_URL="+cfg.GGUS.URL, "PROCBOT_GGUS_TOKEN="+cfg.GGUS.Token.Reveal(),
		"PROCBOT_RT_URL="+cfg.RT.URL, "PROCBOT_RT_TOKEN="+cfg.RT.Token.Reveal(), "PROCBOT_RT_USER="+cfg.RT.User,
		"PROCBOT_OPERATORS="+strings.Join(cfg.Operators, ","), "PROCBOT_ALLOW_HTTP=true",
	)
	var out, marks strings.Builder
	cmd.Stdout, cmd.Stderr = &marks, &out
	if err := cmd.Start(); err != nil {
		return res, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err = <-exited:
	case <-time.After(after):
		cmd.Process.Signal(syscall.SIGKILL)
		err = <-exited
	}
	// Wait has copied all the child wrote: a mark is there if the child
	// reached its crash point, whoever's kill came first.
	for _, l := range strings.Split(marks.String(), "\n") {
		if p, ok := strings.CutPrefix(l, crashMark); ok {
			res.atPoint = p
		}
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		res.killed = true
		return res, nil
	}
	return res, fmt.Errorf("procbot child ended without being killed: %v\n%s%s", err, marks.String(), out.String())
}

// TestCrashChild is procbot in the crash test's child process.
func TestCrashChild(t *testing.T) {
	if os.Getenv("PROCBOTTEST_CRASH_CHILD") != "1" {
		t.Skip("only runs as TestCrashRecovery's child process")
	}
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	point, nth := os.Getenv("PROCBOTTEST_CRASH_POINT"), envInt("PROCBOTTEST_CRASH_NTH", 0)
	seen := 0
	a, err := app.New(context.Background(), cfg, zerolog.New(os.Stderr).Level(zerolog.ErrorLevel), app.Options{Crash: func(p string) {
		if p == point {
			if seen++; seen == nth {
				// Unbuffered: the line is in the pipe before the kill.
				fmt.Fprintln(os.Stdout, crashMark+p)
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	a.Config.PollInterval = 5 * time.Millisecond
	a.Run(context.Background()) // until killed
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
