package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	netmail "net/mail"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/mail"
	"github.com/procbot/procbot/internal/mail/smtptest"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/testlog"
)

// fakeDigests writes one digest per listed recipient.
type fakeDigests struct{ to []string }

func (f fakeDigests) Digests(_ []core.Instance, now time.Time) ([]daemon.Preview, error) {
	var out []daemon.Preview
	for _, to := range f.to {
		out = append(out, daemon.Preview{To: core.Member{Email: to}, Subject: "digest " + now.Format("2006-01-02"),
			Text: "progress for " + to, HTML: "<p>progress for " + to + "</p>"})
	}
	return out, nil
}

func (fakeDigests) Announcement(_ *procedure.Procedure, inst core.Instance) (string, string, error) {
	return "Announcement: " + inst.Product, "integrated", nil
}

var amsterdam, _ = time.LoadLocation("Europe/Amsterdam")

// mailRoom is a mail room on a bbolt file, sending through srv.
func mailRoom(t *testing.T, db *bolt.DB, srv *smtptest.Server, logs *bytes.Buffer, to ...string) *daemon.MailRoom {
	t.Helper()
	m, err := mail.New(mail.Config{Host: srv.Host, Port: srv.Port, TLS: mail.TLSNone, From: "procbot <procbot@egi.example>"})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := cron.ParseStandard("0 8 * * 1")
	if err != nil {
		t.Fatal(err)
	}
	return &daemon.MailRoom{Store: db, Mailer: m, Digests: fakeDigests{to: to},
		From: netmail.Address{Name: "procbot", Address: "procbot@egi.example"}, Schedule: sched, Spec: "0 8 * * 1",
		Location: amsterdam, Retry: time.Minute, Log: zerolog.New(logs)}
}

func openDB(t *testing.T, path string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func recipients(srv *smtptest.Server) map[string]int {
	out := map[string]int{}
	for _, d := range srv.Messages() {
		for _, to := range d.To {
			out[to]++
		}
	}
	return out
}

// TestDigestNeverTwice: a run sends each recipient one digest; the same run
// again, after a restart, sends nothing; a digest recorded as being sent
// when procbot stopped is not sent again either.
func TestDigestNeverTwice(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "procbot.db")
	srv := smtptest.Start(t, smtptest.Options{})
	period := time.Date(2026, 11, 23, 8, 0, 0, 0, amsterdam)
	var logs bytes.Buffer

	db := openDB(t, path)
	// procbot stopped last time between recording and handing over this one:
	crashed := "digest|" + period.UTC().Format(time.RFC3339) + "|ngi@example.org"
	if err := db.PutMailRecord(crashed, core.MailRecord{State: core.MailSending, At: period}); err != nil {
		t.Fatal(err)
	}
	m := mailRoom(t, db, srv, &logs, "jane@foo.example", "ops@egi.example", "ngi@example.org")
	res, err := m.SendDigests(ctx, period)
	if err != nil || res.Sent != 2 || res.Skipped != 1 {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	if !strings.Contains(logs.String(), "may or may not have arrived") {
		t.Errorf("the log does not say what happened to the interrupted digest:\n%s", logs.String())
	}

	// Restart: a new process on the same database runs the same period.
	db.Close()
	db = openDB(t, path)
	defer db.Close()
	m = mailRoom(t, db, srv, &logs, "jane@foo.example", "ops@egi.example", "ngi@example.org")
	if res, err := m.SendDigests(ctx, period); err != nil || res.Sent != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	got := recipients(srv)
	if got["jane@foo.example"] != 1 || got["ops@egi.example"] != 1 || got["ngi@example.org"] != 0 {
		t.Errorf("deliveries per recipient %v, want jane and ops once, ngi never", got)
	}
	// Next week is a new period.
	if res, err := m.SendDigests(ctx, period.AddDate(0, 0, 7)); err != nil || res.Sent != 3 {
		t.Errorf("next week: %+v, %v", res, err)
	}
}

// TestRefusedDigestIsSentLater: a server that refuses or drops the
// connection leaves the digest unsent, with a log line saying why; the
// next attempt sends it, once.
func TestRefusedDigestIsSentLater(t *testing.T) {
	ctx := context.Background()
	period := time.Date(2026, 11, 23, 8, 0, 0, 0, amsterdam)
	for _, opts := range []smtptest.Options{{Reject: 451}, {DropAfterGreeting: true}} {
		db := openDB(t, filepath.Join(t.TempDir(), "procbot.db"))
		var logs bytes.Buffer
		bad := smtptest.Start(t, opts)
		res, err := mailRoom(t, db, bad, &logs, "jane@foo.example").SendDigests(ctx, period)
		if err != nil || res.Failed != 1 || len(bad.Messages()) != 0 {
			t.Fatalf("%+v: %+v %v", opts, res, err)
		}
		if !strings.Contains(logs.String(), "digest not sent") || !strings.Contains(logs.String(), "jane@foo.example") {
			t.Errorf("%+v: log does not say which digest failed and why:\n%s", opts, logs.String())
		}
		good := smtptest.Start(t, smtptest.Options{})
		m := mailRoom(t, db, good, &logs, "jane@foo.example")
		for range 2 {
			if _, err := m.SendDigests(ctx, period); err != nil {
				t.Fatal(err)
			}
		}
		if n := recipients(good)["jane@foo.example"]; n != 1 {
			t.Errorf("%+v: the refused digest arrived %d times after the retries, want once", opts, n)
		}
		db.Close()
	}
}

// TestMissedRunsSendOnce: procbot down over three Mondays sends one digest
// when it comes back, not three; before the first Monday it sends none.
func TestMissedRunsSendOnce(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "procbot.db"))
	defer db.Close()
	var logs bytes.Buffer
	m := mailRoom(t, db, smtptest.Start(t, smtptest.Options{}), &logs, "jane@foo.example")
	lastRun := time.Date(2026, 11, 2, 8, 0, 0, 0, amsterdam) // a Monday
	if err := db.PutMailRecord("digest-last-run", core.MailRecord{State: core.MailSent, At: lastRun}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		now        time.Time
		wantPeriod time.Time
		wantDue    bool
	}{
		{"the same week: nothing due", time.Date(2026, 11, 5, 12, 0, 0, 0, amsterdam), lastRun, false},
		{"Monday 07:59 in Amsterdam (06:59 UTC): not yet", time.Date(2026, 11, 9, 6, 59, 0, 0, time.UTC), lastRun, false},
		{"Monday 08:00 in Amsterdam: due", time.Date(2026, 11, 9, 7, 0, 0, 0, time.UTC), time.Date(2026, 11, 9, 8, 0, 0, 0, amsterdam), true},
		{"three Mondays missed: one run, the latest", time.Date(2026, 11, 25, 9, 0, 0, 0, amsterdam), time.Date(2026, 11, 23, 8, 0, 0, 0, amsterdam), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			period, due, err := m.Due(tc.now)
			if err != nil || due != tc.wantDue || !period.Equal(tc.wantPeriod) {
				t.Errorf("Due(%s) = %s, %v, %v; want %s, %v", tc.now, period, due, err, tc.wantPeriod, tc.wantDue)
			}
		})
	}
	// After the run for the latest Monday, nothing is due until the next.
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, amsterdam)
	m.Now = func() time.Time { return now }
	period, _, _ := m.Due(now)
	if _, err := m.SendDigests(context.Background(), period); err != nil {
		t.Fatal(err)
	}
	if _, due, _ := m.Due(now); due {
		t.Errorf("still due after the run")
	}
}

// TestAnnouncementMailedOnce: the announcement goes to the configured
// addresses once, whatever retries follow.
func TestAnnouncementMailedOnce(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "procbot.db"))
	defer db.Close()
	srv := smtptest.Start(t, smtptest.Options{})
	var logs bytes.Buffer
	m := mailRoom(t, db, srv, &logs)
	m.AnnounceTo = []netmail.Address{{Address: "omb@egi.example"}, {Address: "broadcast@egi.example"}}
	inst := core.Instance{Key: "PROC19/ggus:1000", Product: "FooStack"}
	for range 3 {
		if err := m.SendAnnouncement(context.Background(), nil, inst); err != nil {
			t.Fatal(err)
		}
	}
	if got := recipients(srv); got["omb@egi.example"] != 1 || got["broadcast@egi.example"] != 1 {
		t.Errorf("announcement deliveries %v, want one each", got)
	}
}

// TestRunSendsAMissedRunOnceAtStart: procbot comes back after three missed
// Mondays and sends one digest per recipient at start, then waits.
func TestRunSendsAMissedRunOnceAtStart(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "procbot.db"))
	defer db.Close()
	srv := smtptest.Start(t, smtptest.Options{})
	var logs testlog.Buffer
	m := mailRoom(t, db, srv, &bytes.Buffer{}, "jane@foo.example", "ops@egi.example")
	m.Log = zerolog.New(&logs)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, amsterdam)
	m.Now = func() time.Time { return now }
	if err := db.PutMailRecord("digest-last-run", core.MailRecord{State: core.MailSent, At: time.Date(2026, 11, 2, 8, 0, 0, 0, amsterdam)}); err != nil {
		t.Fatal(err)
	}
	// The first read of the digests sends the missed run; the second, a
	// check for refused digests, comes once that run is recorded.
	reads := make(chan struct{}, 16)
	m.Digests = signalDigests{fakeDigests{to: []string{"jane@foo.example", "ops@egi.example"}}, reads}
	m.Retry = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, context.Background()) }()
	for range 2 {
		select {
		case <-reads:
		case err := <-done:
			t.Fatalf("Run returned before it sent the missed run: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := recipients(srv); got["jane@foo.example"] != 1 || got["ops@egi.example"] != 1 || len(srv.Messages()) != 2 {
		t.Errorf("deliveries %v, want one digest each", got)
	}
	if _, due, _ := m.Due(now); due {
		t.Errorf("the missed run is still due")
	}
}

// TestFirstStartSendsNothing: on a new database nothing was missed; the
// first digest goes out at the next scheduled time.
func TestFirstStartSendsNothing(t *testing.T) {
	db := openDB(t, filepath.Join(t.TempDir(), "procbot.db"))
	defer db.Close()
	srv := smtptest.Start(t, smtptest.Options{})
	m := mailRoom(t, db, srv, &bytes.Buffer{}, "jane@foo.example")
	// Once Run checks for refused digests it is past the first start and
	// the missed run: every check reads the digests, which is the event to
	// wait for. The second read comes after whatever the first one was for.
	reads := make(chan struct{}, 16)
	m.Digests = signalDigests{fakeDigests{to: []string{"jane@foo.example"}}, reads}
	m.Retry = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, context.Background()) }()
	for range 2 {
		select {
		case <-reads:
		case err := <-done:
			t.Fatalf("Run returned before it checked for refused digests: %v", err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, ok, err := db.MailRecord("digest-last-run"); err != nil || !ok {
		t.Errorf("the first start is not recorded (ok=%v, err=%v)", ok, err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d digests sent at first start", n)
	}
}

// signalDigests is fakeDigests that signals every time digests are read.
type signalDigests struct {
	fakeDigests
	reads chan struct{}
}

func (s signalDigests) Digests(insts []core.Instance, now time.Time) ([]daemon.Preview, error) {
	select {
	case s.reads <- struct{}{}:
	default:
	}
	return s.fakeDigests.Digests(insts, now)
}

// gatedMailer hands each mail to the SMTP server only once the test
// releases it, and tells the test when a mail is waiting.
type gatedMailer struct {
	daemon.Mailer
	waiting chan<- struct{}
	release <-chan struct{}
}

func (g gatedMailer) Send(ctx context.Context, msg mail.Message) error {
	g.waiting <- struct{}{}
	<-g.release
	return g.Mailer.Send(ctx, msg)
}

// TestStopFinishesTheDigestUnderWay: a stop that comes while a digest is
// being handed to the SMTP server lets it arrive and be recorded as sent,
// rather than cutting it off between "sending" and "sent"; an abort does
// not wait for it.
func TestStopFinishesTheDigestUnderWay(t *testing.T) {
	for _, abort := range []bool{false, true} {
		t.Run(fmt.Sprintf("abort=%v", abort), func(t *testing.T) {
			db := openDB(t, filepath.Join(t.TempDir(), "procbot.db"))
			defer db.Close()
			srv := smtptest.Start(t, smtptest.Options{})
			m := mailRoom(t, db, srv, &bytes.Buffer{}, "jane@foo.example")
			now := time.Date(2026, 11, 25, 9, 0, 0, 0, amsterdam)
			m.Now = func() time.Time { return now }
			if err := db.PutMailRecord("digest-last-run", core.MailRecord{State: core.MailSent, At: time.Date(2026, 11, 16, 8, 0, 0, 0, amsterdam)}); err != nil {
				t.Fatal(err)
			}
			waiting, release := make(chan struct{}), make(chan struct{})
			m.Mailer = gatedMailer{m.Mailer, waiting, release}
			stop, stopNow := context.WithCancel(context.Background())
			aborted, abortNow := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(stop, aborted) }()
			<-waiting // the missed run's digest is on its way
			stopNow()
			if abort {
				abortNow()
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			abortNow()
			got := len(srv.Messages())
			if want := map[bool]int{false: 1, true: 0}[abort]; got != want {
				t.Errorf("%d digests arrived, want %d", got, want)
			}
			if _, due, _ := m.Due(now); due == !abort {
				t.Errorf("the run is due: %v, want %v", due, abort)
			}
		})
	}
}
