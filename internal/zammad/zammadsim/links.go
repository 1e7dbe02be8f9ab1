package zammadsim

import (
	"net/http"
	"strings"
	"time"
)

func inverseLinkType(typ string) string {
	switch typ {
	case "parent":
		return "child"
	case "child":
		return "parent"
	}
	return typ
}

func (s *Server) storeLink(typ string, source, target int, now time.Time) *link {
	l := &link{id: s.db.nextLinkID, typ: typ, source: source, target: target, createdAt: now}
	s.db.nextLinkID++
	s.db.links = append(s.db.links, l)
	s.touch(source, now)
	s.touch(target, now)
	return l
}

func (s *Server) touch(id int, now time.Time) {
	if t := s.db.tickets[id]; t != nil {
		t.updatedAt = now
	}
}

func checkLinkObject(p params, key string) error {
	if v := p.str(key); v != "" && v != "Ticket" {
		return unprocessable("Invalid link object '%s'", v)
	}
	return nil
}

// listLinks describes every link touching the ticket as the role of the
// other ticket relative to it.
func (s *Server) listLinks(c *call) (int, any, error) {
	if err := checkLinkObject(c.p, "link_object"); err != nil {
		return 0, nil, err
	}
	t, err := s.ticketFor(c, c.p.str("link_object_value"))
	if err != nil {
		return 0, nil, err
	}
	links := []map[string]any{}
	assets := map[string]any{}
	tickets := map[string]any{}
	add := func(typ string, other int) {
		o := s.db.tickets[other]
		if o == nil || !c.u.canRead(o) {
			return
		}
		links = append(links, map[string]any{"link_type": typ, "link_object": "Ticket", "link_object_value": other})
		tickets[itoa(other)] = s.ticketJSON(o, false)
	}
	for _, l := range s.db.links {
		switch t.id {
		case l.target:
			add(l.typ, l.source)
		case l.source:
			add(inverseLinkType(l.typ), l.target)
		}
	}
	if len(tickets) > 0 {
		assets["Ticket"] = tickets
	}
	return http.StatusOK, map[string]any{"links": links, "assets": assets}, nil
}

func (s *Server) addLink(c *call) (int, any, error) {
	p := c.p
	typ := p.str("link_type")
	if linkTypeIDs[typ] == 0 {
		return 0, nil, unprocessable("Invalid link type '%s'", typ)
	}
	if err := checkLinkObject(p, "link_object_source"); err != nil {
		return 0, nil, err
	}
	if err := checkLinkObject(p, "link_object_target"); err != nil {
		return 0, nil, err
	}
	// The source is named by its number, the target by its id.
	number := strings.TrimSpace(p.str("link_object_source_number"))
	source := s.db.ticketByNumber(number)
	if source == nil {
		return 0, nil, &apiError{http.StatusNotFound, "Couldn't find Ticket with 'number'=" + number, true}
	}
	targetID, ok := p.int("link_object_target_value")
	target := s.db.tickets[targetID]
	if !ok || target == nil {
		return 0, nil, notFound("Ticket", p.str("link_object_target_value"))
	}
	if !c.u.canRead(source) || !c.u.agent || !c.u.has(target.groupID, "change") {
		return 0, nil, errNotAuthorized
	}
	if source.id == target.id {
		return 0, nil, unprocessable("An object cannot be linked to itself.")
	}
	for _, l := range s.db.links {
		if l.typ == typ && l.source == source.id && l.target == target.id {
			return 0, nil, unprocessable("Link already exists")
		}
	}
	now := s.clock()
	l := s.storeLink(typ, source.id, target.id, now)
	return http.StatusCreated, map[string]any{
		"id": l.id, "link_type_id": linkTypeIDs[typ],
		"link_object_source_id": 1, "link_object_source_value": source.id,
		"link_object_target_id": 1, "link_object_target_value": target.id,
		"created_at": ts(now), "updated_at": ts(now),
	}, nil
}

func (s *Server) removeLink(c *call) (int, any, error) {
	p := c.p
	typ := p.str("link_type")
	if linkTypeIDs[typ] == 0 {
		return 0, nil, unprocessable("Invalid link type '%s'", typ)
	}
	sourceID, _ := p.int("link_object_source_value")
	targetID, _ := p.int("link_object_target_value")
	source, target := s.db.tickets[sourceID], s.db.tickets[targetID]
	if source == nil {
		return 0, nil, notFound("Ticket", p.str("link_object_source_value"))
	}
	if target == nil {
		return 0, nil, notFound("Ticket", p.str("link_object_target_value"))
	}
	if !c.u.canRead(source) || !c.u.agent || !c.u.has(target.groupID, "change") {
		return 0, nil, errNotAuthorized
	}
	now := s.clock()
	kept := s.db.links[:0]
	removed := false
	for _, l := range s.db.links {
		if (l.typ == typ && l.source == sourceID && l.target == targetID) ||
			(l.typ == inverseLinkType(typ) && l.source == targetID && l.target == sourceID) {
			removed = true
			continue
		}
		kept = append(kept, l)
	}
	s.db.links = kept
	if removed {
		s.touch(sourceID, now)
		s.touch(targetID, now)
	}
	return http.StatusOK, true, nil
}

func (s *Server) tagTicket(c *call, change bool) (*ticket, error) {
	if v := c.p.str("object"); v != "Ticket" {
		return nil, unprocessable("Invalid object '%s'", v)
	}
	t, err := s.ticketFor(c, c.p.str("o_id"))
	if err != nil {
		return nil, err
	}
	if !c.u.agent || (change && !c.u.has(t.groupID, "change")) {
		return nil, errNotAuthorized
	}
	return t, nil
}

func (s *Server) listTags(c *call) (int, any, error) {
	t, err := s.tagTicket(c, false)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"tags": append([]string{}, t.tags...)}, nil
}

func (s *Server) addTag(c *call) (int, any, error) {
	t, err := s.tagTicket(c, true)
	if err != nil {
		return 0, nil, err
	}
	item := strings.TrimSpace(c.p.str("item"))
	if item == "" {
		return 0, nil, unprocessable("Need at least an 'item' field.")
	}
	if t.hasTag(item) {
		return http.StatusCreated, true, nil
	}
	if err := s.checkTagsAllowed([]string{item}); err != nil {
		return 0, nil, err
	}
	t.tags = append(t.tags, item)
	s.db.knownTags[item] = true
	t.updatedAt, t.updatedBy = s.clock(), c.u.id
	return http.StatusCreated, true, nil
}

func (s *Server) removeTag(c *call) (int, any, error) {
	t, err := s.tagTicket(c, true)
	if err != nil {
		return 0, nil, err
	}
	item := strings.TrimSpace(c.p.str("item"))
	for i, x := range t.tags {
		if x == item {
			t.tags = append(t.tags[:i:i], t.tags[i+1:]...)
			t.updatedAt, t.updatedBy = s.clock(), c.u.id
			break
		}
	}
	return http.StatusOK, true, nil
}
