package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/testproc"
)

// TestDamagedDatabaseStopsProcbot: procbot run and procbot rebuild on a
// database cut to a third of its size (which made bbolt fault with SIGBUS)
// exit 1 with a message naming the file and the way out, and the way out
// works: procbot rebuild into a new file.
func TestDamagedDatabaseStopsProcbot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procbot.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		inst := core.Instance{Key: fmt.Sprintf("PROC19/ggus:%d", i), Procedure: "PROC19", Phase: core.PhaseCompleted,
			Title: strings.Repeat("a long title ", 100)}
		if err := db.PutInstance(inst); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, fi.Size()/3); err != nil {
		t.Fatal(err)
	}
	env, err := demo.NewEnv(path)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()

	for _, command := range []string{"run", "rebuild"} {
		t.Run("procbot "+command, func(t *testing.T) {
			code, out := procbotCommand(t, env, path, command)
			if code != 1 {
				t.Fatalf("exit status %d, want 1; output:\n%s", code, out)
			}
			for _, s := range []string{path + " is damaged", "procbot rebuild", "PROCBOT_DB_PATH=<new file>"} {
				if !strings.Contains(out, s) {
					t.Errorf("output does not contain %q:\n%s", s, out)
				}
			}
		})
	}
	t.Run("procbot rebuild into a new file works", func(t *testing.T) {
		code, out := procbotCommand(t, env, filepath.Join(t.TempDir(), "new.db"), "rebuild")
		if code != 0 {
			t.Fatalf("exit status %d, want 0; output:\n%s", code, out)
		}
	})
}

// procbotCommand runs one procbot command on the demo world's trackers
// and the given database, and returns its exit status (-1 if a signal
// ended it) and output.
func procbotCommand(t *testing.T, env *demo.Env, dbPath, command string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], command)
	cmd.Env = procbotEnv(env, dbPath, env.Config.GGUS.URL)
	return testproc.Run(t, cmd)
}
