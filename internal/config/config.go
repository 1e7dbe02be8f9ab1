// Package config reads procbot's settings from PROCBOT_* environment
// variables.
package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/robfig/cron/v3"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
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

// Config is every setting of procbot. Each field's envconfig tag is its
// variable's whole name: the settings are read with no prefix, so
// envconfig has no shorter name to fall back to (it falls back to the bare
// tag when a prefixed name is unset, which let USER or TOKEN become
// settings). The nested parts are read one by one for the same reason
// (ignored here, so envconfig does not prefix their names). The README's
// settings table lists them all.
type Config struct {
	DBPath        string        `envconfig:"PROCBOT_DB_PATH" default:"procbot.db" desc:"bbolt database file"`
	PollInterval  time.Duration `envconfig:"PROCBOT_POLL_INTERVAL" default:"2m" desc:"time between two polls of the trackers"`
	PollOverlap   time.Duration `envconfig:"PROCBOT_POLL_OVERLAP" default:"2m" desc:"each poll starts this long before the previous one's newest change"`
	CycleTimeout  time.Duration `envconfig:"PROCBOT_CYCLE_TIMEOUT" default:"90s" desc:"longest a poll cycle may take; a stop waits for the cycle under way, so keep it below the stop timeouts in deploy/"`
	DryRun        bool          `envconfig:"PROCBOT_DRY_RUN" default:"false" desc:"log what procbot would do; change nothing"`
	Procedures    []string      `envconfig:"PROCBOT_PROCEDURES" default:"proc19" desc:"procedures to run: names under templates/ or paths to YAML files"`
	Routes        string        `envconfig:"PROCBOT_ROUTES" desc:"route overrides: unit-or-step=tracker:queue;..."`
	TemplatesDir  string        `envconfig:"PROCBOT_TEMPLATES_DIR" desc:"directory whose notes/*.tmpl replace the built-in texts"`
	Operators     []string      `envconfig:"PROCBOT_OPERATORS" desc:"logins or emails allowed to /approve, /reject, /kind and /na on requests"`
	ApprovalTag   string        `envconfig:"PROCBOT_APPROVAL_TAG" desc:"a tag that approves a request (only if tagging is limited to operators)"`
	ReminderEvery time.Duration `envconfig:"PROCBOT_REMINDER_EVERY" default:"168h" desc:"how often an overdue step's child gets a reminder note; 0: never"`
	AllowHTTP     bool          `envconfig:"PROCBOT_ALLOW_HTTP" default:"false" desc:"allow plain-http tracker URLs (for local test trackers)"`
	LogLevel      string        `envconfig:"PROCBOT_LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	LogFormat     string        `envconfig:"PROCBOT_LOG_FORMAT" default:"json" desc:"json or console"`
	// MaxAnswer bounds a tracker's answer; MaxArticleAnswer an answer
	// carrying articles (ticket texts), which may be longer.
	MaxAnswer        Size `envconfig:"PROCBOT_MAX_ANSWER_SIZE" default:"4MiB" desc:"largest tracker answer procbot reads"`
	MaxArticleAnswer Size `envconfig:"PROCBOT_MAX_ARTICLE_ANSWER_SIZE" default:"16MiB" desc:"largest tracker answer with articles procbot reads"`

	GGUS   GGUS   `ignored:"true"`
	RT     RT     `ignored:"true"`
	SMTP   SMTP   `ignored:"true"`
	Digest Digest `ignored:"true"`
	// AnnounceTo receive the announcement by mail when a procedure completes.
	AnnounceTo []string `envconfig:"PROCBOT_ANNOUNCE_TO" desc:"addresses that receive the announcement by mail (the OMB, the broadcast editors)"`
	// TaskForce are on every request's task force, e.g. EGI Operations.
	TaskForce string `envconfig:"PROCBOT_TASKFORCE" desc:"default task force members: email[=role];..."`
}

// parts are the structs the settings are read into, each on its own.
func (c *Config) parts() []any { return []any{c, &c.GGUS, &c.RT, &c.SMTP, &c.Digest} }

// SMTP is the mail server procbot sends through. An empty host sends no mail.
type SMTP struct {
	Host     string        `envconfig:"PROCBOT_SMTP_HOST" desc:"SMTP server; empty: no mail (no digest, no announcement mail)"`
	Port     int           `envconfig:"PROCBOT_SMTP_PORT" default:"587" desc:"SMTP port"`
	TLS      string        `envconfig:"PROCBOT_SMTP_TLS" default:"starttls" desc:"starttls, implicit (port 465) or none (local relays only)"`
	Username string        `envconfig:"PROCBOT_SMTP_USERNAME" desc:"SMTP user, if the server wants AUTH"`
	Password Secret        `envconfig:"PROCBOT_SMTP_PASSWORD" desc:"SMTP password"`
	From     string        `envconfig:"PROCBOT_SMTP_FROM" desc:"From address, e.g. procbot <procbot@egi.eu>"`
	Timeout  time.Duration `envconfig:"PROCBOT_SMTP_TIMEOUT" default:"30s" desc:"per-message timeout"`
}

// Digest is the weekly digest's schedule.
type Digest struct {
	Schedule string        `envconfig:"PROCBOT_DIGEST_SCHEDULE" default:"0 8 * * 1" desc:"cron spec of the digest (default Mondays 08:00)"`
	TimeZone string        `envconfig:"PROCBOT_DIGEST_TIMEZONE" default:"Europe/Amsterdam" desc:"time zone of the schedule"`
	Retry    time.Duration `envconfig:"PROCBOT_DIGEST_RETRY" default:"15m" desc:"how soon digests that could not be sent are tried again"`
}

// GGUS is the GGUS helpdesk (Zammad) connection.
type GGUS struct {
	URL        string        `envconfig:"PROCBOT_GGUS_URL" desc:"Zammad API base, e.g. https://helpdesk.ggus.eu/api/v1; empty: GGUS not used"`
	Token      Secret        `envconfig:"PROCBOT_GGUS_TOKEN" desc:"API token of procbot's GGUS account"`
	Terminal   []string      `envconfig:"PROCBOT_GGUS_TERMINAL_STATES" default:"solved,unsolved,verified,closed" desc:"states that complete a step"`
	Failed     []string      `envconfig:"PROCBOT_GGUS_FAILED_STATES" default:"unsolved" desc:"states in which a step has failed: it holds the steps after it until an operator acts"`
	CloseState string        `envconfig:"PROCBOT_GGUS_CLOSE_STATE" default:"closed" desc:"state procbot sets to close a ticket"`
	Timeout    time.Duration `envconfig:"PROCBOT_GGUS_TIMEOUT" default:"30s" desc:"per-request timeout"`
}

// RT is the Request Tracker connection.
type RT struct {
	URL           string        `envconfig:"PROCBOT_RT_URL" desc:"REST 2.0 base, e.g. https://rt.egi.eu/rt/REST/2.0; empty: RT not used"`
	Token         Secret        `envconfig:"PROCBOT_RT_TOKEN" desc:"RT auth token (or use USER and PASSWORD)"`
	User          string        `envconfig:"PROCBOT_RT_USER" desc:"RT user procbot acts as; its own comments are ignored"`
	Password      Secret        `envconfig:"PROCBOT_RT_PASSWORD" desc:"password of RT USER, if no token"`
	TimeZone      string        `envconfig:"PROCBOT_RT_TIMEZONE" default:"UTC" desc:"RT's $Timezone, used to write TicketSQL dates"`
	Terminal      []string      `envconfig:"PROCBOT_RT_TERMINAL_STATES" default:"resolved,rejected" desc:"statuses that complete a step"`
	CloseState    string        `envconfig:"PROCBOT_RT_CLOSE_STATE" default:"resolved" desc:"status procbot sets to close a ticket"`
	ClosePaths    string        `envconfig:"PROCBOT_RT_CLOSE_PATHS" desc:"per queue on a lifecycle of its own, the statuses to pass through to the one that closes its tickets, that one last: queue=status>status>...;..."`
	QueueTerminal string        `envconfig:"PROCBOT_RT_QUEUE_TERMINAL_STATES" desc:"per queue on a lifecycle of its own, the statuses that complete a step there: queue=status,status;..."`
	Failed        []string      `envconfig:"PROCBOT_RT_FAILED_STATES" default:"rejected" desc:"statuses in which a step has failed: it holds the steps after it until an operator acts"`
	QueueFailed   string        `envconfig:"PROCBOT_RT_QUEUE_FAILED_STATES" desc:"per queue on a lifecycle of its own, the statuses in which a step has failed there: queue=status,status;..."`
	Timeout       time.Duration `envconfig:"PROCBOT_RT_TIMEOUT" default:"30s" desc:"per-request timeout"`
}

// Paths reads PROCBOT_RT_CLOSE_PATHS: by queue, the statuses a ticket
// passes through, in order; the last is the status that closes a ticket
// of that queue, in place of PROCBOT_RT_CLOSE_STATE.
func (r RT) Paths() (map[string][]string, error) {
	return byQueue("PROCBOT_RT_CLOSE_PATHS", r.ClosePaths, ">", "Requirements=accepted>in progress>resolved")
}

// QueueTerminals reads PROCBOT_RT_QUEUE_TERMINAL_STATES: by queue, the
// statuses that complete a step there, in place of
// PROCBOT_RT_TERMINAL_STATES.
func (r RT) QueueTerminals() (map[string][]string, error) {
	return byQueue("PROCBOT_RT_QUEUE_TERMINAL_STATES", r.QueueTerminal, ",", "Requirements=resolved,rejected")
}

// QueueFailedStates reads PROCBOT_RT_QUEUE_FAILED_STATES: by queue, the
// statuses in which a step has failed there, in place of
// PROCBOT_RT_FAILED_STATES.
func (r RT) QueueFailedStates() (map[string][]string, error) {
	return byQueue("PROCBOT_RT_QUEUE_FAILED_STATES", r.QueueFailed, ",", "Requirements=rejected")
}

// FailedOf lists the statuses in which a step has failed in the queue.
func (r RT) FailedOf(failed map[string][]string, queue string) []string {
	if f := ofQueue(failed, queue); f != nil {
		return f
	}
	return r.Failed
}

// CloseStateOf is the status that closes a ticket of the queue.
func (r RT) CloseStateOf(paths map[string][]string, queue string) string {
	if p := ofQueue(paths, queue); len(p) > 0 {
		return p[len(p)-1]
	}
	return r.CloseState
}

// PathOf is how procbot closes a ticket of the queue, for people: its
// close path or the close status.
func (r RT) PathOf(paths map[string][]string, queue string) string {
	if p := ofQueue(paths, queue); len(p) > 0 {
		return strings.Join(p, " > ")
	}
	return r.CloseState
}

// TerminalOf lists the statuses that complete a step in the queue.
func (r RT) TerminalOf(terminal map[string][]string, queue string) []string {
	if t := ofQueue(terminal, queue); t != nil {
		return t
	}
	return r.Terminal
}

// ofQueue is the queue's entry, its name compared as RT does, without
// regard to case.
func ofQueue(m map[string][]string, queue string) []string {
	for q, v := range m {
		if strings.EqualFold(q, queue) {
			return v
		}
	}
	return nil
}

// checkLifecycles checks that the status procbot closes a ticket with, in
// every queue, is one that completes a step there: a ticket procbot closed
// would otherwise count as still open.
func (r RT) checkLifecycles() error {
	paths, perr := r.Paths()
	terminal, terr := r.QueueTerminals()
	failed, ferr := r.QueueFailedStates()
	if err := errors.Join(perr, terr, ferr); err != nil {
		return err
	}
	queues := []string{""} // the default
	for q := range paths {
		queues = append(queues, q)
	}
	for _, m := range []map[string][]string{terminal, failed} {
		for q := range m {
			if !slices.ContainsFunc(queues, func(x string) bool { return strings.EqualFold(x, q) }) {
				queues = append(queues, q)
			}
		}
	}
	slices.Sort(queues)
	var problems []error
	for _, q := range queues {
		closeState, done := r.CloseStateOf(paths, q), r.TerminalOf(terminal, q)
		where, from, doneFrom := "", "PROCBOT_RT_CLOSE_STATE", "PROCBOT_RT_TERMINAL_STATES"
		if q != "" {
			where = fmt.Sprintf(" in queue %q", q)
		}
		if slices.ContainsFunc(r.FailedOf(failed, q), func(s string) bool { return strings.EqualFold(s, closeState) }) {
			problems = append(problems, fmt.Errorf("procbot closes tickets%s with %q, which is among the statuses in which a step has failed (PROCBOT_RT_FAILED_STATES or PROCBOT_RT_QUEUE_FAILED_STATES): a step procbot closed would count as failed",
				where, closeState))
			continue
		}
		if slices.ContainsFunc(done, func(s string) bool { return strings.EqualFold(s, closeState) }) {
			continue
		}
		if ofQueue(paths, q) != nil {
			from = "the end of its PROCBOT_RT_CLOSE_PATHS"
		}
		if ofQueue(terminal, q) != nil {
			doneFrom = "its PROCBOT_RT_QUEUE_TERMINAL_STATES"
		}
		problems = append(problems, fmt.Errorf("procbot closes tickets%s with %q (%s), which is not among the statuses that complete a step there (%s %s): a ticket procbot closed would still count as open",
			where, closeState, from, doneFrom, strings.Join(done, ",")))
	}
	return errors.Join(problems...)
}

// byQueue reads a setting of the form queue=item<sep>item...;queue=...
// into lists by queue name. Queue names may contain spaces; RT compares
// them without regard to case, so two entries for one queue are an error.
func byQueue(variable, value, sep, example string) (map[string][]string, error) {
	out := map[string][]string{}
	seen := map[string]bool{}
	var problems []error
	for i, entry := range strings.Split(value, ";") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		queue, list, ok := strings.Cut(entry, "=")
		queue = strings.TrimSpace(queue)
		var items []string
		for _, st := range strings.Split(list, sep) {
			if st = strings.TrimSpace(st); st != "" {
				items = append(items, st)
			}
		}
		switch {
		case !ok || queue == "" || len(items) == 0:
			problems = append(problems, fmt.Errorf("entry %d %q: want queue=status%sstatus..., e.g. %s", i+1, entry, sep, example))
		case seen[strings.ToLower(queue)]:
			problems = append(problems, fmt.Errorf("entry %d: queue %q is named twice", i+1, queue))
		default:
			seen[strings.ToLower(queue)] = true
			out[queue] = items
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("%s: %w", variable, err)
	}
	return out, nil
}

// Load reads the settings from the environment and checks them.
func Load() (Config, error) {
	c, err := read()
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// LoadMail reads the settings for procbot digest, which needs the database
// and mail settings but no tracker.
func LoadMail() (Config, error) {
	c, err := read()
	if err != nil {
		return c, err
	}
	return c, c.ValidateMail()
}

// read reads every setting from its PROCBOT_ variable, after checking that
// every PROCBOT_ variable set is one procbot knows: a misspelt setting
// would otherwise be silently ignored.
func read() (Config, error) {
	var c Config
	if err := unknownVariables(os.Environ()); err != nil {
		return c, err
	}
	for _, part := range c.parts() {
		if err := envconfig.Process("", part); err != nil {
			var pe *envconfig.ParseError
			if errors.As(err, &pe) {
				return c, fmt.Errorf("%s: %q is not a valid %s: %w", pe.KeyName, pe.Value, kindName(pe.TypeName), pe.Err)
			}
			return c, fmt.Errorf("config: %w", err)
		}
	}
	return c, nil
}

func kindName(typ string) string {
	switch typ {
	case "time.Duration":
		return "duration (e.g. 90s, 2m, 168h)"
	case "bool":
		return "boolean (true or false)"
	case "int":
		return "number"
	case "config.Size":
		return "size (e.g. 4MiB, 512KiB, or bytes)"
	}
	return typ
}

// Names lists the variable of every setting, in the order of Config.
func Names() []string {
	var c Config
	var out []string
	for _, part := range c.parts() {
		t := reflect.TypeOf(part).Elem()
		for i := 0; i < t.NumField(); i++ {
			if name := t.Field(i).Tag.Get("envconfig"); name != "" {
				out = append(out, name)
			}
		}
	}
	return out
}

// prefix starts every setting's name; a variable with it that is not a
// setting is an error.
const prefix = "PROCBOT_"

func unknownVariables(environ []string) error {
	known := map[string]bool{}
	names := Names()
	for _, n := range names {
		known[n] = true
	}
	var errs []error
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, prefix) || known[name] {
			continue
		}
		errs = append(errs, fmt.Errorf("%s is not a procbot setting; did you mean %s? (the settings are listed in the README)", name, closest(name, names)))
	}
	return errors.Join(errs...)
}

// closest returns the name nearest to s by edit distance.
func closest(s string, names []string) string {
	best, bestD := "", -1
	for _, n := range names {
		if d := editDistance(s, n); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Size is a number of bytes, written as bytes or with a binary unit:
// "4MiB", "512KiB", "1GiB", "65536".
type Size int64

var sizeUnits = []struct {
	suffix string
	n      int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// Decode parses a size; envconfig calls it.
func (s *Size) Decode(v string) error {
	v = strings.TrimSpace(v)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return errors.New("want a whole number of bytes, KiB, MiB or GiB")
	}
	*s = Size(n * mult)
	return nil
}

func (s Size) String() string {
	for _, u := range sizeUnits {
		if s != 0 && int64(s)%u.n == 0 {
			return strconv.FormatInt(int64(s)/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
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
	if err := c.RT.checkLifecycles(); err != nil {
		errs = append(errs, err)
	}
	if slices.ContainsFunc(c.GGUS.Failed, func(s string) bool { return strings.EqualFold(s, c.GGUS.CloseState) }) {
		errs = append(errs, fmt.Errorf("PROCBOT_GGUS_CLOSE_STATE %q is among PROCBOT_GGUS_FAILED_STATES: a step procbot closed would count as failed", c.GGUS.CloseState))
	}
	if !slices.ContainsFunc(c.GGUS.Terminal, func(s string) bool { return strings.EqualFold(s, c.GGUS.CloseState) }) {
		errs = append(errs, fmt.Errorf("PROCBOT_GGUS_CLOSE_STATE %q is not among PROCBOT_GGUS_TERMINAL_STATES (%s): a ticket procbot closed would still count as open",
			c.GGUS.CloseState, strings.Join(c.GGUS.Terminal, ",")))
	}
	errs = append(errs,
		atLeast("PROCBOT_POLL_INTERVAL", c.PollInterval, time.Second),
		atLeast("PROCBOT_POLL_OVERLAP", c.PollOverlap, 0),
		atLeast("PROCBOT_CYCLE_TIMEOUT", c.CycleTimeout, time.Second),
		atLeast("PROCBOT_REMINDER_EVERY", c.ReminderEvery, 0),
		atLeast("PROCBOT_GGUS_TIMEOUT", c.GGUS.Timeout, time.Second),
		atLeast("PROCBOT_RT_TIMEOUT", c.RT.Timeout, time.Second),
		positiveSize("PROCBOT_MAX_ANSWER_SIZE", c.MaxAnswer),
		positiveSize("PROCBOT_MAX_ARTICLE_ANSWER_SIZE", c.MaxArticleAnswer),
		c.validateRoutes())
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
	errs = append(errs, atLeast("PROCBOT_DIGEST_RETRY", c.Digest.Retry, time.Second), atLeast("PROCBOT_SMTP_TIMEOUT", c.SMTP.Timeout, time.Second))
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

// atLeast checks a duration setting against its least sensible value.
func atLeast(name string, d, least time.Duration) error {
	switch {
	case d < 0:
		return fmt.Errorf("%s: %s is negative", name, d)
	case d < least:
		return fmt.Errorf("%s: %s is too short (at least %s)", name, d, least)
	}
	return nil
}

func positiveSize(name string, s Size) error {
	if s <= 0 {
		return fmt.Errorf("%s: %s is no size to read an answer with (e.g. 4MiB)", name, s)
	}
	return nil
}

// validateRoutes checks that every route override names a tracker that is
// configured.
func (c Config) validateRoutes() error {
	routes, err := procedure.ParseRoutes(c.Routes)
	if err != nil {
		return fmt.Errorf("PROCBOT_ROUTES: %w", err)
	}
	configured := map[string]string{procedure.TrackerGGUS: c.GGUS.URL, procedure.TrackerRT: c.RT.URL}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(routes)) {
		if r := routes[key]; configured[r.Tracker] == "" {
			errs = append(errs, fmt.Errorf("PROCBOT_ROUTES: %s is routed to %s, which is not configured (PROCBOT_%s_URL is empty)", key, r.Tracker, strings.ToUpper(r.Tracker)))
		}
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
// the environment (the demo runs on these). TestDefaultsAreLoadsDefaults
// keeps them equal to what Load gives with no variable set.
func Defaults() Config {
	var c Config
	for _, part := range c.parts() {
		v := reflect.ValueOf(part).Elem()
		for i := 0; i < v.NumField(); i++ {
			def, ok := v.Type().Field(i).Tag.Lookup("default")
			if !ok {
				continue
			}
			if err := setDefault(v.Field(i), def); err != nil {
				panic(fmt.Sprintf("config: the default of %s: %v", v.Type().Field(i).Tag.Get("envconfig"), err)) // a programming error
			}
		}
	}
	return c
}

func setDefault(f reflect.Value, def string) error {
	if d, ok := f.Addr().Interface().(interface{ Decode(string) error }); ok {
		return d.Decode(def)
	}
	switch {
	case f.Type() == reflect.TypeOf(time.Duration(0)):
		d, err := time.ParseDuration(def)
		f.SetInt(int64(d))
		return err
	case f.Kind() == reflect.String:
		f.SetString(def)
	case f.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(def)
		f.SetBool(b)
		return err
	case f.Kind() == reflect.Int:
		n, err := strconv.Atoi(def)
		f.SetInt(int64(n))
		return err
	case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
		f.Set(reflect.ValueOf(strings.Split(def, ",")))
	default:
		return fmt.Errorf("no default for a %s", f.Type())
	}
	return nil
}
