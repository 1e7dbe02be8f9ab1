// Package bounded reads the answers of procbot's tracker clients through a
// size limit, so that a tracker streaming without end cannot exhaust
// procbot's memory.
//
// resty's own limit (SetResponseBodyLimit) reads by appending small
// chunks, which allocates about five times the limit on the way; here the
// buffer doubles (or is sized from Content-Length), about twice the limit
// at most. The clients send every request with SetDoNotParseResponse and
// call Body on each answer; RetryHook does the same for answers resty is
// about to retry, so no connection is left unread.
package bounded

import (
	"errors"
	"io"

	"github.com/go-resty/resty/v2"
)

// ErrTooLarge is the error of an answer longer than its limit.
var ErrTooLarge = errors.New("answer longer than the size limit")

// Read reads r to its end, at most limit bytes; contentLength, if known
// (>= 0), sizes the buffer and refuses an announced excess without reading.
// The buffer doubles as it fills, never beyond limit+1 bytes, so reading
// allocates at most about twice the limit.
func Read(r io.Reader, limit, contentLength int64) ([]byte, error) {
	if contentLength > limit {
		return nil, ErrTooLarge
	}
	size := int64(512)
	if contentLength >= 0 {
		size = contentLength + 1 // room to see the end
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, ErrTooLarge
			}
			grow := 2 * int64(cap(buf))
			if grow >= limit {
				grow = limit + 1 // the last step: room for the limit and one byte more
			}
			next := make([]byte, len(buf), grow)
			copy(next, buf)
			buf = next
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, ErrTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Body reads the raw body of resp, an answer to a request sent with
// SetDoNotParseResponse, through limit, closes it and keeps it as
// resp.Body(). An answer already read (by RetryHook) is left as it is.
// The body of a failed request is closed.
func Body(resp *resty.Response, limit int64) error {
	if resp == nil || resp.RawResponse == nil || resp.RawResponse.Body == nil || resp.Body() != nil {
		return nil
	}
	raw := resp.RawResponse.Body
	defer raw.Close()
	b, err := Read(raw, limit, resp.RawResponse.ContentLength)
	if b == nil {
		b = []byte{}
	}
	resp.SetBody(b)
	return err
}

// RetryHook reads, through limit, the answer of an attempt that resty is
// about to retry (or gives up on), so that its connection is freed.
func RetryHook(limit int64) resty.OnRetryFunc {
	return func(resp *resty.Response, _ error) {
		_ = Body(resp, limit)
	}
}
