// Package retry is the read-retry policy procbot's tracker clients share:
// which failed reads are worth another try, and how long a Retry-After
// asks to wait. The waiting itself (capped exponential backoff with
// jitter) is resty's; mutations are never retried (each client decides
// per request).
package retry

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"
)

// Retryable says whether a failed read is worth another try: transport
// errors (refused or reset connections, timeouts) and answers that say the
// tracker or a proxy in front of it is overloaded or restarting.
func Retryable(r *resty.Response, err error) bool {
	if r != nil && r.Request != nil {
		if ctx := r.Request.Context(); ctx != nil && ctx.Err() != nil {
			return false // procbot is stopping or the cycle ran out of time
		}
	}
	if err != nil {
		return true
	}
	if r == nil {
		return false
	}
	switch r.StatusCode() {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// After returns a resty RetryAfterFunc that honours a Retry-After on 429
// and 503, in seconds or as an HTTP date, capped at maxWait. It returns zero
// (resty's jittered backoff) when there is none. onWait, if set, learns
// each wait it asked for (tests use it).
func After(maxWait time.Duration, onWait func(time.Duration)) resty.RetryAfterFunc {
	return func(_ *resty.Client, r *resty.Response) (time.Duration, error) {
		d := Header(r, time.Now())
		if d <= 0 {
			return 0, nil
		}
		if d > maxWait {
			d = maxWait
		}
		if onWait != nil {
			onWait(d)
		}
		return d, nil
	}
}

// Header reads the wait a 429 or 503 answer's Retry-After asks for.
func Header(r *resty.Response, now time.Time) time.Duration {
	if r == nil || (r.StatusCode() != http.StatusTooManyRequests && r.StatusCode() != http.StatusServiceUnavailable) {
		return 0
	}
	v := strings.TrimSpace(r.Header().Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}
