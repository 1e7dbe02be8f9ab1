package daemon

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/mail"
	"github.com/procbot/procbot/internal/procedure"
)

// Mailer sends one message. The SMTP mailer satisfies it.
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// Digests writes procbot's mail: the digest package, through the app.
type Digests interface {
	// Digests renders the digests due at now, one per recipient, from
	// the recorded requests.
	Digests(insts []core.Instance, now time.Time) ([]Preview, error)
	// Announcement renders the announcement mail of a completed request.
	Announcement(p *procedure.Procedure, inst core.Instance) (subject, text string, err error)
}

// MailStore is what the mail room records: every mail it sends once.
type MailStore interface {
	Instances() ([]core.Instance, error)
	MailRecord(key string) (core.MailRecord, bool, error)
	PutMailRecord(key string, rec core.MailRecord) error
}

// MailRoom sends procbot's mail: the weekly digest to each task force
// member, and the announcement of a completed procedure. Every message is
// recorded as sending before it goes to the SMTP server and as sent after:
// a message recorded as sending is never sent again, so a crash between
// the two means that message may be missing, never that it arrives twice.
// A message the server refused is recorded as failed and sent again later.
type MailRoom struct {
	Store   MailStore
	Mailer  Mailer // nil: no SMTP server, no mail
	Digests Digests
	From    netmail.Address
	// AnnounceTo receive the announcement of every completed procedure.
	AnnounceTo []netmail.Address
	// Schedule of the digest, in Location.
	Schedule cron.Schedule
	Spec     string
	Location *time.Location
	// Retry is how soon refused digests are tried again.
	Retry time.Duration
	Now   func() time.Time
	Log   zerolog.Logger
}

// A Preview is one digest as it would go out.
type Preview struct {
	To      core.Member
	Subject string
	Text    string
	HTML    string
}

// Previews renders the digests that would go out at now, per recipient.
func (m *MailRoom) Previews(now time.Time) ([]Preview, error) {
	insts, err := m.Store.Instances()
	if err != nil {
		return nil, err
	}
	return m.Digests.Digests(insts, now)
}

// DigestResult counts what one digest run did.
type DigestResult struct {
	Sent, Failed, Skipped int
}

// SendDigests sends the digests of one scheduled run, identified by its
// scheduled time: to each recipient once. Run again for the same period
// (a retry, a restart), it sends only what was refused before.
func (m *MailRoom) SendDigests(ctx context.Context, period time.Time) (DigestResult, error) {
	var res DigestResult
	if m.Mailer == nil {
		return res, errors.New("no SMTP server is configured (PROCBOT_SMTP_HOST)")
	}
	previews, err := m.Previews(m.now())
	if err != nil {
		return res, err
	}
	for _, p := range previews {
		key := digestKey(period, p.To.Email)
		msg := mail.Message{From: m.From, To: []netmail.Address{{Name: p.To.Name, Address: p.To.Email}}, Subject: p.Subject,
			Text: p.Text, HTML: p.HTML, Headers: map[string]string{"X-Procbot-Digest": period.UTC().Format(time.RFC3339)}}
		switch sent, err := m.once(ctx, key, p.To.Email, msg); {
		case err != nil:
			res.Failed++
			m.Log.Warn().Err(err).Str("to", p.To.Email).Time("period", period).Msg("digest not sent; it is tried again later")
		case sent:
			res.Sent++
		default:
			res.Skipped++
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if err := m.Store.PutMailRecord(lastRunKey, core.MailRecord{State: core.MailSent, At: period}); err != nil {
		return res, err
	}
	m.Log.Info().Time("period", period).Int("sent", res.Sent).Int("failed", res.Failed).Int("skipped", res.Skipped).Msg("weekly digest")
	return res, nil
}

// once sends msg unless the record under key says it was sent, or may have
// been. sent reports whether it went out now.
func (m *MailRoom) once(ctx context.Context, key, to string, msg mail.Message) (sent bool, err error) {
	rec, ok, err := m.Store.MailRecord(key)
	if err != nil {
		return false, err
	}
	switch {
	case ok && rec.State == core.MailSent:
		return false, nil
	case ok && rec.State == core.MailSending:
		m.Log.Warn().Str("mail", key).Time("since", rec.At).
			Msg("procbot stopped while handing this mail to the SMTP server; it may or may not have arrived, and is not sent again")
		return false, nil
	}
	if err := m.Store.PutMailRecord(key, core.MailRecord{State: core.MailSending, At: m.now(), To: to}); err != nil {
		return false, err
	}
	if err := m.Mailer.Send(ctx, msg); err != nil {
		if rerr := m.Store.PutMailRecord(key, core.MailRecord{State: core.MailFailed, At: m.now(), To: to}); rerr != nil {
			return false, errors.Join(err, rerr)
		}
		return false, err
	}
	return true, m.Store.PutMailRecord(key, core.MailRecord{State: core.MailSent, At: m.now(), To: to})
}

// SendAnnouncement mails the announcement of a completed procedure to the
// configured addresses, once.
func (m *MailRoom) SendAnnouncement(ctx context.Context, p *procedure.Procedure, inst core.Instance) error {
	if m == nil || m.Mailer == nil || len(m.AnnounceTo) == 0 {
		return nil // nobody to mail
	}
	subject, text, err := m.Digests.Announcement(p, inst)
	if err != nil {
		return err
	}
	var to []string
	for _, a := range m.AnnounceTo {
		to = append(to, a.Address)
	}
	msg := mail.Message{From: m.From, To: m.AnnounceTo, Subject: subject, Text: text,
		Headers: map[string]string{"X-Procbot-Request": inst.Key}}
	_, err = m.once(ctx, "announcement|"+inst.Key, strings.Join(to, ","), msg)
	return err
}

// Due returns the latest scheduled digest time at or before now, and
// whether that run has not happened yet.
func (m *MailRoom) Due(now time.Time) (time.Time, bool, error) {
	latest := m.latest(now)
	if latest.IsZero() {
		return latest, false, nil
	}
	last, ok, err := m.Store.MailRecord(lastRunKey)
	if err != nil {
		return latest, false, err
	}
	return latest, !ok || last.At.Before(latest), nil
}

// latest is the last time the schedule fired at or before now, looking
// back at most 8 days (a weekly schedule's period, with a margin).
func (m *MailRoom) latest(now time.Time) time.Time {
	now = now.In(m.Location)
	var last time.Time
	for t := m.Schedule.Next(now.Add(-8 * 24 * time.Hour)); !t.IsZero() && !t.After(now); t = m.Schedule.Next(t) {
		last = t
	}
	return last
}

// Run sends the digests on schedule until stop ends. A run missed while
// procbot was down is sent once at start, however many were missed;
// digests the SMTP server refused are tried again every Retry. A run under
// way when stop ends is finished, each mail within the SMTP timeout, so
// that no digest is cut off between "sending" and "sent"; abort ends it at
// once.
func (m *MailRoom) Run(stop, abort context.Context) error {
	if m.Mailer == nil {
		m.Log.Info().Msg("no SMTP server configured: no weekly digest")
		select {
		case <-stop.Done():
		case <-abort.Done():
		}
		return nil
	}
	ctx := abort
	var mu sync.Mutex // one run at a time, scheduled or retry
	send := func(why string) {
		mu.Lock()
		defer mu.Unlock()
		period, due, err := m.Due(m.now())
		if err != nil {
			m.Log.Error().Err(err).Msg("digest schedule")
			return
		}
		if !due && why != "retry" {
			return
		}
		if _, err := m.SendDigests(ctx, period); err != nil && ctx.Err() == nil {
			m.Log.Error().Err(err).Str("run", why).Msg("digest run failed")
		}
	}
	if _, ok, err := m.Store.MailRecord(lastRunKey); err == nil && !ok {
		// First start on this database: nothing was missed; the first
		// digest goes out at the next scheduled time.
		if err := m.Store.PutMailRecord(lastRunKey, core.MailRecord{State: core.MailSent, At: m.latest(m.now())}); err != nil {
			return err
		}
	}
	send("missed") // a run that fell while procbot was down

	logger := cronLogger{m.Log}
	c := cron.New(cron.WithLocation(m.Location),
		cron.WithChain(cron.Recover(logger), cron.SkipIfStillRunning(logger)))
	if _, err := c.AddFunc(m.Spec, func() { send("scheduled") }); err != nil {
		return fmt.Errorf("digest schedule %q: %w", m.Spec, err)
	}
	c.Start()
	retry := time.NewTicker(m.Retry)
	defer retry.Stop()
	for {
		select {
		case <-stop.Done():
			<-c.Stop().Done() // a run under way finishes
			return nil
		case <-abort.Done():
			c.Stop()
			return nil
		case <-retry.C:
			if m.hasFailed(m.latest(m.now())) {
				send("retry")
			}
		}
	}
}

// hasFailed reports whether a digest of the period was refused. It reads
// the records of the period's recipients as they would be now.
func (m *MailRoom) hasFailed(period time.Time) bool {
	previews, err := m.Previews(m.now())
	if err != nil {
		return false
	}
	for _, p := range previews {
		if rec, ok, _ := m.Store.MailRecord(digestKey(period, p.To.Email)); ok && rec.State == core.MailFailed {
			return true
		}
	}
	return false
}

func (m *MailRoom) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

const lastRunKey = "digest-last-run"

func digestKey(period time.Time, email string) string {
	return "digest|" + period.UTC().Format(time.RFC3339) + "|" + strings.ToLower(email)
}

// cronLogger lets robfig/cron log through zerolog.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug().Fields(kv).Msg("cron: " + msg) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(kv).Msg("cron: " + msg)
}
