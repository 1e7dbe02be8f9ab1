package retry_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/procbot/procbot/internal/retry"
)

func answer(status int, retryAfter string) *resty.Response {
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return &resty.Response{RawResponse: &http.Response{StatusCode: status, Header: h}}
}

func TestHeader(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		r    *resty.Response
		want time.Duration
	}{
		{"seconds on a 429", answer(429, "3"), 3 * time.Second},
		{"an HTTP date on a 503", answer(503, now.Add(90*time.Second).Format(http.TimeFormat)), 90 * time.Second},
		{"no header", answer(429, ""), 0},
		{"garbage", answer(429, "soon"), 0},
		{"ignored on other answers", answer(500, "3"), 0},
		{"no answer at all", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retry.Header(tc.r, now); got != tc.want {
				t.Errorf("Header = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAfterIsCapped(t *testing.T) {
	var asked time.Duration
	after := retry.After(2*time.Second, func(d time.Duration) { asked = d })
	if d, _ := after(nil, answer(429, "30")); d != 2*time.Second || asked != 2*time.Second {
		t.Errorf("wait %s (told %s), want the 2s cap", d, asked)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		r    *resty.Response
		err  error
		want bool
	}{
		{"a transport error", nil, errors.New("connection reset by peer"), true},
		{"429", answer(429, ""), nil, true},
		{"502", answer(502, ""), nil, true},
		{"503", answer(503, ""), nil, true},
		{"504", answer(504, ""), nil, true},
		{"404 is an answer, not a fault", answer(404, ""), nil, false},
		{"422", answer(422, ""), nil, false},
		{"200", answer(200, ""), nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := retry.Retryable(tc.r, tc.err); got != tc.want {
				t.Errorf("Retryable = %v, want %v", got, tc.want)
			}
		})
	}
}
