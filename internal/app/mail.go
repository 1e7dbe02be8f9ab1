package app

import (
	"fmt"
	netmail "net/mail"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/config"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
	"github.com/procbot/procbot/internal/digest"
	"github.com/procbot/procbot/internal/mail"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/templates"
)

// MailRoom wires procbot's mail from the settings. Without an SMTP host it
// has no mailer: digests can still be previewed, nothing is sent.
func MailRoom(cfg config.Config, store daemon.MailStore, procs []*procedure.Procedure, log zerolog.Logger, now func() time.Time) (*daemon.MailRoom, error) {
	if err := cfg.ValidateMail(); err != nil {
		return nil, err
	}
	r, err := digest.NewRenderer(templates.FS)
	if err != nil {
		return nil, err
	}
	members, _ := cfg.TaskForceMembers() // checked by ValidateMail
	loc, _ := time.LoadLocation(cfg.Digest.TimeZone)
	sched, _ := cron.ParseStandard(cfg.Digest.Schedule)
	m := &daemon.MailRoom{
		Store:    store,
		Digests:  digests{procs: procs, r: r, defaults: members, loc: loc},
		Schedule: sched, Spec: cfg.Digest.Schedule, Location: loc, Retry: cfg.Digest.Retry,
		Now: now, Log: log,
	}
	for _, a := range cfg.AnnounceTo {
		addr, _ := netmail.ParseAddress(a)
		m.AnnounceTo = append(m.AnnounceTo, *addr)
	}
	if cfg.SMTP.Host == "" {
		return m, nil
	}
	mailer, err := mail.New(mail.Config{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: cfg.SMTP.Password.Reveal(), From: cfg.SMTP.From, Timeout: cfg.SMTP.Timeout})
	if err != nil {
		return nil, fmt.Errorf("PROCBOT_SMTP_*: %w", err)
	}
	m.Mailer, m.From = mailer, mailer.From()
	return m, nil
}

// digests adapts the digest package to what the mail room asks for.
type digests struct {
	procs    []*procedure.Procedure
	r        *digest.Renderer
	defaults []core.Member
	loc      *time.Location
}

func (d digests) Digests(insts []core.Instance, now time.Time) ([]daemon.Preview, error) {
	procs := map[string]*procedure.Procedure{}
	for _, p := range d.procs {
		procs[p.ID] = p
	}
	var out []daemon.Preview
	// The week and dates are those of the schedule's zone.
	for _, dg := range digest.Build(procs, insts, d.defaults, now.In(d.loc)) {
		subject, text, html, err := d.r.Digest(dg)
		if err != nil {
			return nil, fmt.Errorf("render the digest for %s: %w", dg.To.Email, err)
		}
		out = append(out, daemon.Preview{To: dg.To, Subject: subject, Text: text, HTML: html})
	}
	return out, nil
}

func (d digests) Announcement(p *procedure.Procedure, inst core.Instance) (string, string, error) {
	return d.r.Announcement(p, inst)
}
