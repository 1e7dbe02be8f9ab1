package main

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/testlog"
	"github.com/procbot/procbot/internal/trackertest"
)

// untouchable sets settings that would start procbot against a tracker
// that counts every request it gets, and returns the count and the
// database that starting would create.
func untouchable(t *testing.T) (*atomic.Int64, string) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	db := filepath.Join(t.TempDir(), "procbot.db")
	t.Setenv("PROCBOT_DB_PATH", db)
	t.Setenv("PROCBOT_GGUS_URL", srv.URL+"/api/v1")
	t.Setenv("PROCBOT_GGUS_TOKEN", "token")
	t.Setenv("PROCBOT_OPERATORS", "ops@egi.example")
	t.Setenv("PROCBOT_ALLOW_HTTP", "true")
	return &hits, db
}

// TestHelpStartsNothing: every command's --help and -h print its usage and
// exit 0, touching neither a tracker nor the database.
func TestHelpStartsNothing(t *testing.T) {
	names := slices.Sorted(maps.Keys(commands))
	if len(names) < 6 {
		t.Fatalf("commands table lists %v", names)
	}
	for _, cmd := range names {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(cmd+" "+flag, func(t *testing.T) {
				hits, db := untouchable(t)
				var out, errOut bytes.Buffer
				code := Main([]string{cmd, flag}, &out, &errOut)
				if code != 0 || !strings.Contains(out.String(), "Usage: procbot "+cmd) {
					t.Errorf("exit %d, want 0 and the usage of %s on stdout\nstdout: %s\nstderr: %s", code, cmd, out.String(), errOut.String())
				}
				if n := hits.Load(); n != 0 {
					t.Errorf("%s %s sent %d requests to the tracker", cmd, flag, n)
				}
				if _, err := os.Stat(db); err == nil {
					t.Errorf("%s %s created the database", cmd, flag)
				}
			})
		}
	}
}

// TestUnknownFlagIsAnError: an unknown flag or a stray argument exits 2
// naming it, and starts nothing.
func TestUnknownFlagIsAnError(t *testing.T) {
	tests := [][]string{
		{"run", "--dry-run"}, {"run", "now"}, {"rebuild", "--force"}, {"digest", "--send"},
		{"validate", "--strict"}, {"demo", "--fast"}, {"bench", "--size"}, {"bench", "10"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			hits, db := untouchable(t)
			var out, errOut bytes.Buffer
			if code := Main(args, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), strings.TrimLeft(args[1], "-")) {
				t.Errorf("exit %d, want 2 and an error naming %s\nstderr: %s", code, args[1], errOut.String())
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("sent %d requests to the tracker", n)
			}
			if _, err := os.Stat(db); err == nil {
				t.Errorf("created the database")
			}
		})
	}
}

// TestSecondSignalStopsAtOnce: the first SIGTERM lets the cycle that waits
// on GGUS go on; a second one cancels it and procbot exits.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	env, err := demo.NewEnv(filepath.Join(t.TempDir(), "procbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if _, err := env.FileRequest(context.Background(), "FooStack", true); err != nil {
		t.Fatal(err)
	}
	gate := trackertest.NewGate(t, env.GGUS.URL(), func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/ticket_articles")
	})
	out := &testlog.Buffer{}
	stopping := out.Written("finishing the cycle under way")
	cmd := procbotAt(t, env, gate.URL, out)
	defer cmd.Process.Kill()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	await(t, gate.Held, "procbot's note reaching GGUS")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await(t, stopping, "procbot saying it finishes the cycle")
	if !gate.Waiting() {
		t.Fatalf("the first SIGTERM cut the cycle short:\n%s", out.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	await(t, gate.Cancelled, "the second SIGTERM cancelling the cycle's request")
	err = <-exited
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("procbot after a second SIGTERM: %v, want exit 1", err)
	}
	if !strings.Contains(out.String(), "stopped at once") {
		t.Errorf("procbot does not say it stopped at once:\n%s", out.String())
	}
}

// await waits for ch, or fails the test shortly before its deadline (go
// test -timeout) instead of hanging until it.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	var deadline <-chan time.Time
	if d, ok := t.Deadline(); ok {
		deadline = time.After(time.Until(d) * 9 / 10)
	}
	select {
	case <-ch:
	case <-deadline:
		t.Fatalf("never saw %s (waited until shortly before the test's deadline)", what)
	}
}
