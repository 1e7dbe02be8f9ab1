package zammad

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// FindUser looks for the GGUS user who, by login or email address, and
// returns the user's login, which is how procbot names the authors of
// articles ("" when GGUS has no such user). It asks the user search by
// both fields and keeps only an exact match: the search index matches
// words, not whole values.
func (c *Client) FindUser(ctx context.Context, who string) (string, error) {
	phrase := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(who) + `"`
	var users []struct {
		Login string `json:"login"`
		Email string `json:"email"`
	}
	q := url.Values{"query": {"login:" + phrase + " OR email:" + phrase}, "limit": {"20"}}
	if err := c.do(ctx, http.MethodGet, "/users/search", q, nil, &users); err != nil {
		return "", c.fail("find user "+who, err)
	}
	for _, u := range users {
		if strings.EqualFold(u.Login, who) || strings.EqualFold(u.Email, who) {
			return u.Login, nil
		}
	}
	return "", nil
}
