package rt

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/procbot/procbot/internal/core"
)

// Relate makes a refer to b (RT's RefersTo), which RT shows on both
// tickets. Relating twice is not an error.
func (c *Client) Relate(ctx context.Context, a, b core.TicketRef) error {
	op := fmt.Sprintf("link %s to %s", a, b)
	for _, r := range []core.TicketRef{a, b} {
		if r.Tracker != c.Name() {
			return c.fail(op, core.ErrInvalid, fmt.Sprintf("%s is not a ticket of %s", r, c.Name()), 0)
		}
	}
	bid, err := ticketID(b.ID)
	if err != nil {
		return c.fail(op, core.ErrInvalid, fmt.Sprintf("%s: %v", b, err), 0)
	}
	w, err := c.getRaw(ctx, a.ID, op)
	if err != nil {
		return err
	}
	if hasLink(w.Hyperlinks, "refers-to", b.ID) {
		return nil
	}
	resp, err := c.do(ctx, http.MethodPut, "/ticket/"+string(w.ID), nil, map[string]any{"AddRefersTo": bid}, op)
	if err != nil {
		return err
	}
	msgs := messages(resp)
	for _, m := range msgs {
		if strings.Contains(m, " refers to ") {
			return nil
		}
	}
	if w, err = c.getRaw(ctx, a.ID, op+": re-read"); err != nil {
		return err
	}
	if hasLink(w.Hyperlinks, "refers-to", b.ID) {
		return nil
	}
	return c.fail(op, core.ErrInvalid, strings.Join(msgs, "; "), resp.StatusCode())
}
