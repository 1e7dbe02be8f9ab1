// Package redirect is how procbot's tracker clients treat a redirect: they
// follow none, since Go's client would take the credentials along to
// wherever it points when only the port differs, and answer it with an
// error that names its target.
package redirect

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/go-resty/resty/v2"
)

// Refuse is a resty redirect policy that follows no redirect: the client
// gets the redirect answer itself.
var Refuse = resty.RedirectPolicyFunc(func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
})

// Target is a redirect's target as shown in an error: without user
// information (credentials elsewhere in it, such as a query, are for the
// client to redact), on one line.
func Target(h http.Header) string {
	loc := h.Get("Location")
	if loc == "" {
		return "(no Location)"
	}
	u, err := url.Parse(loc)
	if err != nil {
		return strings.Join(strings.Fields(loc), " ")
	}
	u.User = nil
	return u.String()
}
