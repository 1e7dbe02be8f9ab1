package zammad

import (
	"context"
	"fmt"
	"strconv"

	"github.com/procbot/procbot/internal/core"
)

// Relate links two tickets as related: a "normal" link, which Zammad shows
// on both. Relating twice is not an error.
func (c *Client) Relate(ctx context.Context, a, b core.TicketRef) error {
	what := fmt.Sprintf("link ticket %s to %s", a, b)
	for _, r := range []core.TicketRef{a, b} {
		if r.Tracker != "" && r.Tracker != c.name {
			return c.fail(what, fmt.Errorf("%w: ticket %s is not in %s", core.ErrInvalid, r, c.name))
		}
	}
	aid, err := ticketID(a.ID)
	if err != nil {
		return c.fail(what, err)
	}
	bid, err := ticketID(b.ID)
	if err != nil {
		return c.fail(what, err)
	}
	la, err := c.links(ctx, bid)
	if err != nil {
		return c.fail(what, err)
	}
	for _, r := range la.linked(c.name, "normal") {
		if r.ID == strconv.FormatInt(aid, 10) {
			return nil
		}
	}
	number := a.Number
	if number == "" {
		t, err := c.getTicket(ctx, aid)
		if err != nil {
			return c.fail(what, err)
		}
		number = string(t.Number)
	}
	err = c.addLink(ctx, map[string]any{
		"link_type":                 "normal",
		"link_object_source":        "Ticket",
		"link_object_source_number": number,
		"link_object_target":        "Ticket",
		"link_object_target_value":  bid,
	})
	if err != nil {
		return c.fail(what, err)
	}
	return nil
}
