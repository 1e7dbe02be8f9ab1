package core

import "errors"

// Errors that tracker adapters wrap (with %w) so callers can tell the kinds of
// failure apart without knowing which tracker answered.
var (
	// ErrNotFound: the ticket (or queue, or article) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the tracker refused the credentials (401).
	ErrUnauthorized = errors.New("credentials refused")
	// ErrForbidden: authenticated, but not allowed (403), e.g. no right to
	// create tickets in a queue, or an unknown RT queue.
	ErrForbidden = errors.New("not allowed")
	// ErrInvalid: the tracker rejected the request as invalid (400/422), e.g.
	// an unknown Zammad group or state name.
	ErrInvalid = errors.New("rejected as invalid")
	// ErrUnavailable: the tracker did not answer usefully (5xx, timeout,
	// connection refused, 429). Worth trying again later.
	ErrUnavailable = errors.New("tracker unavailable")
)
