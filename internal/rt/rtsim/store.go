package rtsim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

type queue struct {
	id       int
	name     string
	desc     string
	disabled bool
}

// link is one row of RT's Links table. Base and target are ticket ids; an
// external target has target 0 and uri set.
type link struct {
	typ    string // MemberOf, DependsOn, RefersTo
	base   int
	target int
	uri    string
}

type ticket struct {
	id          int
	queue       int
	subject     string
	status      string
	owner       string
	creator     string
	updatedBy   string
	requestors  []string
	created     time.Time
	lastUpdated time.Time
	started     time.Time
	resolved    time.Time
	cfs         map[string][]string
	rev         int
}

type txn struct {
	id       int
	ticket   int
	typ      string
	field    string
	oldValue string
	newValue string
	data     string
	created  time.Time
	creator  string
	atts     []int
}

type attachment struct {
	id          int
	txn         int
	contentType string
	content     string
	subject     string
}

// linkKey says which link type a JSON key names and whether the ticket
// being written is the link's base (MemberOf: "I am a member of X") or its
// target (Members: "X is a member of me").
type linkKey struct {
	typ     string
	reverse bool
}

var linkKeys = map[string]linkKey{
	"MemberOf": {"MemberOf", false}, "Parent": {"MemberOf", false}, "Parents": {"MemberOf", false},
	"Members": {"MemberOf", true}, "Children": {"MemberOf", true}, "Child": {"MemberOf", true}, "HasMember": {"MemberOf", true},
	"DependsOn": {"DependsOn", false}, "DependedOnBy": {"DependsOn", true},
	"RefersTo": {"RefersTo", false}, "ReferredToBy": {"RefersTo", true},
}

// reverseName is the transaction Field and TicketSQL name seen from the target.
var reverseName = map[string]string{"MemberOf": "HasMember", "DependsOn": "DependedOnBy", "RefersTo": "ReferredToBy"}

var linkVerb = map[string]string{"MemberOf": "member of", "DependsOn": "depends on", "RefersTo": "refers to"}

// hyperlink refs as RT names them, from the base's and from the target's side.
var refFromBase = map[string]string{"MemberOf": "parent", "DependsOn": "depends-on", "RefersTo": "refers-to"}
var refFromTarget = map[string]string{"MemberOf": "child", "DependsOn": "depended-on-by", "RefersTo": "referred-to-by"}

func (s *Server) now() time.Time { return s.opts.Now().UTC().Truncate(time.Second) }

func (s *Server) base() string { return s.baseURL }

func (s *Server) uri(id int) string {
	return fmt.Sprintf("fsck.com-rt://%s/ticket/%d", s.opts.RTName, id)
}

func (s *Server) queueByRef(v any) *queue {
	var key string
	switch x := v.(type) {
	case string:
		key = x
	case float64:
		key = strconv.Itoa(int(x))
	default:
		return nil
	}
	for _, q := range s.queues {
		if strconv.Itoa(q.id) == key || strings.EqualFold(q.name, key) {
			return q
		}
	}
	return nil
}

func (s *Server) queueByID(id int) *queue {
	for _, q := range s.queues {
		if q.id == id {
			return q
		}
	}
	return nil
}

func (s *Server) validStatus(st string) bool {
	for _, x := range s.opts.Statuses {
		if x == st {
			return true
		}
	}
	return false
}

func isActive(st string) bool { return st == "new" || st == "open" || st == "stalled" }

func (s *Server) addTxn(t *ticket, typ, field, oldV, newV, data, creator string) *txn {
	x := &txn{id: s.nextTxn, ticket: t.id, typ: typ, field: field, oldValue: oldV, newValue: newV,
		data: data, created: s.now(), creator: creator}
	s.nextTxn++
	s.txns[x.id] = x
	t.lastUpdated = x.created
	t.updatedBy = creator
	t.rev++
	return x
}

// addMessage stores a message as RT 5.0.3 does for a REST2 JSON body
// without attachments: one attachment holding the body, which carries the
// subject (the ticket's subject on a create).
func (s *Server) addMessage(x *txn, contentType, content, subject string) {
	a := &attachment{id: s.nextAtt, txn: x.id, contentType: contentType, content: content, subject: subject}
	s.nextAtt++
	s.atts[a.id] = a
	x.atts = append(x.atts, a.id)
}

// linkTarget resolves a link value: a ticket id (number or digits), an RT
// ticket URI, or an external URL. ok is false for a ticket that does not
// exist, which RT drops without telling the client.
func (s *Server) linkTarget(v any) (id int, uri string, ok bool) {
	var str string
	switch x := v.(type) {
	case float64:
		str = strconv.Itoa(int(x))
	case string:
		str = strings.TrimSpace(x)
	default:
		return 0, "", false
	}
	prefix := fmt.Sprintf("fsck.com-rt://%s/ticket/", s.opts.RTName)
	str = strings.TrimPrefix(str, prefix)
	if n, err := strconv.Atoi(str); err == nil {
		if _, exists := s.tickets[n]; exists && n > 0 {
			return n, "", true
		}
		return 0, "", false
	}
	if strings.Contains(str, "://") {
		return 0, str, true
	}
	return 0, "", false
}

func linkValues(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

func (s *Server) hasLink(l link) bool {
	for _, x := range s.links {
		if x == l {
			return true
		}
	}
	return false
}

func (s *Server) linkMsg(l link, removed bool) string {
	verb := linkVerb[l.typ]
	if removed {
		verb = "no longer " + verb
	}
	dst := fmt.Sprintf("Ticket %d", l.target)
	if l.target == 0 {
		dst = "URI " + l.uri
	}
	return fmt.Sprintf("Ticket %d %s %s.", l.base, verb, dst)
}

// makeLink builds the link between ticket self and a resolved other end.
func makeLink(k linkKey, self, other int, uri string) (link, bool) {
	if k.reverse {
		if other == 0 { // an external base cannot be stored
			return link{}, false
		}
		return link{typ: k.typ, base: other, target: self}, true
	}
	return link{typ: k.typ, base: self, target: other, uri: uri}, true
}

// addLink records a link. At create RT records the AddLink transaction only
// on the other ticket; later it records it on both.
func (s *Server) addLink(l link, self int, atCreate bool, who string) {
	s.links = append(s.links, l)
	if base, ok := s.tickets[l.base]; ok && !(atCreate && l.base == self) {
		target := l.uri
		if l.target != 0 {
			target = s.uri(l.target)
		}
		s.addTxn(base, "AddLink", l.typ, "", target, "", who)
	}
	if tgt, ok := s.tickets[l.target]; ok && !(atCreate && l.target == self) {
		s.addTxn(tgt, "AddLink", reverseName[l.typ], "", s.uri(l.base), "", who)
	}
}

func (s *Server) deleteLink(l link, who string) {
	for i, x := range s.links {
		if x == l {
			s.links = append(s.links[:i], s.links[i+1:]...)
			break
		}
	}
	if base, ok := s.tickets[l.base]; ok {
		target := l.uri
		if l.target != 0 {
			target = s.uri(l.target)
		}
		s.addTxn(base, "DeleteLink", l.typ, target, "", "", who)
	}
	if tgt, ok := s.tickets[l.target]; ok {
		s.addTxn(tgt, "DeleteLink", reverseName[l.typ], s.uri(l.base), "", "", who)
	}
}

// linksOf lists the links of one type seen from ticket id: where it is the
// base (reverse false) or the target (reverse true).
func (s *Server) linksOf(id int, typ string, reverse bool) []link {
	var out []link
	for _, l := range s.links {
		if l.typ != typ {
			continue
		}
		if (!reverse && l.base == id) || (reverse && l.target == id) {
			out = append(out, l)
		}
	}
	return out
}

// setStatus changes the status as RT::Ticket::SetStatus does, answering
// with RT's message; ok false means nothing changed.
func (s *Server) setStatus(t *ticket, st, who string, prefix bool) (string, bool) {
	pre := ""
	if prefix {
		pre = fmt.Sprintf("Ticket %d: ", t.id)
	}
	if !s.validStatus(st) {
		return pre + fmt.Sprintf("Status '%s' isn't a valid status for this ticket.", st), false
	}
	if st == t.status {
		return "", false
	}
	if st == "resolved" || st == "rejected" {
		for _, l := range s.linksOf(t.id, "DependsOn", false) {
			if dep, ok := s.tickets[l.target]; ok && isActive(dep.status) {
				return pre + "That ticket has unresolved dependencies", false
			}
		}
	}
	old := t.status
	t.status = st
	now := s.now()
	if st == "resolved" {
		t.resolved = now
	}
	if st != "new" && t.started.IsZero() {
		t.started = now
	}
	s.addTxn(t, "Status", "Status", old, st, "", who)
	return pre + fmt.Sprintf("Status changed from '%s' to '%s'", old, st), true
}

// ---- rendering

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "1970-01-01T00:00:00Z"
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func (s *Server) objRef(typ, id string) map[string]any {
	return map[string]any{"id": id, "type": typ, "_url": s.base() + "/" + typ + "/" + id}
}

func (s *Server) userObj(name string, sub []string) map[string]any {
	o := s.objRef("user", name)
	for _, f := range sub {
		if f == "Name" {
			o["Name"] = name
		}
	}
	return o
}

func (s *Server) queueObj(id int, sub []string) map[string]any {
	o := s.objRef("queue", strconv.Itoa(id))
	q := s.queueByID(id)
	for _, f := range sub {
		switch f {
		case "Name":
			o["Name"] = q.name
		case "Description":
			o["Description"] = q.desc
		case "Lifecycle":
			o["Lifecycle"] = "default"
		}
	}
	return o
}

func (s *Server) cfList(t *ticket) []any {
	out := []any{}
	for i, name := range s.cfs {
		vals := append([]string{}, t.cfs[name]...)
		out = append(out, map[string]any{"id": strconv.Itoa(i + 1), "name": name, "type": "customfield",
			"values": vals, "_url": s.base() + "/customfield/" + strconv.Itoa(i+1)})
	}
	return out
}

// ticketField renders one field of a ticket as REST2 shows it; sub are the
// fields[Name]= sub-fields for object-valued fields.
func (s *Server) ticketField(t *ticket, name string, sub []string) (any, bool) {
	switch name {
	case "id":
		return strconv.Itoa(t.id), true
	case "Subject":
		return t.subject, true
	case "Status":
		return t.status, true
	case "Type":
		return "ticket", true
	case "Created":
		return fmtTime(t.created), true
	case "LastUpdated":
		return fmtTime(t.lastUpdated), true
	case "Started":
		return fmtTime(t.started), true
	case "Resolved":
		return fmtTime(t.resolved), true
	case "Starts", "Due", "Told":
		return fmtTime(time.Time{}), true
	case "Priority", "InitialPriority", "FinalPriority", "TimeWorked", "TimeLeft", "TimeEstimated":
		return "0", true
	case "Queue":
		return s.queueObj(t.queue, sub), true
	case "Owner":
		return s.userObj(t.owner, sub), true
	case "Creator":
		return s.userObj(t.creator, sub), true
	case "LastUpdatedBy":
		return s.userObj(t.updatedBy, sub), true
	case "Requestor", "Requestors":
		out := []any{}
		for _, r := range t.requestors {
			out = append(out, s.userObj(r, sub))
		}
		return out, true
	case "Cc", "AdminCc":
		return []any{}, true
	case "EffectiveId":
		return s.objRef("ticket", strconv.Itoa(t.id)), true
	case "CustomFields":
		return s.cfList(t), true
	}
	return nil, false
}

var fullTicketFields = []string{"Subject", "Status", "Type", "Queue", "Owner", "Creator", "LastUpdatedBy",
	"Requestor", "Cc", "AdminCc", "EffectiveId", "Created", "LastUpdated", "Started", "Resolved", "Starts",
	"Due", "Priority", "InitialPriority", "FinalPriority", "TimeWorked", "TimeLeft", "TimeEstimated",
	"CustomFields"}

type lifecycleAction struct{ to, label, update string }

// lifecycleActions are the actions of RT's default lifecycle, which GET
// /ticket/N lists as "lifecycle" hyperlinks from the current status.
var lifecycleActions = map[string][]lifecycleAction{
	"new":      {{"open", "Open It", "Respond"}, {"resolved", "Resolve", "Comment"}, {"rejected", "Reject", "Respond"}, {"deleted", "Delete", ""}},
	"open":     {{"stalled", "Stall", "Comment"}, {"resolved", "Resolve", "Comment"}, {"rejected", "Reject", "Respond"}},
	"stalled":  {{"open", "Open It", ""}},
	"resolved": {{"open", "Re-open", "Comment"}},
	"rejected": {{"open", "Re-open", "Comment"}},
	"deleted":  {{"open", "Undelete", ""}},
}

// ticketJSON is the body of GET /ticket/N: note the numeric id there.
func (s *Server) ticketJSON(t *ticket) map[string]any {
	m := map[string]any{"id": t.id}
	for _, f := range fullTicketFields {
		v, _ := s.ticketField(t, f, nil)
		m[f] = v
	}
	b := s.base()
	hl := []any{map[string]any{"ref": "self", "type": "ticket", "id": t.id, "_url": b + "/ticket/" + strconv.Itoa(t.id)}}
	for _, typ := range []string{"MemberOf", "DependsOn", "RefersTo"} {
		for _, l := range s.linksOf(t.id, typ, false) {
			if l.target == 0 {
				hl = append(hl, map[string]any{"ref": refFromBase[typ], "type": "external", "_url": l.uri})
				continue
			}
			hl = append(hl, map[string]any{"ref": refFromBase[typ], "type": "ticket", "id": strconv.Itoa(l.target),
				"_url": b + "/ticket/" + strconv.Itoa(l.target)})
		}
		for _, l := range s.linksOf(t.id, typ, true) {
			hl = append(hl, map[string]any{"ref": refFromTarget[typ], "type": "ticket", "id": strconv.Itoa(l.base),
				"_url": b + "/ticket/" + strconv.Itoa(l.base)})
		}
	}
	for i, name := range s.cfs {
		hl = append(hl, map[string]any{"ref": "customfield", "type": "customfield", "id": strconv.Itoa(i + 1),
			"name": name, "_url": b + "/customfield/" + strconv.Itoa(i+1)})
	}
	self := b + "/ticket/" + strconv.Itoa(t.id)
	hl = append(hl,
		map[string]any{"ref": "history", "_url": self + "/history"},
		map[string]any{"ref": "correspond", "_url": self + "/correspond"},
		map[string]any{"ref": "comment", "_url": self + "/comment"})
	for _, a := range lifecycleActions[t.status] {
		if !s.validStatus(a.to) {
			continue
		}
		l := map[string]any{"ref": "lifecycle", "from": t.status, "to": a.to, "label": a.label, "_url": self}
		switch a.update {
		case "Respond":
			l["update"], l["_url"] = a.update, self+"/correspond"
		case "Comment":
			l["update"], l["_url"] = a.update, self+"/comment"
		}
		hl = append(hl, l)
	}
	m["_hyperlinks"] = hl
	return m
}

func (s *Server) txnField(x *txn, name string, sub []string) (any, bool) {
	switch name {
	case "Type":
		return x.typ, true
	case "Field":
		return x.field, true
	case "OldValue":
		return x.oldValue, true
	case "NewValue":
		return x.newValue, true
	case "Data":
		return x.data, true
	case "Created":
		return fmtTime(x.created), true
	case "Creator":
		return s.userObj(x.creator, sub), true
	case "TimeTaken":
		return "0", true
	case "ObjectType":
		return "RT::Ticket", true
	case "ObjectId":
		return strconv.Itoa(x.ticket), true
	case "Object":
		return s.objRef("ticket", strconv.Itoa(x.ticket)), true
	}
	return nil, false
}

func (s *Server) attField(a *attachment, name string) (any, bool) {
	switch name {
	case "Content":
		return a.content, true
	case "ContentType":
		return a.contentType, true
	case "Subject":
		return a.subject, true
	case "Filename":
		return "", true
	case "TransactionId":
		return s.objRef("transaction", strconv.Itoa(a.txn)), true
	case "Parent":
		return "0", true
	case "Created":
		return fmtTime(s.txns[a.txn].created), true
	}
	return nil, false
}

// sortedTicketIDs lists ticket ids ascending, for deterministic scans.
func (s *Server) sortedTicketIDs() []int {
	ids := make([]int, 0, len(s.tickets))
	for id := range s.tickets {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
