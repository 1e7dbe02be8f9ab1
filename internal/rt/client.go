// Package rt is procbot's client for Request Tracker 5 over REST 2.0.
//
// It is what the daemon's poll and executor need of a tracker
// (daemon.Poller, daemon.Actor) and keeps the contract of
// internal/trackertest. RT's REST 2.0 has traps that the code below
// works around deliberately (see the comments at each): ids that are strings
// in some answers and numbers in others, "pages": 0.0, failures reported
// inside 200 answers, links to missing tickets dropped without an error, and
// TicketSQL date literals read in RT's own time zone with whole-second,
// strictly-greater comparison.
//
// The client never follows a redirect: credentials go only to the
// configured origin, and a 3xx is an error naming where it pointed. Every
// answer is read through a size limit (Config.MaxAnswer,
// Config.MaxArticleAnswer), and a change counts as made only when RT
// confirms it (the new ticket's id, RT's message, or the ticket re-read).
package rt

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/bounded"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/redirect"
	"github.com/procbot/procbot/internal/retry"
)

// Config says where RT is and how to log in.
type Config struct {
	// URL is the REST 2.0 base, e.g. http://127.0.0.1:PORT/REST/2.0.
	URL string
	// Token is an RT auth token ("1-<user id>-<secret>"); it wins over
	// User/Password.
	Token string
	// User and Password are the basic-auth alternative.
	User, Password string
	// Timeout of one HTTP request; default 30s.
	Timeout time.Duration
	// TimeZone is RT's $Timezone, in which RT reads TicketSQL date
	// literals; default UTC.
	TimeZone *time.Location
	// Name of the tracker in ticket references; default "rt".
	Name string
	// WebURL is the base of links for humans; default URL without /REST/2.0.
	WebURL string
	// PerPage is the page size of searches; default and maximum 100 (RT
	// caps it there anyway).
	PerPage int
	// ReadRetries is how often a failed read (a GET) is tried again after a
	// connection error, a timeout, or an answer 429, 500, 502, 503 or 504.
	// Default 3; negative: never. Changes are never retried by the client.
	ReadRetries int
	// RetryWait is the first wait before a retry; each further retry waits
	// about twice as long, with jitter, up to RetryMaxWait. Defaults 200ms
	// and 2s. A Retry-After (in seconds or as a date) on a 429 or 503 is
	// waited instead, but never longer than RetryMaxWait.
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// MaxAnswer bounds, in bytes, every answer but the attachments of a
	// transaction (searches, tickets, histories, answers to changes); a
	// longer one is an error naming the request. Default 4 MiB.
	MaxAnswer int64
	// MaxArticleAnswer bounds, in bytes, the answer that carries the text
	// of one transaction (its attachments). A transaction that exceeds it
	// is kept without its text, with a warning in Log. Default 16 MiB.
	MaxArticleAnswer int64
	// ClosePaths gives, by queue name, the statuses a ticket of that queue
	// passes through to reach the one procbot sets, in order: a queue on a
	// lifecycle that allows no direct change (EGI's Requirements queue:
	// "accepted" → "in progress" → "resolved") reaches it step by step,
	// from the status the ticket is in. A queue without one is changed
	// directly.
	ClosePaths map[string][]string
	// CloseState is the status Close sets in a queue without a close
	// path; in a queue with one, Close sets the path's last. Default
	// "resolved".
	CloseState string
	// Log receives warnings about transactions read without their text.
	// The zero value logs nothing.
	Log zerolog.Logger
}

// Retry and size defaults.
const (
	DefaultReadRetries      = 3
	DefaultRetryWait        = 200 * time.Millisecond
	DefaultRetryMaxWait     = 2 * time.Second
	DefaultMaxAnswer        = 4 << 20
	DefaultMaxArticleAnswer = 16 << 20
)

// Client talks to one RT. It is safe for concurrent use.
type Client struct {
	cfg     Config
	base    string
	web     string
	tz      *time.Location
	perPage int
	http    *resty.Client
	secrets []string
	maxWait time.Duration
	// onWait, if set, learns each wait a Retry-After asked for, as capped;
	// tests use it to see the header honoured without timing anything.
	onWait func(time.Duration)

	mu     sync.Mutex
	queues map[string]string // queue id -> name
}

// maxPages bounds a paged walk, so a server that keeps announcing more
// pages cannot keep procbot looping.
const maxPages = 10000

// New checks the configuration and builds a client; it does not contact RT.
func New(cfg Config) (*Client, error) {
	base := strings.TrimRight(strings.TrimSpace(cfg.URL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("rt: config: %w: URL must be an http(s) URL of the REST 2.0 base", core.ErrInvalid)
	}
	if cfg.Token == "" && (cfg.User == "" || cfg.Password == "") {
		return nil, fmt.Errorf("rt: config: %w: a token or a user and password is needed", core.ErrInvalid)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.TimeZone == nil {
		cfg.TimeZone = time.UTC
	}
	if cfg.CloseState == "" {
		cfg.CloseState = "resolved"
	}
	if cfg.Name == "" {
		cfg.Name = core.TrackerRT
	}
	web := strings.TrimRight(cfg.WebURL, "/")
	if web == "" {
		web = strings.TrimSuffix(base, "/REST/2.0")
	}
	per := cfg.PerPage
	if per <= 0 || per > 100 {
		per = 100
	}
	retries := cfg.ReadRetries
	if retries == 0 {
		retries = DefaultReadRetries
	}
	if retries < 0 {
		retries = 0
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = DefaultRetryWait
	}
	if cfg.RetryMaxWait <= 0 {
		cfg.RetryMaxWait = DefaultRetryMaxWait
	}
	if cfg.RetryMaxWait < cfg.RetryWait {
		cfg.RetryMaxWait = cfg.RetryWait
	}
	if cfg.MaxAnswer <= 0 {
		cfg.MaxAnswer = DefaultMaxAnswer
	}
	if cfg.MaxArticleAnswer <= 0 {
		cfg.MaxArticleAnswer = DefaultMaxArticleAnswer
	}
	c := &Client{cfg: cfg, base: base, web: web, tz: cfg.TimeZone, perPage: per, queues: map[string]string{}, maxWait: cfg.RetryMaxWait}

	rc := resty.New().
		SetTimeout(cfg.Timeout).
		// Reads only are retried, with resty's capped exponential back-off
		// with jitter: a retried POST would create a second ticket or post
		// a note twice; procbot's cycle tries changes again later from its
		// recorded intent. Without a condition resty would retry every
		// method on transport errors, so the client-wide one says no and
		// reads add their own (see do).
		SetRetryCount(retries).
		SetRetryWaitTime(cfg.RetryWait).
		SetRetryMaxWaitTime(cfg.RetryMaxWait).
		AddRetryCondition(func(*resty.Response, error) bool { return false }).
		SetRetryAfter(retry.After(c.maxWait, func(d time.Duration) {
			if c.onWait != nil {
				c.onWait(d)
			}
		})).
		SetLogger(quietLogger{}).
		SetDisableWarn(true).
		// A redirect is not followed: it would take the credentials to
		// wherever it points (Go keeps them when only the port differs),
		// and RT's own redirect to its login page would turn an auth
		// failure into a confusing HTML 200. do answers it with an error.
		SetRedirectPolicy(redirect.Refuse).
		// Answers are read by do, through a size limit.
		SetDoNotParseResponse(true).
		AddRetryHook(bounded.RetryHook(cfg.MaxAnswer)).
		SetHeader("Accept", "application/json").
		SetHeader("User-Agent", "procbot-rt/1")
	if cfg.Token != "" {
		rc.SetHeader("Authorization", "token "+cfg.Token)
		c.secrets = append(c.secrets, cfg.Token)
		if i := strings.LastIndexByte(cfg.Token, '-'); i >= 0 && len(cfg.Token)-i > 4 {
			c.secrets = append(c.secrets, cfg.Token[i+1:])
		}
	} else {
		rc.SetBasicAuth(cfg.User, cfg.Password)
		c.secrets = append(c.secrets, cfg.Password,
			base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password)))
	}
	c.http = rc
	return c, nil
}

// Name is the tracker's name in references.
func (c *Client) Name() string { return c.cfg.Name }

// quietLogger keeps resty from writing anything: its messages could carry
// request details, and procbot logs errors itself.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// redact removes credentials from text that may end up in an error.
func (c *Client) redact(s string) string {
	for _, sec := range c.secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

func (c *Client) fail(op string, kind error, detail string, code int) error {
	detail = c.redact(detail)
	if code > 0 {
		return fmt.Errorf("%s: %s: %w: %s (HTTP %d)", c.cfg.Name, op, kind, detail, code)
	}
	return fmt.Errorf("%s: %s: %w: %s", c.cfg.Name, op, kind, detail)
}

// errTooLarge marks an answer longer than the limit it was read with.
var errTooLarge = bounded.ErrTooLarge

// do sends one request and maps failures to core errors. Only 2xx answers
// come back without an error. Every read procbot makes of RT is a GET (its
// searches included), and only a GET may be retried. The answer is read
// through MaxAnswer.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body any, op string) (*resty.Response, error) {
	return c.doLimit(ctx, method, path, q, body, op, c.cfg.MaxAnswer)
}

// doLimit is do with the answer read through limit bytes; a longer answer
// is an error wrapping errTooLarge.
func (c *Client) doLimit(ctx context.Context, method, path string, q url.Values, body any, op string, limit int64) (*resty.Response, error) {
	req := c.http.R().SetContext(ctx)
	if method == http.MethodGet {
		req.AddRetryCondition(retry.Retryable)
	}
	if q != nil {
		req.SetQueryParamsFromValues(q)
	}
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	resp, err := req.Execute(method, c.base+path)
	if berr := bounded.Body(resp, limit); err == nil && berr != nil {
		if errors.Is(berr, errTooLarge) {
			return nil, fmt.Errorf("%s: %s: %w: %w: the answer to %s %s is longer than %d bytes",
				c.cfg.Name, op, core.ErrUnavailable, errTooLarge, method, path, limit)
		}
		err = berr
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s: %s: %w: %w", c.cfg.Name, op, core.ErrUnavailable, ctxErr)
		}
		return nil, c.fail(op, core.ErrUnavailable, err.Error(), 0)
	}
	code := resp.StatusCode()
	if code >= 200 && code < 300 {
		return resp, nil
	}
	msg := errorText(resp)
	var kind error
	switch {
	case code == http.StatusNotFound:
		kind = core.ErrNotFound
	case code == http.StatusUnauthorized:
		kind = core.ErrUnauthorized
	case code == http.StatusForbidden:
		kind = core.ErrForbidden
	case code >= 300 && code < 400:
		// RT redirects to its login page when it sees no usable
		// credentials; anything else at RT's URL may redirect anywhere.
		kind = core.ErrUnauthorized
		msg = fmt.Sprintf("%s %s was answered with a redirect to %s, which procbot does not follow: check the RT URL and credentials",
			method, path, redirect.Target(resp.Header()))
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		kind = core.ErrUnavailable
		if ra := resp.Header().Get("Retry-After"); ra != "" {
			msg += " (retry after " + ra + ")"
		}
	default:
		kind = core.ErrInvalid
	}
	return nil, c.fail(op, kind, msg, code)
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

// errorText is RT's {"message": …}, a message list, or a short excerpt of
// whatever else a proxy in front of RT answered.
func errorText(resp *resty.Response) string {
	b := bytes.TrimSpace(resp.Body())
	var m struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return strings.TrimSpace(m.Message)
	}
	var list []string
	if json.Unmarshal(b, &list) == nil && len(list) > 0 {
		return strings.Join(list, "; ")
	}
	s := strings.Join(strings.Fields(tagRe.ReplaceAllString(string(b), " ")), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		s = http.StatusText(resp.StatusCode())
	}
	return s
}

// decode reads a JSON answer; anything else means we are not talking to
// RT's REST 2.0 (a proxy page, the web UI).
func (c *Client) decode(resp *resty.Response, v any, op string) error {
	if err := json.Unmarshal(resp.Body(), v); err != nil {
		return c.fail(op, core.ErrUnavailable,
			fmt.Sprintf("unexpected answer (%s): %v", resp.Header().Get("Content-Type"), err), resp.StatusCode())
	}
	return nil
}

// ---- wire types

// flexID takes RT's ids, which are strings ("1") in most answers and
// numbers (1) in single-record answers.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	if i, err := n.Int64(); err == nil {
		*f = flexID(strconv.FormatInt(i, 10))
		return nil
	}
	if x, err := n.Float64(); err == nil && x == float64(int64(x)) {
		*f = flexID(strconv.FormatInt(int64(x), 10))
		return nil
	}
	*f = flexID(n.String())
	return nil
}

// flexInt takes counts that RT may write as 3, 3.0 or "3".
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	var id flexID
	if err := id.UnmarshalJSON(b); err != nil {
		return err
	}
	if id == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseFloat(string(id), 64)
	if err != nil {
		return fmt.Errorf("count: %w", err)
	}
	*f = flexInt(n)
	return nil
}

// rtTime reads RT's UTC timestamps; RT writes unset dates as the epoch.
type rtTime time.Time

func (t *rtTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil || s == "" || s == "1970-01-01T00:00:00Z" {
		*t = rtTime(time.Time{})
		return nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05"} {
		if v, err := time.Parse(layout, s); err == nil {
			*t = rtTime(v.UTC())
			return nil
		}
	}
	return fmt.Errorf("time %q: not RFC 3339", s)
}

// Several RT objects have keys differing only in case ("type"/"Type",
// "name"/"Name"); encoding/json matches case-insensitively, so each such key
// gets its own field lest one overwrite the other.
type objRef struct {
	ID        flexID `json:"id"`
	Type      string `json:"type"`
	Name      string `json:"Name"`
	LowerName string `json:"name"`
}

type hyperlink struct {
	Ref  string `json:"ref"`
	Type string `json:"type"`
	ID   flexID `json:"id"`
	URL  string `json:"_url"`
}

type wireTicket struct {
	ID          flexID      `json:"id"`
	Kind        string      `json:"type"`
	TicketType  string      `json:"Type"`
	Subject     string      `json:"Subject"`
	Status      string      `json:"Status"`
	Queue       objRef      `json:"Queue"`
	Creator     objRef      `json:"Creator"`
	Created     rtTime      `json:"Created"`
	LastUpdated rtTime      `json:"LastUpdated"`
	Hyperlinks  []hyperlink `json:"_hyperlinks"`
}

// envelope is a page of a collection. Only its items are read: "total",
// "next_page" and "pages" are not to be trusted (see walk).
type envelope struct {
	Items json.RawMessage `json:"items"`
}

// errEnough, returned by walk's each, ends the walk: the caller has read
// as far as it needs.
var errEnough = errors.New("read as far as needed")

// walk fetches every page of a collection, until a page holds no item.
// Neither "total" nor "next_page" nor a short page ends it: for a user who
// is not root RT answers "total": null and no "next_page", and drops from
// each page the items the user may not see, so a page may be short with
// more to come. "pages" is never read.
func (c *Client) walk(ctx context.Context, path string, q url.Values, op string, each func(json.RawMessage) error) error {
	return c.walkLimit(ctx, path, q, op, c.cfg.MaxAnswer, false, each)
}

// walkLimit is walk with each page read through limit bytes. whole says
// that RT drops no item of this collection from a page (the attachments of
// one transaction are visible with it), so that a short page is the last.
func (c *Client) walkLimit(ctx context.Context, path string, q url.Values, op string, limit int64, whole bool, each func(json.RawMessage) error) error {
	q.Set("per_page", strconv.Itoa(c.perPage))
	var first json.RawMessage // the first item of the page before
	for page := 1; page <= maxPages; page++ {
		q.Set("page", strconv.Itoa(page))
		resp, err := c.doLimit(ctx, http.MethodGet, path, q, nil, op, limit)
		if err != nil {
			return err
		}
		var env envelope
		if err := c.decode(resp, &env, op); err != nil {
			return err
		}
		var items []json.RawMessage
		if len(env.Items) > 0 {
			if err := json.Unmarshal(env.Items, &items); err != nil {
				return c.fail(op, core.ErrUnavailable, "items are not a list: "+err.Error(), resp.StatusCode())
			}
		}
		if len(items) > 0 && bytes.Equal(items[0], first) {
			// The server answered this page as the one before: it ignores
			// "page", and without this it would be read 10,000 times.
			c.cfg.Log.Warn().Str("tracker", c.Name()).Str("request", path).Int("page", page).
				Msg("RT answered a page as the one before it; taken as the end of the list")
			return nil
		}
		if len(items) > 0 {
			first = items[0]
		}
		for _, it := range items {
			if err := each(it); errors.Is(err, errEnough) {
				return nil
			} else if err != nil {
				return err
			}
		}
		if len(items) == 0 || (whole && len(items) < c.perPage) {
			return nil
		}
	}
	return c.fail(op, core.ErrUnavailable, fmt.Sprintf("more than %d pages", maxPages), 0)
}

// messages reads the message list RT answers updates with.
func messages(resp *resty.Response) []string {
	var list []string
	if json.Unmarshal(resp.Body(), &list) == nil {
		return list
	}
	var one struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(resp.Body(), &one) == nil && one.Message != "" {
		return []string{one.Message}
	}
	return nil
}

var errNotNumeric = errors.New("ticket ids are numbers")

func ticketID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n <= 0 {
		return 0, errNotNumeric
	}
	return n, nil
}
