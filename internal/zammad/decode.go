package zammad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/mailtext"
)

// flexInt is an id that Zammad sends as a number, and some payloads (asset
// keys, older versions) as a string.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("id %s is not an integer", b)
	}
	*f = flexInt(n)
	return nil
}

// flexString is the ticket number: a string, tolerated as a number.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("number %s is neither string nor number", b)
	}
	*f = flexString(n.String())
	return nil
}

// flexName is an expanded association: a name with expand=true, an object
// with a name or login in webhook-style payloads.
type flexName string

func (f *flexName) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexName(s)
		return nil
	}
	var o struct {
		Name  string `json:"name"`
		Login string `json:"login"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		*f = ""
		return nil
	}
	if o.Name != "" {
		*f = flexName(o.Name)
	} else {
		*f = flexName(o.Login)
	}
	return nil
}

// apiTicket is the part of Zammad's ticket JSON procbot reads; unknown keys
// (GGUS custom attributes) are ignored.
type apiTicket struct {
	ID        flexInt    `json:"id"`
	Number    flexString `json:"number"`
	Title     string     `json:"title"`
	GroupID   flexInt    `json:"group_id"`
	Group     flexName   `json:"group"`
	StateID   flexInt    `json:"state_id"`
	State     flexName   `json:"state"`
	CreatedBy flexName   `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	// ArticleIDs lists the ticket's articles (in any order).
	ArticleIDs []flexInt `json:"article_ids"`
}

// named reports whether the expanded group and state names are present.
func (t apiTicket) named() bool { return t.Group != "" && t.State != "" }

type namedAsset struct {
	Name string `json:"name"`
}

type searchEnvelope struct {
	Records    *[]apiTicket `json:"records"`
	TotalCount *int         `json:"total_count"`
	Tickets    []flexInt    `json:"tickets"`
	RecordIDs  []flexInt    `json:"record_ids"`
	Assets     struct {
		Ticket      map[string]apiTicket  `json:"Ticket"`
		Group       map[string]namedAsset `json:"Group"`
		TicketState map[string]namedAsset `json:"TicketState"`
	} `json:"assets"`
}

// decodeSearch reads a ticket search answer in any of Zammad's shapes: the
// plain array (expand=true, every version), {"records": [...]}
// (with_total_count), and the id list plus assets of {"tickets": [...]}
// (≤ 6.4 without expand) or {"record_ids": [...]} (full=true). Tickets from
// assets may lack group and state names (named() is false).
// total is the answer's total_count (with_total_count=true), or -1 when
// it has none.
func decodeSearch(body []byte) (_ []apiTicket, total int, _ error) {
	total = -1
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, total, fmt.Errorf("empty search answer")
	}
	switch body[0] {
	case '[':
		var list []apiTicket
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, total, fmt.Errorf("search answer: %v", err)
		}
		return list, total, nil
	case '{':
	default:
		return nil, total, fmt.Errorf("search answer is neither a JSON array nor an object")
	}
	var env searchEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, total, fmt.Errorf("search answer: %v", err)
	}
	if env.TotalCount != nil {
		total = *env.TotalCount
	}
	if env.Records != nil {
		return *env.Records, total, nil
	}
	ids := env.Tickets
	if ids == nil {
		ids = env.RecordIDs
	}
	if ids == nil {
		return nil, total, fmt.Errorf("search answer is an object without records, tickets or record_ids")
	}
	out := make([]apiTicket, 0, len(ids))
	for _, id := range ids {
		key := strconv.FormatInt(int64(id), 10)
		t, ok := env.Assets.Ticket[key]
		if !ok {
			return nil, total, fmt.Errorf("search answer lists ticket %s but its assets lack it", key)
		}
		if t.ID == 0 {
			t.ID = id
		}
		if t.Group == "" {
			t.Group = flexName(env.Assets.Group[strconv.FormatInt(int64(t.GroupID), 10)].Name)
		}
		if t.State == "" {
			t.State = flexName(env.Assets.TicketState[strconv.FormatInt(int64(t.StateID), 10)].Name)
		}
		out = append(out, t)
	}
	return out, total, nil
}

type apiLink struct {
	LinkType        string  `json:"link_type"`
	LinkObject      string  `json:"link_object"`
	LinkObjectValue flexInt `json:"link_object_value"`
}

type linksAnswer struct {
	Links  []apiLink `json:"links"`
	Assets struct {
		Ticket map[string]apiTicket `json:"Ticket"`
	} `json:"assets"`
}

func decodeLinks(body []byte) (linksAnswer, error) {
	var la linksAnswer
	if err := json.Unmarshal(body, &la); err != nil {
		return la, fmt.Errorf("links answer: %v", err)
	}
	return la, nil
}

// children lists the tickets the answer names as children of the ticket it
// was asked about.
func (la linksAnswer) children(tracker string) []core.TicketRef {
	return la.linked(tracker, "child")
}

// parents lists the tickets the answer names as parents of the ticket it
// was asked about.
func (la linksAnswer) parents(tracker string) []core.TicketRef {
	return la.linked(tracker, "parent")
}

func (la linksAnswer) linked(tracker, linkType string) []core.TicketRef {
	var out []core.TicketRef
	seen := map[flexInt]bool{}
	for _, l := range la.Links {
		if l.LinkType != linkType || (l.LinkObject != "" && l.LinkObject != "Ticket") || seen[l.LinkObjectValue] {
			continue
		}
		seen[l.LinkObjectValue] = true
		id := strconv.FormatInt(int64(l.LinkObjectValue), 10)
		out = append(out, core.TicketRef{Tracker: tracker, ID: id, Number: string(la.Assets.Ticket[id].Number)})
	}
	return out
}

type apiArticle struct {
	ID          flexInt   `json:"id"`
	From        string    `json:"from"`
	ContentType string    `json:"content_type"`
	Body        string    `json:"body"`
	Internal    bool      `json:"internal"`
	CreatedBy   flexName  `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

func (a apiArticle) toCore() core.Article {
	body := a.Body
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.ContentType)), "text/html") {
		body = mailtext.FromHTML(body)
	}
	author := string(a.CreatedBy)
	if author == "" {
		author = a.From
	}
	return core.Article{ID: int64(a.ID), Author: author, Body: body, Internal: a.Internal, CreatedAt: a.CreatedAt}
}

// decodeError reads an error body without its headers.
func decodeError(status int, body []byte) *APIError {
	return apiError(status, nil, body)
}
