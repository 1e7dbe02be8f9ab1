// Package zammad is procbot's client for the GGUS helpdesk, a Zammad
// instance, through its REST API v1. It is what the daemon's poll and
// executor need of a tracker (daemon.Poller, daemon.Actor) and keeps the
// contract of internal/trackertest.
//
// Changes (create, note, state, link) are sent once and never retried by the
// client: a repeated create opens a duplicate ticket, and procbot's cycle
// tries them again later from its recorded intent. Reads are retried a few
// times with capped, jittered exponential back-off (see Config.ReadRetries).
//
// The client never follows a redirect: the API token goes only to the
// configured origin, and a 3xx is an error naming where it pointed. Every
// answer is read through a size limit (Config.MaxAnswer,
// Config.MaxArticleAnswer), and a change counts as made only when Zammad's
// answer confirms it (the created ticket, article or link with its id, the
// ticket in its new state).
package zammad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/rs/zerolog"

	"github.com/procbot/procbot/internal/bounded"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/redirect"
	"github.com/procbot/procbot/internal/retry"
)

// Config configures a Client.
type Config struct {
	// URL is the API base including /api/v1, e.g. https://helpdesk.ggus.eu/api/v1.
	URL string
	// Token is the API access token of procbot's account.
	Token string
	// Timeout bounds each HTTP request. Default 30s.
	Timeout time.Duration
	// Name is the tracker name in ticket references. Default "ggus".
	Name string
	// CloseState is the state Close sets. Default "closed".
	CloseState string
	// WebURL is the base of links for humans. Default: URL without /api/v1.
	WebURL string
	// PerPage is the search page size. Default and maximum 200 (Zammad's cap).
	PerPage int
	// ReadRetries is how often a failed read is tried again after a
	// connection error, a timeout, or an answer 429, 500, 502, 503 or 504.
	// Default 3; negative: never. Changes are never retried by the client.
	ReadRetries int
	// RetryWait is the first wait before a retry; each further retry waits
	// about twice as long, with jitter, up to RetryMaxWait. Defaults 200ms
	// and 2s. A Retry-After (in seconds or as a date) on a 429 or 503 is
	// waited instead, but never longer than RetryMaxWait.
	RetryWait    time.Duration
	RetryMaxWait time.Duration
	// MaxAnswer bounds, in bytes, every answer but the articles of a ticket
	// (searches, tickets, links, tags, answers to changes); a longer one is
	// an error naming the request. Default 4 MiB.
	MaxAnswer int64
	// MaxArticleAnswer bounds, in bytes, the answers that carry article
	// texts. A ticket whose articles together exceed it is read article by
	// article; an article that alone exceeds it is kept without its text,
	// with a warning in Log. Default 16 MiB.
	MaxArticleAnswer int64
	// Log receives warnings about articles read without their text. The
	// zero value logs nothing.
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

const maxPerPage = 200

// Client talks to one Zammad instance.
type Client struct {
	name    string
	webURL  string
	token   string
	perPage int
	// closeState is the state Close sets.
	closeState string
	// queryUntil is when (Unix nanoseconds) Changed tries the condition
	// search again after GGUS answered one without applying it.
	queryUntil atomic.Int64
	http       *resty.Client
	maxWait    time.Duration
	// maxAnswer and maxArticle are the size limits of answers in bytes.
	maxAnswer, maxArticle int64
	log                   zerolog.Logger
	// onWait, if set, learns each wait a Retry-After asked for, as capped;
	// tests use it to see the header honoured without timing anything.
	onWait func(time.Duration)

	meMu    sync.Mutex
	meID    int
	meLogin string
}

// New checks cfg and builds a client; it does not contact the server (see Me).
func New(cfg Config) (*Client, error) {
	if cfg.CloseState == "" {
		cfg.CloseState = "closed"
	}
	if cfg.Name == "" {
		cfg.Name = core.TrackerGGUS
	}
	base := strings.TrimRight(strings.TrimSpace(cfg.URL), "/")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s: config: URL %q is not an http(s) URL", cfg.Name, cfg.URL)
	}
	if cfg.Token == "" {
		return nil, fmt.Errorf("%s: config: no API token", cfg.Name)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.WebURL == "" {
		cfg.WebURL = strings.TrimSuffix(base, "/api/v1")
	}
	if cfg.PerPage <= 0 || cfg.PerPage > maxPerPage {
		cfg.PerPage = maxPerPage
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
	c := &Client{
		name:       cfg.Name,
		webURL:     strings.TrimRight(cfg.WebURL, "/"),
		token:      cfg.Token,
		perPage:    cfg.PerPage,
		closeState: cfg.CloseState,
		maxWait:    cfg.RetryMaxWait,
		maxAnswer:  cfg.MaxAnswer,
		maxArticle: cfg.MaxArticleAnswer,
		log:        cfg.Log,
	}

	// resty's back-off is capped exponential with jitter: about RetryWait,
	// then twice that, and so on, never above RetryMaxWait. Retries are
	// decided per request (see send): without a condition resty would
	// retry every method on transport errors, so the client-wide one says
	// no, and only reads add their own.
	c.http = resty.New().
		SetBaseURL(base).
		SetTimeout(cfg.Timeout).
		SetHeader("Authorization", "Token token="+cfg.Token).
		SetHeader("Accept", "application/json").
		SetHeader("Content-Type", "application/json").
		SetHeader("User-Agent", "procbot").
		SetDebug(false).
		// Go's client would follow a redirect and, when only the port
		// differs, send the token along: a redirect is answered instead
		// (see send).
		SetRedirectPolicy(redirect.Refuse).
		// Answers are read by send, through a size limit.
		SetDoNotParseResponse(true).
		AddRetryHook(bounded.RetryHook(cfg.MaxAnswer)).
		SetRetryCount(retries).
		SetRetryWaitTime(cfg.RetryWait).
		SetRetryMaxWaitTime(cfg.RetryMaxWait).
		AddRetryCondition(func(*resty.Response, error) bool { return false }).
		SetRetryAfter(retry.After(c.maxWait, func(d time.Duration) {
			if c.onWait != nil {
				c.onWait(d)
			}
		}))
	// resty logs request failures (with the URL) by default; procbot logs
	// the errors this package returns instead.
	c.http.SetLogger(quietLogger{})
	return c, nil
}

type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}

// Name is the tracker name used in references.
func (c *Client) Name() string { return c.name }

// APIError is an answer other than 2xx. It unwraps to the core error kind.
type APIError struct {
	Status  int
	Message string // Zammad's error_human, else error, else the status text
	Kind    error  // one of the core.Err* values
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%v: %s (HTTP %d)", e.Kind, e.Message, e.Status)
}

func (e *APIError) Unwrap() error { return e.Kind }

// opError is the error of one operation: what was being done, and why it
// failed. Its text never contains the API token.
type opError struct {
	msg   string
	cause error
	kind  error // set when cause is not already of a core kind
}

func (e *opError) Error() string { return e.msg }

func (e *opError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.cause}
}

func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	s = strings.ReplaceAll(s, c.token, "[token]")
	if q := url.QueryEscape(c.token); q != c.token {
		s = strings.ReplaceAll(s, q, "[token]")
	}
	return s
}

// fail builds the error of the operation what.
func (c *Client) fail(what string, cause error) error {
	var ae *APIError
	if errors.As(cause, &ae) {
		return &opError{msg: c.redact(fmt.Sprintf("%s: %s: %v", c.name, what, cause)), cause: cause}
	}
	for _, k := range []error{core.ErrNotFound, core.ErrUnauthorized, core.ErrForbidden, core.ErrInvalid, core.ErrUnavailable} {
		if errors.Is(cause, k) {
			return &opError{msg: c.redact(fmt.Sprintf("%s: %s: %v", c.name, what, cause)), cause: cause}
		}
	}
	return &opError{
		msg:   c.redact(fmt.Sprintf("%s: %s: %v: %v", c.name, what, core.ErrUnavailable, cause)),
		cause: cause, kind: core.ErrUnavailable,
	}
}

func kindOf(status int) error {
	switch {
	case status == http.StatusNotFound:
		return core.ErrNotFound
	case status == http.StatusUnauthorized:
		return core.ErrUnauthorized
	case status == http.StatusForbidden:
		return core.ErrForbidden
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		return core.ErrInvalid
	case status == http.StatusTooManyRequests || status >= 500:
		return core.ErrUnavailable
	}
	return core.ErrInvalid
}

// apiError reads Zammad's {"error","error_human"} body; proxies in front of
// Zammad answer with HTML or plain text, which is summarised by status.
func apiError(status int, header http.Header, body []byte) *APIError {
	e := &APIError{Status: status, Kind: kindOf(status)}
	var eb struct {
		Error      string `json:"error"`
		ErrorHuman string `json:"error_human"`
	}
	if json.Unmarshal(body, &eb) == nil {
		e.Message = eb.ErrorHuman
		if e.Message == "" {
			e.Message = eb.Error
		}
	}
	if e.Message == "" {
		e.Message = header.Get("X-Failure")
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
		if ra := header.Get("Retry-After"); ra != "" {
			e.Message += ", retry after " + ra + "s"
		}
	}
	return e
}

// do sends one request and decodes a 2xx JSON answer into out (if not nil).
// A GET is a read and may be retried; anything else is sent once.
// Errors are returned raw; callers wrap them with what they were doing.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	return c.send(ctx, request{method: method, path: path, query: query, body: body, out: out, read: method == http.MethodGet})
}

// request is one call to the API.
type request struct {
	method, path string
	query        url.Values
	body, out    any
	// read says that the request changes nothing on the server, so sending
	// it again is harmless.
	read bool
	// limit is the size limit of the answer in bytes; 0: Config.MaxAnswer.
	limit int64
}

// send carries out r. A redirect is not followed but answered with an
// error naming its target; an answer longer than the limit is an error
// wrapping bounded.ErrTooLarge; a 2xx answer that is not JSON is an error too.
func (c *Client) send(ctx context.Context, r request) error {
	req := c.http.R().SetContext(ctx)
	if r.read {
		req.AddRetryCondition(retry.Retryable)
	}
	limit := c.maxAnswer
	if r.limit > 0 {
		limit = r.limit
	}
	if r.query != nil {
		req.SetQueryParamsFromValues(r.query)
	}
	if r.body != nil {
		req.SetBody(r.body)
	}
	resp, err := req.Execute(r.method, r.path)
	if berr := bounded.Body(resp, limit); err == nil && berr != nil {
		err = berr
		if errors.Is(berr, bounded.ErrTooLarge) {
			return fmt.Errorf("%w: %w: the answer to %s %s is longer than %d bytes",
				core.ErrUnavailable, berr, r.method, r.path, limit)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	code := resp.StatusCode()
	if code >= 300 && code < 400 {
		return fmt.Errorf("%w: %s %s was answered with a redirect (HTTP %d) to %s, which procbot does not follow: check the GGUS URL",
			core.ErrUnavailable, r.method, r.path, code, redirect.Target(resp.Header()))
	}
	if code < 200 || code > 299 {
		return apiError(code, resp.Header(), resp.Body())
	}
	if r.out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body(), r.out); err != nil {
		return fmt.Errorf("%w: undecodable answer (HTTP %d, %s) to %s %s: %v",
			core.ErrUnavailable, code, contentType(resp.Header()), r.method, r.path, err)
	}
	return nil
}

func contentType(h http.Header) string {
	if ct := h.Get("Content-Type"); ct != "" {
		return ct
	}
	return "no Content-Type"
}

// unconfirmed is the error of a change whose answer does not confirm it.
func unconfirmed(method, path, why string) error {
	return fmt.Errorf("%w: the answer to %s %s does not confirm the change: %s", core.ErrUnavailable, method, path, why)
}

// ticketID checks that id is a Zammad ticket id before it goes into a path.
func ticketID(id string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: ticket id %q is not a positive number", core.ErrInvalid, id)
	}
	return n, nil
}

// Me returns procbot's own login and user id, and fails fast on a bad token.
// The answer is cached for Create's default customer.
func (c *Client) Me(ctx context.Context) (login string, id int, err error) {
	var me struct {
		ID    int    `json:"id"`
		Login string `json:"login"`
		Email string `json:"email"`
	}
	if err := c.do(ctx, http.MethodGet, "/users/me", nil, nil, &me); err != nil {
		return "", 0, c.fail("read own user (users/me)", err)
	}
	if me.Login == "" {
		me.Login = me.Email
	}
	c.meMu.Lock()
	c.meID, c.meLogin = me.ID, me.Login
	c.meMu.Unlock()
	return me.Login, me.ID, nil
}

func (c *Client) myID(ctx context.Context) (int, error) {
	c.meMu.Lock()
	id := c.meID
	c.meMu.Unlock()
	if id != 0 {
		return id, nil
	}
	_, id, err := c.Me(ctx)
	return id, err
}
