package zammad

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/bounded"
	"github.com/procbot/procbot/internal/core"
)

// zammadTime is how Zammad writes timestamps; conditions use it too.
const zammadTime = "2006-01-02T15:04:05.000Z"

// maxPages guards Changed against a server that never sends a short page.
const maxPages = 1000

func (c *Client) toCore(t apiTicket, tags []string) core.Ticket {
	id := strconv.FormatInt(int64(t.ID), 10)
	return core.Ticket{
		Ref:       core.TicketRef{Tracker: c.name, ID: id, Number: string(t.Number)},
		Title:     t.Title,
		Queue:     string(t.Group),
		State:     string(t.State),
		Creator:   string(t.CreatedBy),
		Tags:      tags,
		CreatedAt: t.CreatedAt,
		UpdatedAt: t.UpdatedAt,
		URL:       c.webURL + "/#ticket/zoom/" + id,
	}
}

// Changed asks for tickets by condition, which Zammad evaluates in its
// database: the search index lags behind and would hide recent changes.
// A Zammad that answers without applying the condition (an older one, a
// proxy that drops the body) is logged as an error and asked with the
// query search Zammad documents instead, for an hour before the condition
// search is tried again.
func (c *Client) Changed(ctx context.Context, match string, since time.Time) ([]core.Ticket, error) {
	what := fmt.Sprintf("search tickets with title containing %q changed since %s", match, since.UTC().Format(time.RFC3339))
	if time.Now().UnixNano() >= c.queryUntil.Load() {
		cond := map[string]any{
			"ticket.updated_at": map[string]any{"operator": "after (absolute)", "value": since.UTC().Truncate(time.Millisecond).Format(zammadTime)},
		}
		if match != "" {
			cond["ticket.title"] = map[string]any{"operator": "contains", "value": match}
		}
		out, err := c.search(ctx, what, match, since, true, func(page int) request {
			// The search is a POST only because the condition is a JSON
			// body; it changes nothing, so it is retried like any read.
			// Without that, one dropped connection would fail the whole
			// poll of GGUS.
			return request{method: http.MethodPost, path: "/tickets/search", read: true, body: map[string]any{
				"condition": cond, "expand": true, "with_total_count": true,
				"sort_by": "updated_at", "order_by": "asc",
				"per_page": c.perPage, "page": page,
			}}
		})
		var ignored *ignoredError
		if !errors.As(err, &ignored) {
			return out, err
		}
		c.log.Error().Str("tracker", c.name).Str("request", "POST /tickets/search").Err(err).
			Msg("GGUS answered the condition search without applying its condition; procbot uses GET /tickets/search?query= for an hour, which sees changes only once GGUS's search index has them")
		c.queryUntil.Store(time.Now().Add(time.Hour).UnixNano())
	}
	query := "updated_at:>=" + queryEscape(since.UTC().Truncate(time.Millisecond).Format(zammadTime))
	if match != "" {
		query = `title:"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(match) + `" AND ` + query
	}
	return c.search(ctx, what+" (query search)", match, since, false, func(page int) request {
		return request{method: http.MethodGet, path: "/tickets/search", read: true, query: url.Values{
			"query": {query}, "expand": {"true"}, "with_total_count": {"true"},
			"sort_by": {"updated_at"}, "order_by": {"asc"},
			"per_page": {strconv.Itoa(c.perPage)}, "page": {strconv.Itoa(page)},
		}}
	})
}

// queryEscape escapes the characters a search-index query reads as syntax.
func queryEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`+-=&|><!(){}[]^"~*?:\/`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ignoredError is a search answered without its condition.
type ignoredError struct{ err error }

func (e *ignoredError) Error() string { return e.err.Error() }
func (e *ignoredError) Unwrap() error { return e.err }

// search pages through a ticket search to its end: the total Zammad
// counted (with_total_count) or, from a Zammad that does not count, an
// empty page; never a short page, since Zammad may cap the page size below
// the one asked for. Every ticket is checked against the search's
// condition. strict: one that does not meet it means the server ignored
// the condition (an ignoredError, on the first page, so procbot does not
// page through every ticket the helpdesk holds). Otherwise (the search
// index matches words, so a phrase may match a title that does not
// contain it) such tickets are left out, unless none of a page meets it:
// the index ignored the query too.
func (c *Client) search(ctx context.Context, what, match string, since time.Time, strict bool, ask func(page int) request) ([]core.Ticket, error) {
	byID := map[flexInt]apiTicket{}
	seen := 0
	for page := 1; page <= maxPages; page++ {
		var raw rawBody
		r := ask(page)
		r.out = &raw
		if err := c.send(ctx, r); err != nil {
			return nil, c.fail(what, err)
		}
		list, total, err := decodeSearch(raw)
		if err != nil {
			return nil, c.fail(what, fmt.Errorf("%w: %v", core.ErrUnavailable, err))
		}
		seen += len(list)
		kept := 0
		var miss apiTicket
		for _, t := range list {
			if !meets(t, match, since) {
				if miss = t; strict {
					break
				}
				continue
			}
			kept++
			// A ticket changed while paging moves to a later page; the
			// later sighting is the newer one.
			if old, ok := byID[t.ID]; !ok || !t.UpdatedAt.Before(old.UpdatedAt) {
				byID[t.ID] = t
			}
		}
		if miss.ID != 0 && (strict || kept == 0) {
			return nil, &ignoredError{c.fail(what, fmt.Errorf("%w: ticket %d (%q, changed %s) does not meet the search's condition: "+
				"GGUS seems to ignore it in %s /tickets/search", core.ErrUnavailable, miss.ID, miss.Title,
				miss.UpdatedAt.UTC().Format(time.RFC3339), r.method))}
		}
		if len(list) == 0 || (total >= 0 && seen >= total) {
			break
		}
	}

	out := make([]core.Ticket, 0, len(byID))
	for _, t := range byID {
		if !t.named() {
			// Only the legacy envelope lacks names; read the ticket itself.
			full, err := c.Get(ctx, strconv.FormatInt(int64(t.ID), 10))
			if err != nil {
				return nil, err
			}
			out = append(out, full)
			continue
		}
		out = append(out, c.toCore(t, nil))
	}
	core.SortByChange(out)
	return out, nil
}

// meets reports whether a ticket a condition search returned meets the
// condition sent: the title contains match (Zammad compares without case),
// and it changed at or after since.
func meets(t apiTicket, match string, since time.Time) bool {
	if match != "" && !strings.Contains(strings.ToLower(string(t.Title)), strings.ToLower(match)) {
		return false
	}
	return since.IsZero() || !t.UpdatedAt.Before(since.UTC().Truncate(time.Millisecond))
}

// rawBody keeps an answer undecoded for decoders that accept several shapes.
type rawBody []byte

func (r *rawBody) UnmarshalJSON(b []byte) error {
	*r = append((*r)[:0], b...)
	return nil
}

// Get reads one ticket with its tags.
func (c *Client) Get(ctx context.Context, id string) (core.Ticket, error) {
	what := "read ticket " + id
	n, err := ticketID(id)
	if err != nil {
		return core.Ticket{}, c.fail(what, err)
	}
	t, err := c.getTicket(ctx, n)
	if err != nil {
		return core.Ticket{}, c.fail(what, err)
	}
	tags, err := c.tags(ctx, n)
	if err != nil {
		return core.Ticket{}, c.fail("read tags of ticket "+id, err)
	}
	return c.toCore(t, tags), nil
}

func (c *Client) getTicket(ctx context.Context, id int64) (apiTicket, error) {
	var t apiTicket
	err := c.do(ctx, http.MethodGet, "/tickets/"+strconv.FormatInt(id, 10), url.Values{"expand": {"true"}}, nil, &t)
	return t, err
}

func (c *Client) tags(ctx context.Context, id int64) ([]string, error) {
	var ans struct {
		Tags []string `json:"tags"`
	}
	q := url.Values{"object": {"Ticket"}, "o_id": {strconv.FormatInt(id, 10)}}
	if err := c.do(ctx, http.MethodGet, "/tags", q, nil, &ans); err != nil {
		return nil, err
	}
	return ans.Tags, nil
}

// Articles returns the conversation oldest first, HTML bodies as text.
//
// The articles come in one answer, bounded by MaxArticleAnswer. When they
// exceed it together, they are read one by one from the ticket's article
// list; an article that alone exceeds it is kept with its id and without
// its text (and logged), so that one huge mail cannot stop the procedure.
func (c *Client) Articles(ctx context.Context, id string) ([]core.Article, error) {
	return c.ArticlesAfter(ctx, id, 0)
}

// ArticlesAfter returns the articles whose id is above after, oldest
// first. Zammad lists a ticket's articles in one answer: they are read
// together and the older ones left out.
func (c *Client) ArticlesAfter(ctx context.Context, id string, after int64) ([]core.Article, error) {
	what := "read articles of ticket " + id
	n, err := ticketID(id)
	if err != nil {
		return nil, c.fail(what, err)
	}
	var list []apiArticle
	err = c.send(ctx, request{method: http.MethodGet, path: "/ticket_articles/by_ticket/" + strconv.FormatInt(n, 10),
		out: &list, read: true, limit: c.maxArticle})
	if errors.Is(err, bounded.ErrTooLarge) {
		list, err = c.articlesOneByOne(ctx, n, err)
	}
	if err != nil {
		return nil, c.fail(what, err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	out := make([]core.Article, 0, len(list))
	for _, a := range list {
		if int64(a.ID) > after {
			out = append(out, a.toCore())
		}
	}
	return out, nil
}

// articlesOneByOne reads the ticket's articles one request each; tooLarge
// is the error of reading them at once.
func (c *Client) articlesOneByOne(ctx context.Context, ticket int64, tooLarge error) ([]apiArticle, error) {
	t, err := c.getTicket(ctx, ticket)
	if err != nil {
		return nil, err
	}
	if len(t.ArticleIDs) == 0 {
		return nil, fmt.Errorf("%w, and the ticket lists no article ids to read them one by one", tooLarge)
	}
	out := make([]apiArticle, 0, len(t.ArticleIDs))
	for _, aid := range t.ArticleIDs {
		var a apiArticle
		path := "/ticket_articles/" + strconv.FormatInt(int64(aid), 10)
		err := c.send(ctx, request{method: http.MethodGet, path: path, out: &a, read: true, limit: c.maxArticle})
		if errors.Is(err, bounded.ErrTooLarge) {
			c.log.Warn().Str("tracker", c.name).Int64("ticket", ticket).Int64("article", int64(aid)).
				Int64("limit_bytes", c.maxArticle).
				Msg("article is longer than the article size limit; read without its text")
			out = append(out, apiArticle{ID: aid})
			continue
		}
		if err != nil {
			return nil, err
		}
		if a.ID == 0 {
			a.ID = aid
		}
		out = append(out, a)
	}
	return out, nil
}

type newArticle struct {
	TicketID    int64  `json:"ticket_id,omitempty"`
	Subject     string `json:"subject,omitempty"`
	Body        string `json:"body"`
	ContentType string `json:"content_type"`
	Type        string `json:"type"`
	Internal    bool   `json:"internal"`
	To          string `json:"to,omitempty"`
}

// Create opens a ticket; a parent in this tracker gets the ticket as its
// child in the same request.
func (c *Client) Create(ctx context.Context, nt core.NewTicket) (core.Ticket, error) {
	what := fmt.Sprintf("create ticket in group %q", nt.Queue)
	body := nt.Body
	if nt.ParentURL != "" && nt.Parent.Tracker != c.name && !strings.Contains(body, nt.ParentURL) {
		body = strings.TrimRight(body, "\n") + "\n\nParent ticket: " + nt.ParentURL + "\n"
	}
	req := map[string]any{
		"title": nt.Title,
		"group": nt.Queue,
		"article": newArticle{
			Subject: nt.Title, Body: body, ContentType: "text/plain", Type: "note", Internal: false,
		},
	}
	if len(nt.Tags) > 0 {
		req["tags"] = strings.Join(nt.Tags, ",")
	}
	// A parent in this tracker is linked in the same request: the key
	// names the new ticket's role, so {"child": [parent]} stores "the new
	// ticket is a child of parent", as links/add does. Zammad stores the
	// links before it answers and answers an error if one fails, so the
	// 201 confirms the link too.
	linked := !nt.Parent.IsZero() && nt.Parent.Tracker == c.name
	if linked {
		pid, err := ticketID(nt.Parent.ID)
		if err != nil {
			return core.Ticket{}, c.fail(what, err)
		}
		req["links"] = map[string]any{"Ticket": map[string]any{"child": []int64{pid}}}
	}
	if strings.Contains(nt.Customer, "@") {
		// A customer named by address is someone outside the group (the
		// Technology Provider, a site): the first article is an email to
		// them, which Zammad sends, so that they hear of the ticket and
		// can answer it by mail.
		req["article"] = newArticle{Subject: nt.Title, Body: body, ContentType: "text/plain", Type: "email", Internal: false, To: nt.Customer}
	}
	if nt.Customer == "" {
		me, err := c.myID(ctx)
		if err != nil {
			return core.Ticket{}, c.fail(what, err)
		}
		req["customer_id"] = me
	} else {
		req["customer"] = nt.Customer
	}

	var t apiTicket
	err := c.do(ctx, http.MethodPost, "/tickets", url.Values{"expand": {"true"}}, req, &t)
	var ae *APIError
	if err != nil && nt.Customer != "" && strings.Contains(nt.Customer, "@") &&
		errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity && strings.Contains(ae.Message, "'customer'") {
		// Rejected before anything was stored: an unknown customer is
		// created by Zammad when named with "guess:".
		delete(req, "customer")
		req["customer_id"] = "guess:" + nt.Customer
		err = c.do(ctx, http.MethodPost, "/tickets", url.Values{"expand": {"true"}}, req, &t)
	}
	if err != nil {
		return core.Ticket{}, c.fail(what, err)
	}
	if t.ID <= 0 {
		return core.Ticket{}, c.fail(what, unconfirmed(http.MethodPost, "/tickets", "no ticket id"))
	}
	return c.toCore(t, append([]string(nil), nt.Tags...)), nil
}

// AddNote adds a note; a public one is visible to the ticket's customer.
func (c *Client) AddNote(ctx context.Context, id, body string, public bool) error {
	kind := "internal"
	if public {
		kind = "public"
	}
	what := fmt.Sprintf("add %s note to ticket %s", kind, id)
	n, err := ticketID(id)
	if err != nil {
		return c.fail(what, err)
	}
	a := newArticle{TicketID: n, Body: body, ContentType: "text/plain", Type: "note", Internal: !public}
	var got struct {
		ID       flexInt `json:"id"`
		TicketID flexInt `json:"ticket_id"`
	}
	if err := c.do(ctx, http.MethodPost, "/ticket_articles", nil, a, &got); err != nil {
		return c.fail(what, err)
	}
	switch {
	case got.ID <= 0:
		return c.fail(what, unconfirmed(http.MethodPost, "/ticket_articles", "no article id"))
	case got.TicketID != 0 && int64(got.TicketID) != n:
		return c.fail(what, unconfirmed(http.MethodPost, "/ticket_articles",
			fmt.Sprintf("the article is on ticket %d", got.TicketID)))
	}
	return nil
}

// Close moves the ticket to Config.CloseState: Zammad's states are the
// same in every group.
func (c *Client) Close(ctx context.Context, id string) error {
	return c.SetState(ctx, id, c.closeState)
}

// SetState moves the ticket to the named state.
func (c *Client) SetState(ctx context.Context, id, state string) error {
	what := fmt.Sprintf("set state of ticket %s to %q", id, state)
	n, err := ticketID(id)
	if err != nil {
		return c.fail(what, err)
	}
	path := "/tickets/" + strconv.FormatInt(n, 10)
	var t apiTicket
	if err := c.do(ctx, http.MethodPut, path, url.Values{"expand": {"true"}}, map[string]any{"state": state}, &t); err != nil {
		return c.fail(what, err)
	}
	switch {
	case int64(t.ID) != n:
		return c.fail(what, unconfirmed(http.MethodPut, path, "the answer is not the ticket"))
	case string(t.State) != state:
		return c.fail(what, unconfirmed(http.MethodPut, path, fmt.Sprintf("the ticket's state is %q", t.State)))
	}
	return nil
}

func (c *Client) links(ctx context.Context, id int64) (linksAnswer, error) {
	q := url.Values{"link_object": {"Ticket"}, "link_object_value": {strconv.FormatInt(id, 10)}}
	var raw rawBody
	if err := c.do(ctx, http.MethodGet, "/links", q, nil, &raw); err != nil {
		return linksAnswer{}, err
	}
	la, err := decodeLinks(raw)
	if err != nil {
		return linksAnswer{}, fmt.Errorf("%w: %v", core.ErrUnavailable, err)
	}
	return la, nil
}

// Link makes child a child of parent, stored as "child is child of parent"
// (links/add names the source by number, the target by id), which needs the
// right to change the parent and only to read the child. Existing links are
// left alone: older Zammad versions store duplicates.
func (c *Client) Link(ctx context.Context, parent, child core.TicketRef) error {
	what := fmt.Sprintf("link ticket %s as child of %s", child, parent)
	for _, r := range []core.TicketRef{parent, child} {
		if r.Tracker != "" && r.Tracker != c.name {
			return c.fail(what, fmt.Errorf("%w: ticket %s is not in %s", core.ErrInvalid, r, c.name))
		}
	}
	pid, err := ticketID(parent.ID)
	if err != nil {
		return c.fail(what, err)
	}
	cid, err := ticketID(child.ID)
	if err != nil {
		return c.fail(what, err)
	}
	la, err := c.links(ctx, pid)
	if err != nil {
		return c.fail(what, err)
	}
	for _, r := range la.children(c.name) {
		if r.ID == strconv.FormatInt(cid, 10) {
			return nil
		}
	}
	number := child.Number
	if number == "" {
		t, err := c.getTicket(ctx, cid)
		if err != nil {
			return c.fail(what, err)
		}
		number = string(t.Number)
	}
	req := map[string]any{
		"link_type":                 "child",
		"link_object_source":        "Ticket",
		"link_object_source_number": number,
		"link_object_target":        "Ticket",
		"link_object_target_value":  pid,
	}
	if err := c.addLink(ctx, req); err != nil {
		return c.fail(what, err)
	}
	return nil
}

// addLink stores a link; one that exists already counts as stored.
func (c *Client) addLink(ctx context.Context, req map[string]any) error {
	var got struct {
		ID flexInt `json:"id"`
	}
	err := c.do(ctx, http.MethodPost, "/links/add", nil, req, &got)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusUnprocessableEntity && strings.Contains(ae.Message, "Link already exists") {
		return nil
	}
	if err != nil {
		return err
	}
	if got.ID <= 0 {
		return unconfirmed(http.MethodPost, "/links/add", "no link id")
	}
	return nil
}

// Children lists the parent's children from Zammad's link table.
func (c *Client) Children(ctx context.Context, parentID string) ([]core.TicketRef, error) {
	what := "list children of ticket " + parentID
	n, err := ticketID(parentID)
	if err != nil {
		return nil, c.fail(what, err)
	}
	la, err := c.links(ctx, n)
	if err != nil {
		return nil, c.fail(what, err)
	}
	return la.children(c.name), nil
}

// Parents lists the child's parents from Zammad's link table.
func (c *Client) Parents(ctx context.Context, childID string) ([]core.TicketRef, error) {
	what := "list parents of ticket " + childID
	n, err := ticketID(childID)
	if err != nil {
		return nil, c.fail(what, err)
	}
	la, err := c.links(ctx, n)
	if err != nil {
		return nil, c.fail(what, err)
	}
	return la.parents(c.name), nil
}
