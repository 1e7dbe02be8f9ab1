package app_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/mail/smtptest"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/testlog"
)

// writes counts the requests that change something in the simulators:
// every one but reads and Zammad's search (a POST that reads).
func writes(env *demo.Env) int {
	n := 0
	for _, r := range append(env.GGUS.Requests(), env.RT.Requests()...) {
		if !strings.HasPrefix(r, "GET ") && r != "POST /tickets/search" {
			n++
		}
	}
	return n
}

// contents digests every key and value in the database: what procbot
// recorded, not the file's bytes (opening the database writes them).
func contents(t *testing.T, name string) [32]byte {
	t.Helper()
	db, err := bbolt.Open(name, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := sha256.New()
	var walk func(b *bbolt.Bucket)
	walk = func(b *bbolt.Bucket) {
		b.ForEach(func(k, v []byte) error {
			fmt.Fprintf(h, "%q=%q\n", k, v)
			if v == nil {
				walk(b.Bucket(k))
			}
			return nil
		})
	}
	if err := db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			fmt.Fprintf(h, "[%s]\n", name)
			walk(b)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// TestDryRunChangesNothing: a dry run on a world where procbot has work of
// every kind (a new request an operator approved, whose children it would
// open; a request whose last children were just closed, to announce and
// mail; a duplicate to link and close; a digest due) says what it would do
// and writes nothing: no request reaches the trackers, none the SMTP
// server, and the database file is unchanged.
func TestDryRunChangesNothing(t *testing.T) {
	ctx := context.Background()
	env, err := demo.NewEnv(filepath.Join(t.TempDir(), "procbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	smtp := smtptest.Start(t, smtptest.Options{})
	cfg := env.Config
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS, cfg.SMTP.From = smtp.Host, smtp.Port, "none", "procbot <procbot@egi.example>"
	cfg.AnnounceTo = []string{"omb@egi.example"}
	cfg.TaskForce = "operations@egi.example=EGI Operations"

	// procbot, for real, takes FooStack up to its last closed children.
	real, err := app.New(ctx, cfg, zerolog.Nop(), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	foo := lastChildrenClosed(t, env, real)
	if err := real.Close(); err != nil {
		t.Fatal(err)
	}
	// Work for the dry run: an approved new request, and a duplicate.
	bar, err := env.FileRequest(ctx, "BarStack", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Operator.AddNote(ctx, bar.Ref.ID, "The OMB approved it.\n/approve\n", true); err != nil {
		t.Fatal(err)
	}
	if _, err := env.FileRequest(ctx, "FooStack", true); err != nil {
		t.Fatal(err)
	}

	before, recorded, sessions := writes(env), contents(t, cfg.DBPath), smtp.Connections()
	dry := cfg
	dry.DryRun = true
	log := &testlog.Buffer{}
	a, err := app.New(ctx, dry, zerolog.New(log), app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Two cycles (the second sees the trackers as the first left them) and
	// a digest run, each to its end: what they would do is in the log.
	for i := 0; i < 2; i++ {
		if err := a.Daemon.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Mail.SendDigests(ctx, time.Now().Truncate(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	if n := writes(env) - before; n != 0 {
		t.Errorf("the dry run sent %d writes to the trackers", n)
	}
	if n := smtp.Connections() - sessions; n != 0 || len(smtp.Messages()) != 0 {
		t.Errorf("the dry run opened %d SMTP sessions and delivered %d messages", n, len(smtp.Messages()))
	}
	if contents(t, cfg.DBPath) != recorded {
		t.Error("the dry run changed the database")
	}
	for _, want := range []string{
		"would open child", "would post note on ggus ticket " + bar.Ref.ID, // BarStack's children and status
		"would post note on ggus ticket " + foo.Ref.ID, "would send announcement to omb@egi.example", // FooStack's end
		"would link", "would close", // the duplicate
		"would send digest to",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the dry run's log does not say %q:\n%s", want, log.String())
		}
	}
	for _, claim := range []string{"posted status note", "opened child", `"closed `, "mailed the"} {
		if strings.Contains(log.String(), claim) {
			t.Errorf("the dry run's log claims %q:\n%s", claim, log.String())
		}
	}
}

// lastChildrenClosed files FooStack, approves it and closes its children
// wave by wave, and stops when the last ones are closed but procbot has not
// seen that yet: the next cycle announces the completed procedure.
func lastChildrenClosed(t *testing.T, env *demo.Env, a *app.App) core.Ticket {
	t.Helper()
	ctx := context.Background()
	parent, err := env.FileRequest(ctx, "FooStack", true)
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() core.Instance {
		if err := a.Daemon.Cycle(ctx); err != nil {
			t.Fatal(err)
		}
		inst, ok, err := a.Store.Instance(core.InstanceKey(env.Proc.ID, parent.Ref))
		if err != nil || !ok {
			t.Fatalf("request not recorded: %v", err)
		}
		return inst
	}
	cycle()
	if err := env.Operator.AddNote(ctx, parent.Ref.ID, "/approve", true); err != nil {
		t.Fatal(err)
	}
	closed := map[string]bool{}
	for i := 0; i < 40; i++ {
		inst := cycle()
		if !inst.Pending() {
			t.Fatalf("the request is %s before its last children were closed", inst.Phase)
		}
		last := true
		for _, id := range env.Proc.Order() {
			st := inst.Steps[id]
			if step, _ := env.Proc.Step(id); step.Kind != "" && step.Kind != procedure.KindTask {
				continue
			}
			switch {
			case st.Status == core.StepOpen && !closed[st.Child.Key()]:
				if _, err := env.CloseChild(ctx, st.Child); err != nil {
					t.Fatal(err)
				}
				closed[st.Child.Key()] = true
			case st.Status == core.StepWaiting || st.Status == core.StepOpening:
				last = false
			}
		}
		if last {
			return parent
		}
	}
	t.Fatal("the request did not reach its last children")
	return parent
}
