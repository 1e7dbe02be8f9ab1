package rt

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/procbot/procbot/internal/core"
)

// QueueRights tells whether procbot's user may see the queue and create
// tickets in it, and the queue's lifecycle. RT answers a queue the user
// may not see, or that does not exist, with 403 or 404 (visible false);
// it links "create" from a queue only for a user with CreateTicket there.
func (c *Client) QueueRights(ctx context.Context, name string) (visible, create bool, lifecycle string, err error) {
	op := "read queue " + name
	resp, err := c.do(ctx, http.MethodGet, "/queue/"+url.PathEscape(name), nil, nil, op)
	if errors.Is(err, core.ErrForbidden) || errors.Is(err, core.ErrNotFound) {
		return false, false, "", nil
	}
	if err != nil {
		return false, false, "", err
	}
	var q struct {
		Lifecycle  string      `json:"Lifecycle"`
		Hyperlinks []hyperlink `json:"_hyperlinks"`
	}
	if err := c.decode(resp, &q, op); err != nil {
		return false, false, "", err
	}
	for _, h := range q.Hyperlinks {
		create = create || h.Ref == "create"
	}
	return true, create, q.Lifecycle, nil
}
