package zammad

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// GroupRights returns the groups procbot's account may use, by full name
// ("Second Level::Services::…"), with its access in each ("read",
// "create", "change", "full", …): the names from /groups, the access from
// the account's own group_ids.
func (c *Client) GroupRights(ctx context.Context) (map[string][]string, error) {
	const what = "list the groups and procbot's access to them"
	var me struct {
		GroupIDs map[string][]string `json:"group_ids"`
	}
	if err := c.do(ctx, http.MethodGet, "/users/me", nil, nil, &me); err != nil {
		return nil, c.fail(what, err)
	}
	var groups []struct {
		ID   flexInt `json:"id"`
		Name string  `json:"name"`
	}
	if err := c.do(ctx, http.MethodGet, "/groups", url.Values{"per_page": {"500"}}, nil, &groups); err != nil {
		return nil, c.fail(what, err)
	}
	out := map[string][]string{}
	for _, g := range groups {
		if access, ok := me.GroupIDs[strconv.FormatInt(int64(g.ID), 10)]; ok {
			out[g.Name] = access
		}
	}
	return out, nil
}

// States returns the names of the ticket states.
func (c *Client) States(ctx context.Context) ([]string, error) {
	var states []struct {
		Name string `json:"name"`
	}
	if err := c.do(ctx, http.MethodGet, "/ticket_states", nil, nil, &states); err != nil {
		return nil, c.fail("list the ticket states", err)
	}
	out := make([]string, 0, len(states))
	for _, s := range states {
		out = append(out, s.Name)
	}
	return out, nil
}
