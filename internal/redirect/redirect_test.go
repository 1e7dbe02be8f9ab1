package redirect_test

import (
	"net/http"
	"testing"

	"github.com/procbot/procbot/internal/redirect"
)

func TestTarget(t *testing.T) {
	for _, tc := range []struct {
		name, location, want string
	}{
		{"a plain URL", "https://rt.example/NoAuth/Login.html", "https://rt.example/NoAuth/Login.html"},
		{"user information is dropped", "https://root:secret@rt.example:8443/steal?x=1", "https://rt.example:8443/steal?x=1"},
		{"no Location", "", "(no Location)"},
		{"unparsable, on one line", "https://rt.example/%zz\r\nX-Injected: 1", "https://rt.example/%zz X-Injected: 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.location != "" {
				h.Set("Location", tc.location)
			}
			if got := redirect.Target(h); got != tc.want {
				t.Errorf("Target(%q) = %q, want %q", tc.location, got, tc.want)
			}
		})
	}
}
