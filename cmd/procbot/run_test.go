package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/testlog"
)

// TestMain lets the tests run procbot itself as a child process: with
// PROCBOTTEST_MAIN set, the test binary is procbot.
func TestMain(m *testing.M) {
	if os.Getenv("PROCBOTTEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// procbot starts `procbot run` on the demo world's settings.
func procbot(t *testing.T, env *demo.Env, out *testlog.Buffer) *exec.Cmd {
	t.Helper()
	return procbotAt(t, env, env.Config.GGUS.URL, out)
}

// procbotAt is procbot with GGUS at ggusURL.
func procbotAt(t *testing.T, env *demo.Env, ggusURL string, out *testlog.Buffer) *exec.Cmd {
	t.Helper()
	cfg := env.Config
	cmd := exec.Command(os.Args[0], "run")
	cmd.Env = append(procbotEnv(env, cfg.DBPath, ggusURL), "PROCBOT_POLL_INTERVAL=1s")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// procbotEnv is the environment of a procbot process on the demo world's
// trackers, with GGUS at ggusURL, and the given database.
func procbotEnv(env *demo.Env, dbPath, ggusURL string) []string {
	cfg := env.Config
	return append(os.Environ(), "PROCBOTTEST_MAIN=1",
		"PROCBOT_DB_PATH="+dbPath, "PROCBOT_LOG_FORMAT=json",
		"PROCBOT_GGUS_URL="+ggusURL, "PROCBOT_GGUS_TOKEN="+cfg.GGUS.Token.Reveal(),
		"PROCBOT_RT_URL="+cfg.RT.URL, "PROCBOT_RT_TOKEN="+cfg.RT.Token.Reveal(), "PROCBOT_RT_USER="+cfg.RT.User,
		"PROCBOT_OPERATORS="+strings.Join(cfg.Operators, ","), "PROCBOT_ALLOW_HTTP=true")
}

// TestRunStopsOnSIGTERM: procbot run works a request, and on SIGTERM
// finishes its cycle and exits 0. A second procbot on the same database
// fails at once, naming the database and the holder.
func TestRunStopsOnSIGTERM(t *testing.T) {
	env, err := demo.NewEnv(filepath.Join(t.TempDir(), "procbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	ctx := context.Background()
	parent, err := env.FileRequest(ctx, "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	var out testlog.Buffer
	cmd := procbot(t, env, &out)
	defer cmd.Process.Kill()

	// procbot answers the request with its status note.
	answered := false
	for i := 0; i < 500 && !answered; i++ {
		arts, err := env.Operator.Articles(ctx, parent.Ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		answered = len(arts) > 1
		time.Sleep(10 * time.Millisecond)
	}
	if !answered {
		t.Fatalf("procbot run did not answer the request:\n%s", out.String())
	}

	var second testlog.Buffer
	other := procbot(t, env, &second)
	if err := other.Wait(); err == nil {
		t.Errorf("a second procbot on the same database started")
	}
	if msg := second.String(); !strings.Contains(msg, env.Config.DBPath) || !strings.Contains(msg, "held by another procbot") {
		t.Errorf("the second procbot's error does not name the database and its holder:\n%s", msg)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("procbot run after SIGTERM: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "procbot stopped") {
		t.Errorf("no stop message:\n%s", out.String())
	}
}
