// Package config reads procbot's settings from PROCBOT_* environment
// variables.
package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/robfig/cron/v3"

	"github.com/procbot/procbot/internal/core"
)

// Secret is a credential. It prints as "[redacted]" so it cannot reach logs
// or error messages by accident; Reveal gives the value to the one place
// that sends it.
type Secret string

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString keeps %#v from printing it either.
func (s Secret) GoString() string { return s.String() }

// MarshalText keeps encoders from writing it.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the credential itself.
func (s Secret) Reveal() string { return string(s) }

// Config is every setting of procbot. The envconfig tags give each its
// PROCBOT_ variable; the README's settings table lists them.
type Config struct {
	DBPath        string        `envconfig:"DB_PATH" default:"procbot.db" desc:"bbolt database file"`
	PollInterval  time.Duration `envconfig:"POLL_INTERVAL" default:"2m" desc:"time between two polls of the trackers"`
	PollOverlap   time.Duration `envconfig:"POLL_OVERLAP" default:"2m" desc:"each poll starts this long before the previous one's newest change"`
	DryRun        bool          `envconfig:"DRY_RUN" default:"false" desc:"log what procbot would do; change nothing"`
	Procedures    []string      `envconfig:"PROCEDURES" default:"proc19" desc:"procedures to run: names under templates/ or paths to YAML files"`
	Routes        string        `envconfig:"ROUTES" desc:"route overrides: unit-or-step=tracker:queue;..."`
	TemplatesDir  string        `envconfig:"TEMPLATES_DIR" desc:"directory whose notes/*.tmpl replace the built-in texts"`
	Operators     []string      `envconfig:"OPERATORS" desc:"logins or emails allowed to /approve, /reject, /kind and /na on requests"`
	ApprovalTag   string        `envconfig:"APPROVAL_TAG" desc:"a tag that approves a request (only if tagging is limited to operators)"`
	ReminderEvery time.Duration `envconfig:"REMINDER_EVERY" default:"168h" desc:"how often an overdue step's child gets a reminder note; 0: never"`
	AllowHTTP     bool          `envconfig:"ALLOW_HTTP" default:"false" desc:"allow plain-http tracker URLs (for local test trackers)"`
	LogLevel      string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat     string        `envconfig:"LOG_FORMAT" default:"json" desc:"json or console"`

	GGUS   GGUS   `envconfig:"GGUS"`
	RT     RT     `envconfig:"RT"`
	SMTP   SMTP   `envconfig:"SMTP"`
	Digest Digest `envconfig:"DIGEST"`
	// AnnounceTo receive the announcement by mail when a procedure completes.
	AnnounceTo []string `envconfig:"ANNOUNCE_TO" desc:"addresses that receive the announcement by mail (the OMB, the broadcast editors)"`
	// TaskForce are on every request's task force, e.g. EGI Operations.
	TaskForce string `envconfig:"TASKFORCE" desc:"default task force members: email[=role];..."`
}

// SMTP is the mail server procbot sends through. An empty host sends no mail.
type SMTP struct {
	Host     string        `envconfig:"HOST" desc:"SMTP server; empty: no mail (no digest, no announcement mail)"`
	Port     int           `envconfig:"PORT" default:"587" desc:"SMTP port"`
	TLS      string        `envconfig:"TLS" default:"starttls" desc:"starttls, implicit (port 465) or none (local relays only)"`
	Username string        `envconfig:"USERNAME" desc:"SMTP user, if the server wants AUTH"`
	Password Secret        `envconfig:"PASSWORD" desc:"SMTP password"`
	From     string        `envconfig:"FROM" desc:"From address, e.g. procbot <procbot@egi.eu>"`
	Timeout  time.Duration `envconfig:"TIMEOUT" default:"30s" desc:"per-message timeout"`
}

// Digest is the weekly digest's schedule.
type Digest struct {
	Schedule string        `envconfig:"SCHEDULE" default:"0 8 * * 1" desc:"cron spec of the digest (default Mondays 08:00)"`
	TimeZone string        `envconfig:"TIMEZONE" default:"Europe/Amsterdam" desc:"time zone of the schedule"`
	Retry    time.Duration `envconfig:"RETRY" default:"15m" desc:"how soon digests that could not be sent are tried again"`
}

// GGUS is the GGUS helpdesk (Zammad) connection.
type GGUS struct {
	URL        string        `envconfig:"URL" desc:"Zammad API base, e.g. https://helpdesk.ggus.eu/api/v1; empty: GGUS not used"`
	Token      Secret        `envconfig:"TOKEN" desc:"API token of procbot's GGUS account"`
	Terminal   []string      `envconfig:"TERMINAL_STATES" default:"solved,unsolved,verified,closed" desc:"states that complete a step"`
	CloseState string        `envconfig:"CLOSE_STATE" default:"closed" desc:"state procbot sets to close a ticket"`
	Timeout    time.Duration `envconfig:"TIMEOUT" default:"30s" desc:"per-request timeout"`
}

// RT is the Request Tracker connection.
type RT struct {
	URL        string        `envconfig:"URL" desc:"REST 2.0 base, e.g. https://rt.egi.eu/rt/REST/2.0; empty: RT not used"`
	Token      Secret        `envconfig:"TOKEN" desc:"RT auth token (or use USER and PASSWORD)"`
	User       string        `envconfig:"USER" desc:"RT user procbot acts as; its own comments are ignored"`
	Password   Secret        `envconfig:"PASSWORD" desc:"password of RT USER, if no token"`
	TimeZone   string        `envconfig:"TIMEZONE" default:"UTC" desc:"RT's $Timezone, used to write TicketSQL dates"`
	Terminal   []string      `envconfig:"TERMINAL_STATES" default:"resolved,rejected" desc:"statuses that complete a step"`
	CloseState string        `envconfig:"CLOSE_STATE" default:"resolved" desc:"status procbot sets to close a ticket"`
	Timeout    time.Duration `envconfig:"TIMEOUT" default:"30s" desc:"per-request timeout"`
}

// Load reads the settings from the environment and checks them.
func Load() (Config, error) {
	var c Config
	if err := envconfig.Process("procbot", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// LoadMail reads the settings for procbot digest, which needs the database
// and mail settings but no tracker.
func LoadMail() (Config, error) {
	var c Config
	if err := envconfig.Process("procbot", &c); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.ValidateMail()
}

// Validate checks settings that envconfig cannot.
func (c Config) Validate() error {
	var errs []error
	if c.GGUS.URL == "" && c.RT.URL == "" {
		errs = append(errs, errors.New("set PROCBOT_GGUS_URL or PROCBOT_RT_URL (or both)"))
	}
	check := func(name, raw string) {
		if raw == "" {
			return
		}
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "":
			errs = append(errs, fmt.Errorf("%s: %q is not a URL", name, raw))
		case u.User != nil:
			errs = append(errs, fmt.Errorf("%s: put credentials in the token settings, not in the URL", name))
		case u.Scheme != "https" && !(u.Scheme == "http" && c.AllowHTTP):
			errs = append(errs, fmt.Errorf("%s: %s must use https (PROCBOT_ALLOW_HTTP=true allows http for local test trackers)", name, u.Redacted()))
		}
	}
	check("PROCBOT_GGUS_URL", c.GGUS.URL)
	check("PROCBOT_RT_URL", c.RT.URL)
	if c.GGUS.URL != "" && c.GGUS.Token == "" {
		errs = append(errs, errors.New("PROCBOT_GGUS_TOKEN is required with PROCBOT_GGUS_URL"))
	}
	if c.RT.URL != "" && c.RT.Token == "" && c.RT.Password == "" {
		errs = append(errs, errors.New("PROCBOT_RT_TOKEN or PROCBOT_RT_PASSWORD is required with PROCBOT_RT_URL"))
	}
	if c.RT.URL != "" && c.RT.User == "" {
		// procbot tells its own comments and children by their author.
		errs = append(errs, errors.New("PROCBOT_RT_USER is required with PROCBOT_RT_URL: the RT user procbot acts as (the owner of the token)"))
	}
	if _, err := time.LoadLocation(c.RT.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("PROCBOT_RT_TIMEZONE: %w", err))
	}
	if c.PollInterval < time.Second {
		errs = append(errs, fmt.Errorf("PROCBOT_POLL_INTERVAL: %s is too short (at least 1s)", c.PollInterval))
	}
	errs = append(errs, c.ValidateMail())
	if len(c.Operators) == 0 && c.ApprovalTag == "" {
		errs = append(errs, errors.New("PROCBOT_OPERATORS is empty: nobody could approve a request"))
	}
	for _, op := range c.Operators {
		if strings.TrimSpace(op) == "" {
			errs = append(errs, errors.New("PROCBOT_OPERATORS has an empty entry"))
		}
	}
	return errors.Join(errs...)
}

// ValidateMail checks the mail and digest settings alone (procbot digest
// needs no tracker).
func (c Config) ValidateMail() error {
	var errs []error
	if _, err := time.LoadLocation(c.Digest.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("PROCBOT_DIGEST_TIMEZONE: %w", err))
	}
	if _, err := cron.ParseStandard(c.Digest.Schedule); err != nil {
		errs = append(errs, fmt.Errorf("PROCBOT_DIGEST_SCHEDULE: %q: %w", c.Digest.Schedule, err))
	}
	if _, err := c.TaskForceMembers(); err != nil {
		errs = append(errs, err)
	}
	for _, a := range c.AnnounceTo {
		if _, err := mail.ParseAddress(a); err != nil {
			errs = append(errs, fmt.Errorf("PROCBOT_ANNOUNCE_TO: %q: %w", a, err))
		}
	}
	if c.SMTP.Host == "" {
		return errors.Join(errs...)
	}
	switch c.SMTP.TLS {
	case "starttls", "implicit", "none":
	default:
		errs = append(errs, fmt.Errorf("PROCBOT_SMTP_TLS: %q is not starttls, implicit or none", c.SMTP.TLS))
	}
	if _, err := mail.ParseAddress(c.SMTP.From); err != nil {
		errs = append(errs, fmt.Errorf("PROCBOT_SMTP_FROM: %q is not an address (e.g. procbot <procbot@egi.eu>)", c.SMTP.From))
	}
	if c.SMTP.Port <= 0 || c.SMTP.Port > 65535 {
		errs = append(errs, fmt.Errorf("PROCBOT_SMTP_PORT: %d is not a port", c.SMTP.Port))
	}
	return errors.Join(errs...)
}

// TaskForceMembers parses PROCBOT_TASKFORCE: "email[=role];...".
func (c Config) TaskForceMembers() ([]core.Member, error) {
	var out []core.Member
	for _, entry := range strings.Split(c.TaskForce, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		email, role, _ := strings.Cut(entry, "=")
		a, err := mail.ParseAddress(strings.TrimSpace(email))
		if err != nil {
			return nil, fmt.Errorf("PROCBOT_TASKFORCE: %q: %w", entry, err)
		}
		out = append(out, core.Member{Email: a.Address, Name: a.Name, Role: strings.TrimSpace(role)})
	}
	return out, nil
}

// Defaults returns the settings with every default and nothing read from
// the environment (the demo runs on these).
func Defaults() Config {
	var c Config
	// A prefix no deployment sets, so that only the defaults apply.
	_ = envconfig.Process("procbot_defaults_only", &c)
	return c
}
