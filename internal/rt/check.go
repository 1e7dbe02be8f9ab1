package rt

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

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

// FindUser looks for the RT user who, by user name or, for an address, by
// email address, and returns the user's name, which is how RT names the
// authors of transactions ("" when RT has no such user).
func (c *Client) FindUser(ctx context.Context, who string) (string, error) {
	op := "find user " + who
	var u struct {
		Name string `json:"Name"`
	}
	resp, err := c.do(ctx, http.MethodGet, "/user/"+url.PathEscape(who), nil, nil, op)
	switch {
	case err == nil:
		if err := c.decode(resp, &u, op); err != nil {
			return "", err
		}
		return u.Name, nil
	case !errors.Is(err, core.ErrNotFound):
		return "", err
	case !strings.Contains(who, "@"):
		return "", nil
	}
	query, _ := json.Marshal([]map[string]string{{"field": "EmailAddress", "value": who}})
	resp, err = c.do(ctx, http.MethodGet, "/users", url.Values{"query": {string(query)}}, nil, op+" by email address")
	if errors.Is(err, core.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var found struct {
		Items []struct {
			ID json.RawMessage `json:"id"`
		} `json:"items"`
	}
	if err := c.decode(resp, &found, op); err != nil || len(found.Items) == 0 {
		return "", err
	}
	var name string
	if json.Unmarshal(found.Items[0].ID, &name) != nil {
		return "", c.fail(op, core.ErrUnavailable, "RT named the user by "+string(found.Items[0].ID)+", not by a name", 0)
	}
	return name, nil
}
