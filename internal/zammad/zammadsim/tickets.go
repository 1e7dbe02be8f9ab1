package zammadsim

import (
	"net/http"
	"net/mail"
	"sort"
	"strings"
	"time"
)

// Keys of a ticket create/update request that are not stored as custom
// attributes.
var reservedTicketKeys = map[string]bool{
	"id": true, "number": true, "title": true, "group": true, "group_id": true, "state": true, "state_id": true,
	"priority": true, "priority_id": true, "owner": true, "owner_id": true, "customer": true, "customer_id": true,
	"organization": true, "organization_id": true, "article": true, "tags": true, "links": true, "mentions": true,
	"expand": true, "full": true, "all": true, "preferences": true, "pending_time": true, "type": true,
	"created_at": true, "updated_at": true, "created_by_id": true, "updated_by_id": true, "article_count": true,
	"close_at": true, "last_close_at": true, "article_ids": true,
}

// ticketJSON is a ticket as Zammad answers it. Only the answers to a
// create or an update and the expanded ones carry "article_ids" and
// "ticket_time_accounting_ids" (withIDs); a plain GET and the assets of a
// search do not. An expanded answer leaves out the name of an association
// that is null (organization) rather than sending null.
func (s *Server) ticketJSON(t *ticket, expand bool, withIDs ...bool) map[string]any {
	db := s.db
	ids := make([]int, len(t.articleIDs))
	for i, id := range t.articleIDs {
		ids[len(ids)-1-i] = id // newest first, as Zammad lists them
	}
	m := map[string]any{
		"id": t.id, "number": t.number, "title": t.title,
		"group_id": t.groupID, "state_id": t.stateID, "priority_id": t.priorityID,
		"organization_id": nil, "owner_id": t.ownerID, "customer_id": t.customerID,
		"note": nil, "type": t.typ,
		"first_response_at": nil, "close_at": tsp(t.closeAt), "last_close_at": tsp(t.lastCloseAt),
		"last_contact_at": tsp(t.lastContact), "last_contact_agent_at": nil, "last_contact_customer_at": nil,
		"last_owner_update_at": nil, "create_article_type_id": nilIfZero(t.createType),
		"create_article_sender_id": nilIfZero(t.createSend), "article_count": len(t.articleIDs),
		"escalation_at": nil, "pending_time": tsp(t.pendingTime), "time_unit": nil,
		"preferences": t.preferences, "created_by_id": t.createdBy, "updated_by_id": t.updatedBy,
		"created_at": ts(t.createdAt), "updated_at": ts(t.updatedAt),
		"first_response_escalation_at": nil, "first_response_in_min": nil, "first_response_diff_in_min": nil,
		"close_escalation_at": nil, "close_in_min": nil, "close_diff_in_min": nil,
		"update_escalation_at": nil, "update_in_min": nil, "update_diff_in_min": nil,
	}
	if expand || (len(withIDs) > 0 && withIDs[0]) {
		m["article_ids"], m["ticket_time_accounting_ids"] = ids, []int{}
	}
	if m["preferences"] == nil {
		m["preferences"] = map[string]any{}
	}
	for k, v := range t.extra {
		m[k] = v
	}
	if expand {
		m["group"] = db.group(t.groupID).name
		m["state"] = db.state(t.stateID).name
		m["priority"] = db.priority(t.priorityID).name
		m["owner"] = db.userName(t.ownerID)
		m["customer"] = db.userName(t.customerID)
		m["created_by"] = db.userName(t.createdBy)
		m["updated_by"] = db.userName(t.updatedBy)
		m["create_article_type"] = nameByID(articleTypeIDs, t.createType)
		m["create_article_sender"] = nameByID(articleSenderIDs, t.createSend)
	}
	return m
}

func nilIfZero(i int) any {
	if i == 0 {
		return nil
	}
	return i
}

func nameByID(m map[string]int, id int) any {
	for k, v := range m {
		if v == id {
			return k
		}
	}
	return nil
}

func (s *Server) articleJSON(a *article) map[string]any {
	by := s.db.userName(a.createdBy)
	return map[string]any{
		"id": a.id, "ticket_id": a.ticketID, "type_id": articleTypeIDs[a.typ], "sender_id": articleSenderIDs[a.sender],
		"type": a.typ, "sender": a.sender, "from": a.from, "to": nilIfEmpty(a.to), "cc": nil, "subject": nilIfEmpty(a.subject),
		"reply_to": nil, "message_id": nil, "message_id_md5": nil, "in_reply_to": nil, "references": nil,
		"content_type": a.contentType, "body": a.body, "internal": a.internal, "preferences": map[string]any{},
		"attachments": []any{}, "origin_by_id": nil, "created_by_id": a.createdBy, "updated_by_id": a.createdBy,
		"created_by": by, "updated_by": by, "created_at": ts(a.createdAt), "updated_at": ts(a.createdAt),
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) userJSON(u *user) map[string]any {
	groups := map[string][]string{}
	for _, g := range s.db.groups {
		var levels []string
		for _, l := range []string{"full", "read", "create", "change", "overview"} {
			if (u.perms[g.id][l]) || (u.all != nil && u.all[l]) {
				levels = append(levels, l)
			}
		}
		if len(levels) > 0 {
			groups[itoa(g.id)] = levels
		}
	}
	roles := []int{3}
	if u.agent {
		roles = []int{2}
	}
	// The 40 keys a live Zammad's /users/me has, the contact and
	// out-of-office fields empty as on an API account.
	return map[string]any{
		"id": u.id, "login": u.login, "email": u.email, "firstname": u.firstname, "lastname": u.lastname,
		"active": true, "organization_id": nil, "role_ids": roles, "group_ids": groups, "preferences": map[string]any{},
		"created_at": ts(u.createdAt), "updated_at": ts(u.createdAt),
		"image": nil, "image_source": nil, "web": "", "phone": "", "fax": "", "mobile": "", "department": "",
		"street": "", "zip": "", "city": "", "country": "", "address": "", "vip": false, "verified": false,
		"note": "", "last_login": nil, "source": nil, "login_failed": 0,
		"out_of_office": false, "out_of_office_start_at": nil, "out_of_office_end_at": nil, "out_of_office_replacement_id": nil,
		"updated_by_id": 1, "created_by_id": 1, "two_factor_preferences": []any{},
		"organization_ids": []any{}, "authorization_ids": []any{}, "overview_sorting_ids": []any{},
	}
}

func (s *Server) getMe(c *call) (int, any, error) {
	return http.StatusOK, s.userJSON(c.u), nil
}

// searchUsers is the user search as an agent sees it, by words as the
// search index matches: terms `field:"phrase"` or `field:word` (login,
// email, firstname, lastname) joined by OR, or bare words, the last a
// prefix, matched against all four.
func (s *Server) searchUsers(c *call) (int, any, error) {
	if !c.u.agent {
		return http.StatusForbidden, map[string]any{"error": "Not authorized", "error_human": "Not authorized"}, nil
	}
	query := strings.ReplaceAll(strings.TrimSpace(c.p.str("query")), "*", "")
	var terms []qTerm
	for _, part := range strings.Split(query, " OR ") {
		field, value, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			field, value = "", strings.TrimSpace(part)
		}
		value = strings.ReplaceAll(strings.Trim(value, `"`), `\"`, `"`)
		terms = append(terms, qTerm{field: field, value: value, prefix: !strings.Contains(query, ":")})
	}
	out := []map[string]any{}
	for _, u := range s.db.users {
		fields := map[string]string{"login": u.login, "email": u.email, "firstname": u.firstname, "lastname": u.lastname}
		hit := false
		for _, t := range terms {
			for name, v := range fields {
				hit = hit || ((t.field == "" || t.field == name) && t.value != "" && t.matchWords(v))
			}
		}
		if hit {
			out = append(out, s.userJSON(u))
		}
	}
	page, per := c.p.page(50, 100)
	return http.StatusOK, paginate(out, page, per), nil
}

func (s *Server) listGroups(c *call) (int, any, error) {
	var out []map[string]any
	for _, g := range s.db.groups {
		if !c.u.agent {
			continue
		}
		if !(c.u.has(g.id, "read") || c.u.has(g.id, "create") || c.u.has(g.id, "change")) {
			continue
		}
		last := g.name
		if i := strings.LastIndex(last, "::"); i >= 0 {
			last = last[i+2:]
		}
		out = append(out, map[string]any{
			"id": g.id, "name": g.name, "name_last": last, "parent_id": nilIfZero(g.parentID), "active": true,
			"note": "", "follow_up_possible": "yes", "follow_up_assignment": true, "assignment_timeout": nil,
			"email_address_id": nil, "signature_id": nil, "shared_drafts": true, "user_ids": []int{},
			"created_at": ts(g.created), "updated_at": ts(g.created),
		})
	}
	page, per := c.p.page(500, 500)
	return http.StatusOK, paginate(out, page, per), nil
}

func (s *Server) listStates(c *call) (int, any, error) {
	out := []map[string]any{}
	for _, st := range s.db.states {
		m := map[string]any{
			"id": st.id, "name": st.name, "state_type_id": st.typeID, "next_state_id": nil,
			"ignore_escalation": st.typ == "closed", "default_create": st.create, "default_follow_up": st.followUp,
			"note": nil, "active": st.active,
		}
		if c.p.flag("expand") {
			m["state_type"] = st.typ
		}
		out = append(out, m)
	}
	return http.StatusOK, out, nil
}

func (s *Server) listPriorities(c *call) (int, any, error) {
	out := []map[string]any{}
	for _, p := range s.db.priorities {
		out = append(out, map[string]any{"id": p.id, "name": p.name, "default_create": p.create, "active": true, "note": nil})
	}
	return http.StatusOK, out, nil
}

func (s *Server) listTickets(c *call) (int, any, error) {
	var readable []*ticket
	for _, id := range s.db.ticketIDs {
		if t := s.db.tickets[id]; c.u.canRead(t) {
			readable = append(readable, t)
		}
	}
	page, per := c.p.page(100, 100)
	out := []map[string]any{}
	for _, t := range paginate(readable, page, per) {
		out = append(out, s.ticketJSON(t, c.p.flag("expand")))
	}
	return http.StatusOK, out, nil
}

// ticketFor finds the ticket named by a path or parameter value and checks
// that the caller may read it.
func (s *Server) ticketFor(c *call, raw string) (*ticket, error) {
	id, ok := intValue(raw)
	if !ok {
		return nil, notFound("Ticket", raw)
	}
	t, ok := s.db.tickets[id]
	if !ok {
		return nil, notFound("Ticket", id)
	}
	if !c.u.canRead(t) {
		return nil, errNotAuthorized
	}
	return t, nil
}

func (s *Server) getTicket(c *call) (int, any, error) {
	t, err := s.ticketFor(c, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s.ticketJSON(t, c.p.flag("expand")), nil
}

// resolve turns a name or id parameter pair (e.g. "group"/"group_id") into
// an id, with Zammad's 422 text for unknown names.
func resolve(p params, assoc string, byName func(string) int, byID func(int) bool) (int, bool, error) {
	if p.has(assoc + "_id") {
		id, ok := p.int(assoc + "_id")
		if !ok || !byID(id) {
			return 0, true, lookupFailed(assoc+"_id", p.str(assoc+"_id"))
		}
		return id, true, nil
	}
	if p.has(assoc) {
		name := p.str(assoc)
		id := byName(name)
		if id == 0 {
			return 0, true, lookupFailed(assoc, name)
		}
		return id, true, nil
	}
	return 0, false, nil
}

func (s *Server) lookupGroup(p params) (int, bool, error) {
	return resolve(p, "group", func(n string) int {
		if g := s.db.groupByName(n); g != nil {
			return g.id
		}
		return 0
	}, func(id int) bool { return s.db.group(id) != nil })
}

func (s *Server) lookupState(p params) (int, bool, error) {
	return resolve(p, "state", func(n string) int {
		if st := s.db.stateByName(n); st != nil {
			return st.id
		}
		return 0
	}, func(id int) bool { return s.db.state(id) != nil })
}

func (s *Server) lookupPriority(p params) (int, bool, error) {
	return resolve(p, "priority", func(n string) int {
		if pr := s.db.priorityByName(n); pr != nil {
			return pr.id
		}
		return 0
	}, func(id int) bool { return s.db.priority(id) != nil })
}

func (s *Server) lookupUser(p params, assoc string) (int, bool, error) {
	return resolve(p, assoc, func(n string) int {
		if u := s.db.userByName(n); u != nil {
			return u.id
		}
		return 0
	}, func(id int) bool { return s.db.user(id) != nil })
}

// lookupCustomer adds "guess:<email>" (find or create) and a customer object
// to the plain name/id lookup.
func (s *Server) lookupCustomer(p params, now time.Time) (int, bool, error) {
	if v, ok := p["customer_id"].(string); ok && strings.HasPrefix(v, "guess:") {
		email := strings.TrimPrefix(v, "guess:")
		if u := s.db.userByName(email); u != nil {
			return u.id, true, nil
		}
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email || !strings.Contains(email[strings.Index(email, "@"):], ".") {
			return 0, true, unprocessable("Invalid email '%s' of customer", email)
		}
		return s.db.addCustomer(email, now).id, true, nil
	}
	if obj, ok := p["customer"].(map[string]any); ok {
		email := scalarString(obj["email"])
		if u := s.db.userByName(email); u != nil {
			return u.id, true, nil
		}
		if _, err := mail.ParseAddress(email); err != nil {
			return 0, true, unprocessable("Invalid email '%s' of customer", email)
		}
		return s.db.addCustomer(email, now).id, true, nil
	}
	return s.lookupUser(p, "customer")
}

func parseTags(v any) []string {
	var raw []string
	switch x := v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []any:
		for _, e := range x {
			raw = append(raw, scalarString(e))
		}
	}
	var out []string
	for _, t := range raw {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) checkTagsAllowed(tags []string) error {
	if !s.denyNewTags {
		return nil
	}
	for _, t := range tags {
		if !s.db.knownTags[t] {
			return errNotAuthorized
		}
	}
	return nil
}

func (s *Server) createTicket(c *call) (int, any, error) {
	p, now, db := c.p, s.clock(), s.db
	title := strings.TrimSpace(p.str("title"))
	if title == "" {
		return 0, nil, unprocessable("Attribute 'title' required!")
	}
	if len([]rune(title)) > 250 {
		return 0, nil, unprocessable("Title is too long (maximum is 250 characters)")
	}
	groupID, ok, err := s.lookupGroup(p)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		return 0, nil, unprocessable("Attribute 'group_id' required!")
	}
	if c.u.agent && !c.u.has(groupID, "create") {
		return 0, nil, errNotAuthorized
	}
	stateID, ok, err := s.lookupState(p)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		stateID = db.defaultState(false).id
	}
	priorityID, ok, err := s.lookupPriority(p)
	if err != nil {
		return 0, nil, err
	}
	if !ok {
		priorityID = db.defaultPriority().id
	}
	ownerID, ok, err := s.lookupUser(p, "owner")
	if err != nil {
		return 0, nil, err
	}
	if !ok || !c.u.agent {
		ownerID = 1
	}
	if err := checkPending(db.state(stateID), p); err != nil {
		return 0, nil, err
	}
	var art *article
	if a, ok := p["article"].(map[string]any); ok {
		if art, err = s.newArticle(c, params(a), now); err != nil {
			return 0, nil, err
		}
		if art.subject == "" {
			art.subject = title
		}
	}
	tags := parseTags(p["tags"])
	if err := s.checkTagsAllowed(tags); err != nil {
		return 0, nil, err
	}
	var linkParents map[string][]int
	if l, ok := p["links"].(map[string]any); ok {
		linkParents = map[string][]int{}
		if tl, ok := l["Ticket"].(map[string]any); ok {
			for typ, ids := range tl {
				if linkTypeIDs[typ] == 0 {
					return 0, nil, unprocessable("Invalid link type '%s'", typ)
				}
				list, _ := ids.([]any)
				for _, v := range list {
					id, ok := intValue(v)
					if _, exists := db.tickets[id]; !ok || !exists {
						return 0, nil, notFound("Ticket", scalarString(v))
					}
					linkParents[typ] = append(linkParents[typ], id)
				}
			}
		}
	}
	// The customer comes last: a "guess:" customer is created as a side
	// effect, which must not happen for a request rejected for other reasons.
	var customerID int
	if c.u.agent {
		customerID, ok, err = s.lookupCustomer(p, now)
		if err != nil {
			return 0, nil, err
		}
		if !ok {
			return 0, nil, unprocessable("Attribute 'customer_id' required!")
		}
	} else {
		customerID = c.u.id
	}

	t := &ticket{
		id: db.nextTicketID, number: itoa(db.nextNumber), title: title,
		groupID: groupID, stateID: stateID, priorityID: priorityID, ownerID: ownerID, customerID: customerID,
		typ: p["type"], extra: map[string]any{}, preferences: map[string]any{},
		createdBy: c.u.id, updatedBy: c.u.id, createdAt: now, updatedAt: now,
	}
	db.nextTicketID++
	db.nextNumber++
	if p.has("pending_time") {
		if pt, ok := parseTime(p.str("pending_time")); ok {
			t.pendingTime = &pt
		}
	}
	for k, v := range p {
		if !reservedTicketKeys[k] {
			t.extra[k] = v
		}
	}
	if st := db.state(stateID); st.typ == "closed" {
		t.closeAt, t.lastCloseAt = &now, &now
	}
	db.tickets[t.id] = t
	db.ticketIDs = append(db.ticketIDs, t.id)
	db.byNumber[t.number] = t
	if art != nil {
		t.createType, t.createSend = articleTypeIDs[art.typ], articleSenderIDs[art.sender]
		s.storeArticle(t, art, now)
	}
	for _, tag := range tags {
		if !t.hasTag(tag) {
			t.tags = append(t.tags, tag)
			db.knownTags[tag] = true
		}
	}
	for typ, ids := range linkParents {
		for _, target := range ids {
			s.storeLink(typ, t.id, target, now)
		}
	}
	return http.StatusCreated, s.ticketJSON(t, p.flag("expand"), true), nil
}

func checkPending(st *state, p params) error {
	if strings.HasPrefix(st.typ, "pending") && !p.has("pending_time") {
		return unprocessable("Missing required value for field 'pending_time'!")
	}
	return nil
}

func (s *Server) updateTicket(c *call) (int, any, error) {
	t, err := s.ticketFor(c, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	if !c.u.agent || !c.u.has(t.groupID, "change") {
		return 0, nil, errNotAuthorized
	}
	p, now, db := c.p, s.clock(), s.db
	next := *t
	if p.has("title") {
		next.title = strings.TrimSpace(p.str("title"))
		if next.title == "" {
			return 0, nil, unprocessable("Attribute 'title' required!")
		}
	}
	if id, ok, err := s.lookupGroup(p); err != nil {
		return 0, nil, err
	} else if ok {
		if id != t.groupID && !(c.u.has(id, "create") || c.u.has(id, "change")) {
			return 0, nil, errNotAuthorized
		}
		next.groupID = id
	}
	if id, ok, err := s.lookupState(p); err != nil {
		return 0, nil, err
	} else if ok {
		next.stateID = id
	}
	if id, ok, err := s.lookupPriority(p); err != nil {
		return 0, nil, err
	} else if ok {
		next.priorityID = id
	}
	if id, ok, err := s.lookupUser(p, "owner"); err != nil {
		return 0, nil, err
	} else if ok {
		next.ownerID = id
	}
	if id, ok, err := s.lookupCustomer(p, now); err != nil {
		return 0, nil, err
	} else if ok {
		next.customerID = id
	}
	if p.has("pending_time") {
		if pt, ok := parseTime(p.str("pending_time")); ok {
			next.pendingTime = &pt
		}
	}
	if next.stateID != t.stateID && next.pendingTime == nil {
		if err := checkPending(db.state(next.stateID), p); err != nil {
			return 0, nil, err
		}
	}
	var art *article
	if a, ok := p["article"].(map[string]any); ok {
		if art, err = s.newArticle(c, params(a), now); err != nil {
			return 0, nil, err
		}
	}
	changed := next.title != t.title || next.groupID != t.groupID || next.stateID != t.stateID ||
		next.priorityID != t.priorityID || next.ownerID != t.ownerID || next.customerID != t.customerID
	if p.has("type") && p["type"] != t.typ {
		next.typ, changed = p["type"], true
	}
	next.extra = map[string]any{}
	for k, v := range t.extra {
		next.extra[k] = v
	}
	for k, v := range p {
		if !reservedTicketKeys[k] {
			next.extra[k], changed = v, true
		}
	}
	if prefs, ok := p["preferences"].(map[string]any); ok {
		next.preferences = map[string]any{}
		for k, v := range t.preferences {
			next.preferences[k] = v
		}
		for k, v := range prefs {
			next.preferences[k] = v
		}
		changed = true
	}
	if next.stateID != t.stateID {
		if db.state(next.stateID).typ == "closed" {
			// close_at keeps the first close; last_close_at follows every close.
			if next.closeAt == nil {
				next.closeAt = &now
			}
			next.lastCloseAt = &now
		}
	}
	if changed {
		next.updatedAt, next.updatedBy = now, c.u.id
	}
	*t = next
	if art != nil {
		s.storeArticle(t, art, now)
		t.updatedBy = c.u.id
	}
	return http.StatusOK, s.ticketJSON(t, p.flag("expand"), true), nil
}

// newArticle validates an article request; ticket_id is handled by callers.
func (s *Server) newArticle(c *call, p params, now time.Time) (*article, error) {
	body := p.str("body")
	if body == "" {
		return nil, unprocessable("Need at least an 'article body' field.")
	}
	a := &article{
		typ: p.str("type"), subject: p.str("subject"), body: body, contentType: p.str("content_type"),
		internal: p.flag("internal"), to: p.str("to"), from: p.str("from"), createdBy: c.u.id, createdAt: now,
	}
	if a.typ == "" {
		a.typ = "note"
	}
	if _, ok := articleTypeIDs[a.typ]; !ok {
		return nil, lookupFailed("type", a.typ)
	}
	if a.contentType == "" {
		a.contentType = "text/plain"
	}
	a.sender = p.str("sender")
	if a.sender == "" {
		a.sender = "Customer"
		if c.u.agent {
			a.sender = "Agent"
		}
	}
	if !c.u.agent {
		a.sender, a.internal = "Customer", false
		if a.typ != "web" {
			a.typ = "note"
		}
	}
	if a.from == "" {
		a.from = strings.TrimSpace(c.u.firstname + " " + c.u.lastname)
		if a.from == "" {
			a.from = c.u.login
		}
	}
	return a, nil
}

// storeArticle adds a to t and touches t, as Zammad does for every article.
func (s *Server) storeArticle(t *ticket, a *article, now time.Time) {
	a.id = s.db.nextArticleID
	s.db.nextArticleID++
	a.ticketID = t.id
	s.db.articles[a.id] = a
	t.articleIDs = append(t.articleIDs, a.id)
	t.updatedAt = now
	t.updatedBy = a.createdBy
	if a.typ != "note" {
		// A note (all that the API adds here) is no contact: Zammad
		// leaves last_contact_at null on a ticket created or changed
		// through the API.
		t.lastContact = &now
	}
}

func (s *Server) articlesByTicket(c *call) (int, any, error) {
	t, err := s.ticketFor(c, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	ids := append([]int(nil), t.articleIDs...)
	sort.Ints(ids)
	out := []map[string]any{}
	for _, id := range ids {
		a := s.db.articles[id]
		if a.internal && !c.u.agent {
			continue
		}
		out = append(out, s.articleJSON(a))
	}
	return http.StatusOK, out, nil
}

func (s *Server) getArticle(c *call) (int, any, error) {
	id, ok := intValue(c.r.PathValue("id"))
	a := s.db.articles[id]
	if !ok || a == nil {
		return 0, nil, notFound("Ticket::Article", c.r.PathValue("id"))
	}
	t := s.db.tickets[a.ticketID]
	if !c.u.canRead(t) || (a.internal && !c.u.agent) {
		return 0, nil, errNotAuthorized
	}
	return http.StatusOK, s.articleJSON(a), nil
}

func (s *Server) createArticle(c *call) (int, any, error) {
	if !c.p.has("ticket_id") {
		return 0, nil, unprocessable("Need at least an 'ticket_id' field.")
	}
	t, err := s.ticketFor(c, c.p.str("ticket_id"))
	if err != nil {
		return 0, nil, err
	}
	if !c.u.canChange(t) {
		return 0, nil, errNotAuthorized
	}
	now := s.clock()
	a, err := s.newArticle(c, c.p, now)
	if err != nil {
		return 0, nil, err
	}
	s.storeArticle(t, a, now)
	return http.StatusCreated, s.articleJSON(a), nil
}
