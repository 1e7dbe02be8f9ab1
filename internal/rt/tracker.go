package rt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/mailtext"
)

// Ping checks that RT answers and accepts the credentials; it returns RT's
// version.
func (c *Client) Ping(ctx context.Context) (string, error) {
	const op = "ping"
	resp, err := c.do(ctx, http.MethodGet, "/rt", nil, nil, op)
	if err != nil {
		return "", err
	}
	var v struct {
		Version string `json:"Version"`
	}
	if err := c.decode(resp, &v, op); err != nil {
		return "", err
	}
	return v.Version, nil
}

// sqlQuote escapes a TicketSQL single-quoted literal the way RT's parser
// unescapes it.
func sqlQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return strings.ReplaceAll(s, `'`, `\'`)
}

// sqlTime formats a TicketSQL date literal. RT reads it in its own
// $Timezone, and would lose the time of day of an ISO "…T…Z" literal.
func (c *Client) sqlTime(t time.Time) string {
	return t.In(c.tz).Format("2006-01-02 15:04:05")
}

// Changed returns the tickets whose subject contains match and that changed
// at or after since, oldest change first.
func (c *Client) Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error) {
	var clauses []string
	if match != "" {
		clauses = append(clauses, "Subject LIKE '"+sqlQuote(match)+"'")
	}
	if !since.IsZero() {
		// RT compares whole seconds with a strict ">": asking for one second
		// earlier keeps changes made in since's own second.
		clauses = append(clauses, "LastUpdated > '"+c.sqlTime(since.Add(-time.Second))+"'")
	}
	if len(clauses) == 0 {
		clauses = append(clauses, "id > 0")
	}
	q := url.Values{}
	q.Set("query", strings.Join(clauses, " AND "))
	// Without orderby RT returns rows in no stable order, and pages overlap
	// or skip tickets.
	q.Set("orderby", "id")
	q.Set("order", "ASC")
	q.Set("fields", "Subject,Status,Queue,Creator,Created,LastUpdated")
	q.Set("fields[Queue]", "Name")
	op := fmt.Sprintf("search tickets changed since %s", since.UTC().Format(time.RFC3339))

	seen := map[string]bool{}
	var out []core.Ticket
	err := c.walk(ctx, "/tickets", q, op, func(raw json.RawMessage) error {
		var w wireTicket
		if err := json.Unmarshal(raw, &w); err != nil {
			return c.fail(op, core.ErrUnavailable, "bad search item: "+err.Error(), 0)
		}
		if w.ID == "" || seen[string(w.ID)] {
			return nil
		}
		seen[string(w.ID)] = true
		t, err := c.toTicket(ctx, w)
		if err != nil {
			return err
		}
		// The query asked for one second more than needed; drop it here.
		if !since.IsZero() && t.UpdatedAt.Before(since.Truncate(time.Second)) {
			return nil
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	core.SortByChange(out)
	return out, nil
}

func (c *Client) ref(id string) core.TicketRef {
	return core.TicketRef{Tracker: c.Name(), ID: id, Number: id}
}

func (c *Client) toTicket(ctx context.Context, w wireTicket) (core.Ticket, error) {
	id := string(w.ID)
	qname, err := c.queueName(ctx, w.Queue)
	if err != nil {
		return core.Ticket{}, err
	}
	return core.Ticket{
		Ref:       c.ref(id),
		Title:     w.Subject,
		Queue:     qname,
		State:     w.Status,
		Creator:   string(w.Creator.ID),
		CreatedAt: time.Time(w.Created),
		UpdatedAt: time.Time(w.LastUpdated),
		URL:       c.web + "/Ticket/Display.html?id=" + id,
	}, nil
}

// queueName resolves a ticket's queue to its name. Names are cached: RT
// queues are renamed rarely, and a ticket read should not cost two requests.
func (c *Client) queueName(ctx context.Context, q objRef) (string, error) {
	id := string(q.ID)
	if id == "" {
		return "", nil
	}
	c.mu.Lock()
	if q.Name != "" {
		c.queues[id] = q.Name
	}
	name, ok := c.queues[id]
	c.mu.Unlock()
	if ok {
		return name, nil
	}
	op := "read queue " + id
	resp, err := c.do(ctx, http.MethodGet, "/queue/"+url.PathEscape(id), nil, nil, op)
	if err != nil {
		return "", err
	}
	var v struct {
		Name string `json:"Name"`
	}
	if err := c.decode(resp, &v, op); err != nil {
		return "", err
	}
	c.mu.Lock()
	c.queues[id] = v.Name
	c.mu.Unlock()
	return v.Name, nil
}

func (c *Client) getRaw(ctx context.Context, id, op string) (wireTicket, error) {
	n, err := ticketID(id)
	if err != nil {
		return wireTicket{}, c.fail(op, core.ErrInvalid, fmt.Sprintf("%q: %v", id, err), 0)
	}
	resp, err := c.do(ctx, http.MethodGet, "/ticket/"+strconv.FormatInt(n, 10), nil, nil, op)
	if err != nil {
		return wireTicket{}, err
	}
	var w wireTicket
	if err := c.decode(resp, &w, op); err != nil {
		return wireTicket{}, err
	}
	if w.ID == "" {
		w.ID = flexID(strconv.FormatInt(n, 10))
	}
	return w, nil
}

// Get reads one ticket. RT has no tags.
func (c *Client) Get(ctx context.Context, id string) (core.Ticket, error) {
	w, err := c.getRaw(ctx, id, "read ticket "+id)
	if err != nil {
		return core.Ticket{}, err
	}
	return c.toTicket(ctx, w)
}

var articleTypes = map[string]bool{"Create": true, "Correspond": true, "Comment": true}

// Articles returns the ticket's create, reply and comment transactions,
// oldest first, with plain-text bodies. A transaction whose attachments
// exceed MaxArticleAnswer is returned without its text, and logged.
func (c *Client) Articles(ctx context.Context, id string) ([]core.Article, error) {
	return c.ArticlesAfter(ctx, id, 0)
}

// ArticlesAfter returns the ticket's articles whose id is above after,
// oldest first. The history is read newest first, and only until an
// entry procbot read before: a changed ticket costs a page of history and
// a request per new article, however long its history has grown.
func (c *Client) ArticlesAfter(ctx context.Context, id string, after int64) ([]core.Article, error) {
	op := "read history of ticket " + id
	n, err := ticketID(id)
	if err != nil {
		return nil, c.fail(op, core.ErrInvalid, fmt.Sprintf("%q: %v", id, err), 0)
	}
	type item struct {
		ID   flexID `json:"id"`
		Type string `json:"Type"`
		// History items carry both "type" ("transaction") and "Type";
		// encoding/json matches keys case-insensitively, so without this
		// field "type" would overwrite Type.
		Kind    string `json:"type"`
		Creator objRef `json:"Creator"`
		Created rtTime `json:"Created"`
	}
	var txns []item
	entries := 0
	q := url.Values{}
	q.Set("fields", "Type,Creator,Created")
	q.Set("orderby", "id")
	q.Set("order", "DESC")
	err = c.walk(ctx, "/ticket/"+strconv.FormatInt(n, 10)+"/history", q, op, func(raw json.RawMessage) error {
		var it item
		if err := json.Unmarshal(raw, &it); err != nil {
			return c.fail(op, core.ErrUnavailable, "bad history item: "+err.Error(), 0)
		}
		entries++
		tid, err := strconv.ParseInt(string(it.ID), 10, 64)
		if err != nil {
			return c.fail(op, core.ErrUnavailable, fmt.Sprintf("transaction id %q is not a number", it.ID), 0)
		}
		if tid <= after {
			return errEnough // everything older was read before
		}
		if articleTypes[it.Type] {
			txns = append(txns, it)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if entries == 0 {
		// RT answers the history of a ticket that does not exist with an
		// empty list, and every ticket has its Create transaction: tell the
		// two apart by reading the ticket.
		if _, err := c.getRaw(ctx, id, op); err != nil {
			return nil, err
		}
	}
	out := make([]core.Article, 0, len(txns))
	for _, t := range txns {
		tid, err := strconv.ParseInt(string(t.ID), 10, 64)
		if err != nil {
			return nil, c.fail(op, core.ErrUnavailable, fmt.Sprintf("transaction id %q is not a number", t.ID), 0)
		}
		body, err := c.transactionBody(ctx, string(t.ID))
		if errors.Is(err, errTooLarge) {
			// One huge mail must not stop the procedure: the transaction
			// is kept, without its text.
			c.cfg.Log.Warn().Str("tracker", c.Name()).Int64("ticket", n).Int64("article", tid).
				Int64("limit_bytes", c.cfg.MaxArticleAnswer).
				Msg("article is longer than the article size limit; read without its text")
			body, err = "", nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, core.Article{
			ID:        tid,
			Author:    string(t.Creator.ID),
			Body:      body,
			Internal:  t.Type == "Comment",
			CreatedAt: time.Time(t.Created),
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// transactionBody picks the text of a transaction from its attachments,
// whose Content RT serves as plain text in this collection (GET
// /attachment/N alone would give base64). Inline text/plain parts win;
// HTML is converted only when there is no plain part.
func (c *Client) transactionBody(ctx context.Context, tid string) (string, error) {
	op := "read attachments of transaction " + tid
	type att struct {
		Content     string `json:"Content"`
		ContentType string `json:"ContentType"`
		Filename    string `json:"Filename"`
	}
	var plain, htmls []string
	q := url.Values{}
	q.Set("fields", "Content,ContentType,Filename")
	// A transaction's attachments are visible with it, so a short page is
	// the last: a note costs one request.
	err := c.walkLimit(ctx, "/transaction/"+url.PathEscape(tid)+"/attachments", q, op, c.cfg.MaxArticleAnswer, true, func(raw json.RawMessage) error {
		var a att
		if err := json.Unmarshal(raw, &a); err != nil {
			return c.fail(op, core.ErrUnavailable, "bad attachment item: "+err.Error(), 0)
		}
		if a.Filename != "" || strings.TrimSpace(a.Content) == "" {
			return nil
		}
		ct := strings.ToLower(strings.TrimSpace(strings.Split(a.ContentType, ";")[0]))
		switch ct {
		case "text/plain", "":
			plain = append(plain, a.Content)
		case "text/html":
			htmls = append(htmls, a.Content)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(plain) > 0 {
		return strings.Join(plain, "\n\n"), nil
	}
	for i, h := range htmls {
		htmls[i] = mailtext.FromHTML(h)
	}
	return strings.Join(htmls, "\n\n"), nil
}

// Create opens a ticket. A parent in this tracker becomes the RT parent; a
// parent elsewhere is referred to by URL.
//
// If the ticket was created but a later step failed (re-reading it, or the
// parent link was missing), the returned Ticket still carries the new Ref
// with the error, so the caller can record it instead of creating another.
func (c *Client) Create(ctx context.Context, t core.NewTicket) (core.Ticket, error) {
	op := fmt.Sprintf("create ticket in queue %q", t.Queue)
	body := map[string]any{
		"Queue":       t.Queue,
		"Subject":     t.Title,
		"Content":     t.Body,
		"ContentType": "text/plain",
	}
	if t.Customer != "" {
		body["Requestor"] = t.Customer
	}
	native := !t.Parent.IsZero() && t.Parent.Tracker == c.Name()
	if native {
		pid, err := ticketID(t.Parent.ID)
		if err != nil {
			return core.Ticket{}, c.fail(op, core.ErrInvalid, fmt.Sprintf("parent %s: %v", t.Parent, err), 0)
		}
		body["Parent"] = pid
	} else if t.ParentURL != "" {
		body["RefersTo"] = t.ParentURL
	}
	resp, err := c.do(ctx, http.MethodPost, "/ticket", nil, body, op)
	if err != nil {
		return core.Ticket{}, err
	}
	var created struct {
		ID flexID `json:"id"`
	}
	if err := c.decode(resp, &created, op); err != nil || created.ID == "" {
		// RT's Location names the new ticket too.
		if loc := resp.Header().Get("Location"); reTicket.MatchString(loc) {
			created.ID = flexID(loc[strings.LastIndexByte(loc, '/')+1:])
		}
	}
	if n, err := ticketID(string(created.ID)); err != nil || n <= 0 {
		// Not a confirmation: a proxy's page, "{}", or id 0. If RT did
		// create the ticket, the next attempt finds it by its title.
		return core.Ticket{}, c.fail(op, core.ErrUnavailable,
			fmt.Sprintf("the answer to POST /ticket names no ticket id (%s)", contentType(resp)), resp.StatusCode())
	}
	id := string(created.ID)
	partial := core.Ticket{Ref: c.ref(id), Title: t.Title, Queue: t.Queue,
		URL: c.web + "/Ticket/Display.html?id=" + id}

	w, err := c.getRaw(ctx, id, op+": re-read ticket "+id)
	if err != nil {
		return partial, err
	}
	// RT creates the ticket even when the parent does not exist, dropping
	// the link with only a line in its log.
	if native && !hasLink(w.Hyperlinks, "parent", t.Parent.ID) {
		return partial, c.fail(op, core.ErrNotFound,
			fmt.Sprintf("ticket %s was created but RT did not link it to parent %s (does the parent exist?)", id, t.Parent), 0)
	}
	tk, err := c.toTicket(ctx, w)
	if err != nil {
		return partial, err
	}
	return tk, nil
}

func hasLink(links []hyperlink, ref, id string) bool {
	for _, l := range links {
		if l.Ref == ref && string(l.ID) == id {
			return true
		}
	}
	return false
}

// AddNote adds a reply (public: mailed to the requestors) or a comment
// (internal).
func (c *Client) AddNote(ctx context.Context, id, body string, public bool) error {
	kind, want := "comment", "Comments added"
	op := "add internal note to ticket " + id
	if public {
		kind, want = "correspond", "Correspondence added"
		op = "add public note to ticket " + id
	}
	n, err := ticketID(id)
	if err != nil {
		return c.fail(op, core.ErrInvalid, fmt.Sprintf("%q: %v", id, err), 0)
	}
	resp, err := c.do(ctx, http.MethodPost, "/ticket/"+strconv.FormatInt(n, 10)+"/"+kind, nil,
		map[string]any{"Content": body, "ContentType": "text/plain"}, op)
	if errors.Is(err, core.ErrInvalid) {
		// RT answers a note on a ticket that does not exist with 400
		// "Message could not be recorded"; a 404 of the ticket says why.
		if _, gerr := c.getRaw(ctx, id, op); errors.Is(gerr, core.ErrNotFound) {
			return gerr
		}
	}
	if err != nil {
		return err
	}
	// RT confirms a note with 201, its message ("Comments added",
	// "Correspondence added") and the new transaction's Location. A 200
	// with a proxy's page or "{}" is no confirmation: if the note did
	// land, the next attempt finds it by its text.
	msgs := messages(resp)
	for _, m := range msgs {
		if strings.Contains(strings.ToLower(m), strings.ToLower(want)) {
			return nil
		}
	}
	if resp.StatusCode() == http.StatusCreated && reTransaction.MatchString(resp.Header().Get("Location")) {
		return nil // RT in another language: the transaction exists
	}
	if len(msgs) > 0 {
		return c.fail(op, core.ErrInvalid, strings.Join(msgs, "; "), resp.StatusCode()) // a refusal
	}
	return c.fail(op, core.ErrUnavailable, fmt.Sprintf("the answer (%s) confirms no note", contentType(resp)), resp.StatusCode())
}

// reTransaction and reTicket match the Location of a new transaction and
// a new ticket.
var (
	reTransaction = regexp.MustCompile(`/transaction/[1-9][0-9]*$`)
	reTicket      = regexp.MustCompile(`/ticket/[1-9][0-9]*$`)
)

func contentType(resp *resty.Response) string {
	if ct := resp.Header().Get("Content-Type"); ct != "" {
		return ct
	}
	return "no Content-Type"
}

// Close moves the ticket to the status that closes a ticket of its
// queue: the end of the queue's close path, or Config.CloseState.
func (c *Client) Close(ctx context.Context, id string) error {
	w, err := c.getRaw(ctx, id, "close ticket "+id)
	if err != nil {
		return err
	}
	queue, err := c.queueName(ctx, w.Queue)
	if err != nil {
		return err
	}
	return c.SetState(ctx, id, c.closeState(queue))
}

// closeState is the status that closes a ticket of the queue.
func (c *Client) closeState(queue string) string {
	if path := c.closePath(queue); len(path) > 0 {
		return path[len(path)-1]
	}
	return c.cfg.CloseState
}

// closePath is the queue's close path; queue names compare as in RT,
// without regard to case.
func (c *Client) closePath(queue string) []string {
	for q, path := range c.cfg.ClosePaths {
		if strings.EqualFold(q, queue) {
			return path
		}
	}
	return nil
}

// SetState sets the ticket's status. RT reports refusals (unknown status,
// unresolved dependencies) inside a 200 answer, so the message text decides.
func (c *Client) SetState(ctx context.Context, id, state string) error {
	op := fmt.Sprintf("set status of ticket %s to %q", id, state)
	n, err := ticketID(id)
	if err != nil {
		return c.fail(op, core.ErrInvalid, fmt.Sprintf("%q: %v", id, err), 0)
	}
	if strings.TrimSpace(state) == "" {
		return c.fail(op, core.ErrInvalid, "empty status", 0)
	}
	err = c.setStatus(ctx, n, state, op)
	var refused *refusedError
	if !errors.As(err, &refused) {
		return err
	}
	// The queue's lifecycle does not allow the change from where the
	// ticket is: through its close path, if it has one.
	w, rerr := c.getRaw(ctx, id, op+": re-read")
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	queue, rerr := c.queueName(ctx, w.Queue)
	if rerr != nil {
		return errors.Join(err, rerr)
	}
	path := c.closePath(queue)
	end := slices.Index(path, state)
	if end < 0 {
		return c.fail(op, core.ErrInvalid, fmt.Sprintf("%s; queue %q has no close path through which %q can be reached", refused.msg, queue, state), 0)
	}
	from := slices.Index(path[:end], w.Status) + 1 // 0 when the ticket is on none of them
	for _, next := range path[from : end+1] {
		if err := c.setStatus(ctx, n, next, op+" through "+next); err != nil {
			return err
		}
	}
	return nil
}

// refusedError is RT refusing a status change its lifecycle does not
// allow, in a 200 answer.
type refusedError struct {
	msg string // RT's message
	err error  // the error naming the request
}

func (e *refusedError) Error() string { return e.err.Error() }
func (e *refusedError) Unwrap() error { return e.err }

var refusedRe = regexp.MustCompile(`can't change status from '[^']*' to '[^']*'`)

// setStatus asks RT for one status change and checks that RT made it.
func (c *Client) setStatus(ctx context.Context, n int64, state, op string) error {
	id := strconv.FormatInt(n, 10)
	resp, err := c.do(ctx, http.MethodPut, "/ticket/"+id, nil, map[string]any{"Status": state}, op)
	if err != nil {
		return err
	}
	msgs := messages(resp)
	for _, m := range msgs {
		if strings.Contains(m, "Status changed from") && strings.Contains(m, "to '"+state+"'") {
			return nil
		}
	}
	for _, m := range msgs {
		if refusedRe.MatchString(m) {
			return &refusedError{msg: m, err: c.fail(op, core.ErrInvalid, m, resp.StatusCode())}
		}
	}
	if len(msgs) > 0 {
		return c.fail(op, core.ErrInvalid, strings.Join(msgs, "; "), resp.StatusCode())
	}
	// RT says nothing when the status already is the one asked for.
	w, err := c.getRaw(ctx, id, op+": re-read")
	if err != nil {
		return err
	}
	if w.Status != state {
		return c.fail(op, core.ErrInvalid, fmt.Sprintf("RT answered nothing and the status is still %q", w.Status), 0)
	}
	return nil
}

// Link makes child a child of parent. It adds the member on the parent's
// side: setting "Parent" on the child would replace all its parents.
func (c *Client) Link(ctx context.Context, parent, child core.TicketRef) error {
	op := fmt.Sprintf("link %s as child of %s", child, parent)
	for _, r := range []core.TicketRef{parent, child} {
		if r.Tracker != c.Name() {
			return c.fail(op, core.ErrInvalid, fmt.Sprintf("%s is not a ticket of %s", r, c.Name()), 0)
		}
	}
	cid, err := ticketID(child.ID)
	if err != nil {
		return c.fail(op, core.ErrInvalid, fmt.Sprintf("%s: %v", child, err), 0)
	}
	w, err := c.getRaw(ctx, parent.ID, op)
	if err != nil {
		return err
	}
	if hasLink(w.Hyperlinks, "child", child.ID) {
		return nil
	}
	resp, err := c.do(ctx, http.MethodPut, "/ticket/"+string(w.ID), nil,
		map[string]any{"AddMembers": []int64{cid}}, op)
	if err != nil {
		return err
	}
	msgs := messages(resp)
	for _, m := range msgs {
		if strings.Contains(m, " member of ") && !strings.Contains(m, "no longer") {
			return nil
		}
	}
	// Not confirmed by a message: look at what RT recorded.
	w, err = c.getRaw(ctx, parent.ID, op+": re-read parent")
	if err != nil {
		return err
	}
	if hasLink(w.Hyperlinks, "child", child.ID) {
		return nil
	}
	if _, err := c.getRaw(ctx, child.ID, op+": read child"); err != nil {
		return err
	}
	detail := strings.Join(msgs, "; ")
	if detail == "" {
		detail = "RT did not record the link"
	}
	return c.fail(op, core.ErrInvalid, detail, resp.StatusCode())
}

// Children lists the parent's children from the ticket record itself.
func (c *Client) Children(ctx context.Context, parentID string) ([]core.TicketRef, error) {
	return c.linked(ctx, parentID, "child", "list children of ticket "+parentID)
}

// Parents lists the child's parents from the ticket record itself.
func (c *Client) Parents(ctx context.Context, childID string) ([]core.TicketRef, error) {
	return c.linked(ctx, childID, "parent", "list parents of ticket "+childID)
}

// linked lists the tickets a ticket's hyperlinks name with the given ref,
// ordered by id.
func (c *Client) linked(ctx context.Context, id, ref, op string) ([]core.TicketRef, error) {
	w, err := c.getRaw(ctx, id, op)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, l := range w.Hyperlinks {
		if l.Ref != ref || l.Type == "external" || l.ID == "" {
			continue
		}
		n, err := strconv.ParseInt(string(l.ID), 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, n)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out := make([]core.TicketRef, 0, len(ids))
	for _, n := range ids {
		out = append(out, c.ref(strconv.FormatInt(n, 10)))
	}
	return out, nil
}
