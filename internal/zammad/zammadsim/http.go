package zammadsim

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const apiPrefix = "/api/v1"

// apiError is an error answer: Zammad's {"error","error_human"} body.
type apiError struct {
	status int
	msg    string
	// human: the message has a human-readable variant (error_human).
	human bool
}

func (e *apiError) Error() string { return e.msg }

func notFound(model string, id any) *apiError {
	return &apiError{http.StatusNotFound, fmt.Sprintf("Couldn't find %s with 'id'=%v", model, id), true}
}

func unprocessable(format string, args ...any) *apiError {
	return &apiError{http.StatusUnprocessableEntity, fmt.Sprintf(format, args...), true}
}

func lookupFailed(assoc string, value any) *apiError {
	return unprocessable("No lookup value found for '%s': %q", assoc, fmt.Sprint(value))
}

var errNotAuthorized = &apiError{http.StatusForbidden, "Not authorized", false}

// call is one authenticated API request.
type call struct {
	r *http.Request
	u *user
	p params
}

type handler func(c *call) (int, any, error)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, fn handler) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+apiPrefix+path, s.wrap(fn))
	}
	h("GET /users/me", s.getMe)
	h("GET /users/search", s.searchUsers)
	h("GET /groups", s.listGroups)
	h("GET /ticket_states", s.listStates)
	h("GET /ticket_priorities", s.listPriorities)
	h("GET /tickets", s.listTickets)
	h("POST /tickets", s.createTicket)
	h("GET /tickets/search", s.searchTickets)
	h("POST /tickets/search", s.searchTickets)
	h("GET /tickets/{id}", s.getTicket)
	h("PUT /tickets/{id}", s.updateTicket)
	h("GET /ticket_articles/by_ticket/{id}", s.articlesByTicket)
	h("GET /ticket_articles/{id}", s.getArticle)
	h("POST /ticket_articles", s.createArticle)
	h("GET /links", s.listLinks)
	h("POST /links/add", s.addLink)
	h("DELETE /links/remove", s.removeLink)
	h("GET /tags", s.listTags)
	h("POST /tags/add", s.addTag)
	h("DELETE /tags/remove", s.removeTag)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// As recorded from live Zammad servers.
		writeJSON(w, http.StatusNotFound, map[string]any{
			"error": "This page doesn't exist.", "error_human": "This page doesn't exist."})
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if s.injectFault(w, r, mux) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) wrap(fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, perr := readParams(r)
		s.mu.Lock()
		status, body, err := func() (int, any, error) {
			u, err := s.authenticate(r)
			if err != nil {
				return 0, nil, err
			}
			if perr != nil {
				return 0, nil, perr
			}
			return fn(&call{r: r, u: u, p: p})
		}()
		s.mu.Unlock()
		if err != nil {
			writeError(w, err)
			return
		}
		writeAnswer(w, r, status, body, !s.plain.Load())
	})
}

// gzipAbove is the size from which an answer is sent compressed to a
// client that accepts it, as Zammad's servers do with large answers.
const gzipAbove = 1024

// writeAnswer writes a successful answer as Zammad does: with a weak ETag
// and "Cache-Control: max-age=0, private, must-revalidate", and a large
// one gzip-compressed and chunked when the client accepts gzip.
func writeAnswer(w http.ResponseWriter, r *http.Request, status int, body any, compress bool) {
	b, err := json.Marshal(body)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "Error ID sim1: Please contact your administrator."})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	sum := sha256.Sum256(b)
	h.Set("ETag", `W/"`+hex.EncodeToString(sum[:16])+`"`)
	h.Set("Cache-Control", "max-age=0, private, must-revalidate")
	if !compress || len(b) < gzipAbove || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return
	}
	h.Set("Content-Encoding", "gzip")
	h.Set("Vary", "Accept-Encoding")
	w.WriteHeader(status)
	if f, ok := w.(http.Flusher); ok {
		f.Flush() // the header goes out alone: chunked, no Content-Length
	}
	zw := gzipWriters.Get().(*gzip.Writer)
	zw.Reset(w)
	_, _ = zw.Write(b)
	_ = zw.Close()
	gzipWriters.Put(zw)
}

// gzipWriters are reused: each holds about a megabyte of compression state.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

// authenticate implements Zammad's token schemes: "Token token=<t>",
// `Token token="<t>"`, "Token <t>" and "Bearer <t>".
func (s *Server) authenticate(r *http.Request) (*user, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return nil, &apiError{http.StatusForbidden, "Authentication required", false}
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	var tok string
	switch strings.ToLower(scheme) {
	case "token":
		if v, ok := strings.CutPrefix(rest, "token="); ok {
			rest = v
		}
		tok = strings.Trim(rest, `"`)
	case "bearer":
		tok = rest
	default:
		return nil, &apiError{http.StatusUnauthorized, "Invalid BasicAuth credentials", false}
	}
	u := s.db.userByToken(tok)
	if u == nil {
		return nil, &apiError{http.StatusUnauthorized, "Can't find User for Token", false}
	}
	return u, nil
}

func writeError(w http.ResponseWriter, err error) {
	ae, ok := err.(*apiError)
	if !ok {
		ae = &apiError{http.StatusInternalServerError, "Error ID sim0: Please contact your administrator.", false}
	}
	body := map[string]any{"error": ae.msg}
	if ae.human {
		body["error_human"] = ae.msg
	}
	if ae.status == http.StatusUnauthorized || ae.status == http.StatusForbidden {
		w.Header().Set("X-Failure", ae.msg)
	}
	writeJSON(w, ae.status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Error ID sim1: Please contact your administrator."}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// params merges the query string and a JSON object body, body winning, as
// Rails does.
type params map[string]any

func readParams(r *http.Request) (params, error) {
	p := params{}
	for k, vs := range r.URL.Query() {
		if base, ok := strings.CutSuffix(k, "[]"); ok {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			p[base] = list
			continue
		}
		p[k] = vs[len(vs)-1]
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return p, &apiError{http.StatusBadRequest, "could not read request body", false}
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return p, &apiError{http.StatusBadRequest, "Error occurred while parsing request parameters", false}
	}
	for k, v := range m {
		p[k] = v
	}
	return p, nil
}

func (p params) has(k string) bool {
	v, ok := p[k]
	return ok && v != nil
}

func (p params) str(k string) string {
	return scalarString(p[k])
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return fmt.Sprint(x)
	}
}

// intValue reads an integer given as a JSON number or a decimal string.
func intValue(v any) (int, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := strconv.Atoi(x.String())
		return i, err == nil
	case string:
		i, err := strconv.Atoi(strings.TrimSpace(x))
		return i, err == nil
	case float64:
		return int(x), x == float64(int(x))
	case int:
		return x, true
	}
	return 0, false
}

func (p params) int(k string) (int, bool) { return intValue(p[k]) }

// flag is Zammad's reading of boolean flags: true, "true", 1, "1".
func (p params) flag(k string) bool {
	switch x := p[k].(type) {
	case bool:
		return x
	case string:
		return x == "true" || x == "1"
	case json.Number:
		return x.String() == "1"
	}
	return false
}

// page reads page and per_page (alias limit) with Zammad's defaults and caps.
func (p params) page(def, max int) (page, perPage int) {
	page, ok := p.int("page")
	if !ok || page < 1 {
		page = 1
	}
	perPage, ok = p.int("per_page")
	if !ok {
		perPage, ok = p.int("limit")
	}
	if !ok || perPage < 1 {
		perPage = def
	}
	if perPage > max {
		perPage = max
	}
	return page, perPage
}

func paginate[T any](items []T, page, perPage int) []T {
	start := (page - 1) * perPage
	if start >= len(items) {
		return []T{}
	}
	end := start + perPage
	if end > len(items) {
		end = len(items)
	}
	return items[start:end]
}

const timeLayout = "2006-01-02T15:04:05.000Z"

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

func tsp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// parseTime reads the timestamps clients send: RFC 3339 with or without
// fraction, or a bare date.
func parseTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}
