// Package core holds procbot's domain: the tickets it observes, the state it
// records for each running procedure, and the pure function that turns
// (procedure, recorded state, observed tickets) into actions.
//
// Nothing in this package performs I/O or reads the clock.
package core

import (
	"sort"
	"strconv"
	"time"
)

// Tracker names used in ticket references and routes.
const (
	TrackerGGUS = "ggus" // the GGUS helpdesk, a Zammad instance
	TrackerRT   = "rt"   // EGI's Request Tracker
)

// TicketRef identifies a ticket in one tracker.
//
// ID is the tracker's primary key (Zammad id, RT ticket id) as a string.
// Number is what humans see: Zammad's ticket number (distinct from id), or the
// RT id again. Code must address tickets by ID; Number is for display and for
// Zammad's links API, which names the link source by number.
type TicketRef struct {
	Tracker string `json:"tracker"`
	ID      string `json:"id"`
	Number  string `json:"number,omitempty"`
}

// Key is a stable map key for the ticket, "tracker:id".
func (r TicketRef) Key() string { return r.Tracker + ":" + r.ID }

// IsZero reports whether the reference names no ticket.
func (r TicketRef) IsZero() bool { return r.ID == "" }

// String is a human reference such as "ggus #10123".
func (r TicketRef) String() string {
	n := r.Number
	if n == "" {
		n = r.ID
	}
	return r.Tracker + " #" + n
}

// Ticket is what a tracker shows of one ticket.
type Ticket struct {
	Ref   TicketRef `json:"ref"`
	Title string    `json:"title"`
	Queue string    `json:"queue"` // Zammad group name (full "::" path) or RT queue name
	State string    `json:"state"` // tracker state name, e.g. "open", "solved", "resolved"
	// Creator is the login (or email) of whoever opened the ticket. procbot
	// only adopts children it opened itself.
	Creator   string    `json:"creator,omitempty"`
	Tags      []string  `json:"tags,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	URL       string    `json:"url,omitempty"` // web link for humans
}

// Article is one entry in a ticket's conversation: the first description, a
// note, a reply.
type Article struct {
	ID        int64     `json:"id"`     // Zammad article id, RT transaction id: both grow with time
	Author    string    `json:"author"` // login or email of whoever wrote it
	Body      string    `json:"body"`   // plain text; HTML bodies are converted by the adapter
	Internal  bool      `json:"internal,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// NewTicket is what procbot asks a tracker to create.
type NewTicket struct {
	Queue    string   // Zammad group (full path) or RT queue
	Title    string   //
	Body     string   // plain text
	Tags     []string // set where the tracker supports tags
	Customer string   // Zammad customer (login or email); empty: the robot itself
	// Parent, when in the same tracker, is linked natively (Zammad child
	// link, RT Parent). A parent in another tracker is referred to by URL.
	Parent    TicketRef
	ParentURL string
}

// SortByChange orders tickets oldest change first, then by id: the order
// Tracker.Changed promises, whatever order the tracker answered in.
func SortByChange(ts []Ticket) {
	sort.SliceStable(ts, func(i, j int) bool {
		if !ts[i].UpdatedAt.Equal(ts[j].UpdatedAt) {
			return ts[i].UpdatedAt.Before(ts[j].UpdatedAt)
		}
		a, _ := strconv.ParseInt(ts[i].Ref.ID, 10, 64)
		b, _ := strconv.ParseInt(ts[j].Ref.ID, 10, 64)
		return a < b
	})
}
