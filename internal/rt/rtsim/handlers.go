package rtsim

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func decodeObject(r *http.Request) (map[string]any, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func asString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func asStrings(v any) []string {
	var out []string
	for _, x := range linkValues(v) {
		if s := asString(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (s *Server) ticketByPath(idStr string) (*ticket, bool) {
	id, err := strconv.Atoi(idStr)
	if err != nil {
		return nil, false
	}
	t, ok := s.tickets[id]
	return t, ok
}

func (s *Server) createTicket(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r) {
		writeMsg(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	body, err := decodeObject(r)
	if err != nil {
		writeMsg(w, http.StatusBadRequest, "JSON parse error: "+err.Error())
		return
	}
	who := actor(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	qv := body["Queue"]
	if asString(qv) == "" {
		writeMsg(w, http.StatusBadRequest, "Could not create ticket. Queue not set")
		return
	}
	q := s.queueByRef(qv)
	if q == nil || q.disabled {
		writeMsg(w, http.StatusForbidden, fmt.Sprintf("No permission to create tickets in the queue '%s'", asString(qv)))
		return
	}
	status := s.opts.Statuses[0]
	if v := asString(body["Status"]); v != "" {
		if !s.validStatus(v) {
			writeMsg(w, http.StatusBadRequest, fmt.Sprintf("Could not create ticket. Status '%s' isn't a valid status for tickets in this queue.", v))
			return
		}
		status = v
	}
	now := s.now()
	t := &ticket{id: s.nextTkt, queue: q.id, subject: asString(body["Subject"]), status: status,
		owner: "Nobody", creator: who, updatedBy: who, created: now, cfs: map[string][]string{}}
	if o := asString(body["Owner"]); o != "" {
		t.owner = o
	}
	t.requestors = append(asStrings(body["Requestor"]), asStrings(body["Requestors"])...)
	if cf, ok := body["CustomFields"].(map[string]any); ok {
		for name, v := range cf {
			if s.cfIndex(name) >= 0 {
				t.cfs[s.cfs[s.cfIndex(name)]] = asStrings(v)
			}
		}
	}
	if status == "resolved" {
		t.resolved = now
	}
	if status != s.opts.Statuses[0] {
		t.started = now
	}
	s.nextTkt++
	s.tickets[t.id] = t
	x := s.addTxn(t, "Create", "", "", "", "", who)
	ct := asString(body["ContentType"])
	if ct == "" {
		ct = "text/plain"
	}
	s.addMessage(x, ct, asString(body["Content"]), t.subject)
	if len(t.requestors) > 0 {
		s.addTxn(t, "EmailRecord", "", "", "", fmt.Sprintf("<rt-5.0.3-%d-%d@%s>", t.id, x.id, s.opts.RTName), "RT_System")
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk, ok := linkKeys[k]
		if !ok {
			continue
		}
		for _, v := range linkValues(body[k]) {
			other, uri, ok := s.linkTarget(v)
			if !ok {
				continue // RT drops it with only a log line
			}
			if l, ok := makeLink(lk, t.id, other, uri); ok && !s.hasLink(l) {
				s.addLink(l, t.id, true, who)
			}
		}
	}
	w.Header().Set("Location", "/REST/2.0/ticket/"+strconv.Itoa(t.id))
	writeJSON(w, http.StatusCreated, s.objRef("ticket", strconv.Itoa(t.id)))
}

func (s *Server) cfIndex(name string) int {
	for i, c := range s.cfs {
		if strings.EqualFold(c, name) || strconv.Itoa(i+1) == name {
			return i
		}
	}
	return -1
}

func (s *Server) getTicket(w http.ResponseWriter, r *http.Request, idStr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ticketByPath(idStr)
	if !ok {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("ETag", fmt.Sprintf(`"%d"`, t.rev))
	writeJSON(w, http.StatusOK, s.ticketJSON(t))
}

func (s *Server) deleteTicket(w http.ResponseWriter, r *http.Request, idStr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ticketByPath(idStr)
	if !ok {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	s.setStatus(t, "deleted", actor(r), true)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) updateTicket(w http.ResponseWriter, r *http.Request, idStr string) {
	if !isJSON(r) {
		writeMsg(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	who := actor(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ticketByPath(idStr)
	if !ok {
		writeMsg(w, http.StatusNotFound, "Resource does not exist; use POST to create")
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != fmt.Sprintf(`"%d"`, t.rev) {
		writeMsg(w, http.StatusPreconditionFailed, "Precondition Failed")
		return
	}
	body, err := decodeObject(r)
	if err != nil {
		writeMsg(w, http.StatusBadRequest, "JSON parse error: "+err.Error())
		return
	}
	msgs := []string{}
	pre := fmt.Sprintf("Ticket %d: ", t.id)
	if v, ok := body["Subject"]; ok && asString(v) != t.subject {
		old := t.subject
		t.subject = asString(v)
		s.addTxn(t, "Set", "Subject", old, t.subject, "", who)
		msgs = append(msgs, pre+fmt.Sprintf("Subject changed from '%s' to '%s'", old, t.subject))
	}
	if v, ok := body["Owner"]; ok && asString(v) != t.owner {
		old := t.owner
		t.owner = asString(v)
		s.addTxn(t, "Set", "Owner", old, t.owner, "", who)
		msgs = append(msgs, pre+fmt.Sprintf("Owner changed from %s to %s", old, t.owner))
	}
	if v, ok := body["Status"]; ok {
		if m, _ := s.setStatus(t, asString(v), who, true); m != "" {
			msgs = append(msgs, m)
		}
	}
	if cf, ok := body["CustomFields"].(map[string]any); ok {
		msgs = append(msgs, s.setCFs(t, cf, who)...)
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msgs = append(msgs, s.updateLinks(t, k, body[k], who)...)
	}
	writeJSON(w, http.StatusOK, msgs)
}

func (s *Server) setCFs(t *ticket, cf map[string]any, who string) []string {
	var msgs []string
	names := make([]string, 0, len(cf))
	for k := range cf {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		i := s.cfIndex(k)
		if i < 0 {
			msgs = append(msgs, fmt.Sprintf("Custom field %s not found", k))
			continue
		}
		name := s.cfs[i]
		vals := asStrings(cf[k])
		old := t.cfs[name]
		if strings.Join(old, "\x00") == strings.Join(vals, "\x00") {
			continue
		}
		t.cfs[name] = vals
		oldV, newV := strings.Join(old, ", "), strings.Join(vals, ", ")
		s.addTxn(t, "CustomField", strconv.Itoa(i+1), oldV, newV, "", who)
		switch {
		case len(old) == 0:
			msgs = append(msgs, fmt.Sprintf("%s %s added", name, newV))
		case len(vals) == 0:
			msgs = append(msgs, fmt.Sprintf("%s %s is no longer a value for custom field %s", name, oldV, name))
		default:
			msgs = append(msgs, fmt.Sprintf("%s %s changed to %s", name, oldV, newV))
		}
	}
	return msgs
}

// updateLinks handles one PUT key: a bare link name sets the whole list,
// Add<name>/Delete<name> change single links.
func (s *Server) updateLinks(t *ticket, key string, v any, who string) []string {
	mode := "set"
	name := key
	if strings.HasPrefix(key, "Add") {
		mode, name = "add", key[3:]
	} else if strings.HasPrefix(key, "Delete") {
		mode, name = "delete", key[6:]
	}
	lk, ok := linkKeys[name]
	if !ok {
		return nil
	}
	var msgs []string
	var want []link
	for _, x := range linkValues(v) {
		other, uri, ok := s.linkTarget(x)
		if !ok {
			msgs = append(msgs, fmt.Sprintf("Couldn't resolve '%s' into a link.", asString(x)))
			continue
		}
		if other == t.id {
			msgs = append(msgs, "Link could not be created: Can't link a ticket to itself")
			continue
		}
		if l, ok := makeLink(lk, t.id, other, uri); ok {
			want = append(want, l)
		}
	}
	switch mode {
	case "add":
		for _, l := range want {
			if s.hasLink(l) {
				msgs = append(msgs, "Link already exists")
				continue
			}
			s.addLink(l, t.id, false, who)
			msgs = append(msgs, s.linkMsg(l, false))
		}
	case "delete":
		for _, l := range want {
			if !s.hasLink(l) {
				msgs = append(msgs, "Couldn't find that link")
				continue
			}
			s.deleteLink(l, who)
			msgs = append(msgs, s.linkMsg(l, true))
		}
	case "set":
		for _, l := range want {
			if !s.hasLink(l) {
				s.addLink(l, t.id, false, who)
				msgs = append(msgs, s.linkMsg(l, false))
			}
		}
		for _, l := range s.linksOf(t.id, lk.typ, lk.reverse) {
			keep := false
			for _, x := range want {
				keep = keep || x == l
			}
			if !keep {
				s.deleteLink(l, who)
				msgs = append(msgs, s.linkMsg(l, true))
			}
		}
	}
	return msgs
}

func (s *Server) message(w http.ResponseWriter, r *http.Request, idStr, kind string) {
	who := actor(r)
	var body map[string]any
	ct := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]))
	switch ct {
	case "application/json":
		m, err := decodeObject(r)
		if err != nil {
			// RT dies decoding a non-object JSON body and answers 500.
			writeMsg(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		if asString(m["ContentType"]) == "" {
			writeMsg(w, http.StatusBadRequest, "ContentType is a required field for application/json")
			return
		}
		body = m
	case "text/plain":
		b, _ := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		body = map[string]any{"Content": string(b), "ContentType": "text/plain"}
	default:
		writeMsg(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.ticketByPath(idStr)
	if !ok {
		// RT loads no ticket and fails to record the message.
		writeMsg(w, http.StatusBadRequest, "Message could not be recorded")
		return
	}
	typ, added := "Comment", "Comments added"
	if kind == "correspond" {
		typ, added = "Correspond", "Correspondence added"
	}
	subject := asString(body["Subject"])
	data := "No Subject"
	if subject != "" {
		data = subject + "\n"
	}
	x := s.addTxn(t, typ, "", "", "", data, who)
	cType := asString(body["ContentType"])
	if cType == "" {
		cType = "text/plain"
	}
	s.addMessage(x, cType, asString(body["Content"]), subject)
	msgs := []string{added}
	if st := asString(body["Status"]); st != "" {
		if m, _ := s.setStatus(t, st, who, false); m != "" {
			msgs = append(msgs, m)
		}
	} else if typ == "Correspond" && t.status == "new" {
		// RT's "open on correspond" scrip, run as RT_System, silently.
		s.setStatus(t, "open", "RT_System", false)
	}
	if cf, ok := body["CustomFields"].(map[string]any); ok {
		msgs = append(msgs, s.setCFs(t, cf, who)...)
	}
	w.Header().Set("Location", "/REST/2.0/transaction/"+strconv.Itoa(x.id))
	writeJSON(w, http.StatusCreated, msgs)
}

// params merges the query string with a form body, as RT's search accepts both.
func params(r *http.Request) url.Values {
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		return r.Form
	}
	return r.URL.Query()
}

func pageParams(p url.Values) (page, perPage int) {
	page, _ = strconv.Atoi(p.Get("page"))
	if page < 1 {
		page = 1
	}
	perPage, _ = strconv.Atoi(p.Get("per_page"))
	if perPage < 1 {
		perPage = 20
	}
	if perPage > 100 {
		perPage = 100
	}
	return page, perPage
}

// fieldsParams reads fields=A,B and fields[A]=x,y.
func fieldsParams(p url.Values) ([]string, map[string][]string) {
	var fields []string
	for _, f := range strings.Split(p.Get("fields"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			fields = append(fields, f)
		}
	}
	sub := map[string][]string{}
	for k, v := range p {
		if strings.HasPrefix(k, "fields[") && strings.HasSuffix(k, "]") && len(v) > 0 {
			sub[k[7:len(k)-1]] = strings.Split(v[0], ",")
		}
	}
	return fields, sub
}

// envelope pages items the way REST2 collections do. RT writes "pages" as
// 0.0 (a float) when nothing matched.
func (s *Server) envelope(r *http.Request, p url.Values, all []any) map[string]any {
	page, perPage := pageParams(p)
	total := len(all)
	pages := (total + perPage - 1) / perPage
	start := (page - 1) * perPage
	items := []any{}
	if start < total {
		end := min(start+perPage, total)
		items = all[start:end]
	}
	env := map[string]any{"total": total, "count": len(items), "page": page, "per_page": perPage, "items": items}
	if total == 0 {
		env["pages"] = json.RawMessage("0.0")
	} else {
		env["pages"] = pages
	}
	// RT counts a collection only for a user who may see all of it: to
	// anyone else (procbot's least-privilege user) it answers "total" and
	// "pages" null, and no "next_page".
	counted := actor(r) == "root"
	if !counted {
		env["total"], env["pages"] = nil, nil
	}
	link := func(n int) string {
		q := url.Values{}
		for k, v := range p {
			if k != "page" {
				q[k] = v
			}
		}
		enc := q.Encode()
		if enc != "" {
			enc += "&"
		}
		return s.base() + strings.TrimPrefix(r.URL.Path, "/REST/2.0") + "?" + enc + "page=" + strconv.Itoa(n)
	}
	if page < pages && counted {
		env["next_page"] = link(page + 1)
	}
	if page > 1 {
		env["prev_page"] = link(min(page-1, max(pages, 1)))
	}
	return env
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	p := params(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	q := p.Get("query")
	n, err := parseSQL(q, s.opts.TimeZone)
	if err != nil {
		writeMsg(w, http.StatusBadRequest, err.Error())
		return
	}
	withDeleted := namesStatus(n, "deleted")
	var hits []*ticket
	for _, id := range s.sortedTicketIDs() {
		t := s.tickets[id]
		if t.status == "deleted" && !withDeleted {
			continue
		}
		if s.evalSQL(n, t) {
			hits = append(hits, t)
		}
	}
	orderTickets(hits, p.Get("orderby"), p.Get("order"))
	fields, sub := fieldsParams(p)
	all := make([]any, 0, len(hits))
	for _, t := range hits {
		item := s.objRef("ticket", strconv.Itoa(t.id))
		for _, f := range fields {
			if v, ok := s.ticketField(t, f, sub[f]); ok {
				item[f] = v
			}
		}
		all = append(all, item)
	}
	writeJSON(w, http.StatusOK, s.envelope(r, p, all))
}

// orderTickets sorts as asked. Without orderby the database's order is
// arbitrary; the simulator groups by status and lists newest first, so a
// client that forgets orderby pages unstably here too.
func orderTickets(ts []*ticket, by, order string) {
	desc := strings.EqualFold(order, "DESC")
	less := func(a, b *ticket) int { return a.id - b.id }
	switch strings.ToLower(by) {
	case "":
		sort.SliceStable(ts, func(i, j int) bool {
			if ts[i].status != ts[j].status {
				return ts[i].status < ts[j].status
			}
			return ts[i].id > ts[j].id
		})
		return
	case "lastupdated":
		less = func(a, b *ticket) int { return a.lastUpdated.Compare(b.lastUpdated) }
	case "created":
		less = func(a, b *ticket) int { return a.created.Compare(b.created) }
	case "subject":
		less = func(a, b *ticket) int { return strings.Compare(a.subject, b.subject) }
	case "status":
		less = func(a, b *ticket) int { return strings.Compare(a.status, b.status) }
	}
	sort.SliceStable(ts, func(i, j int) bool {
		c := less(ts[i], ts[j])
		if desc {
			c = -c
		}
		if c == 0 {
			return ts[i].id < ts[j].id
		}
		return c < 0
	})
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, idStr string) {
	p := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	// RT answers the history of a ticket that does not exist with an empty
	// collection, not 404.
	id, _ := strconv.Atoi(idStr)
	var xs []*txn
	for _, x := range s.txns {
		if x.ticket == id {
			xs = append(xs, x)
		}
	}
	desc := strings.EqualFold(p.Get("order"), "DESC")
	sort.Slice(xs, func(i, j int) bool { return (xs[i].id < xs[j].id) != desc })
	fields, sub := fieldsParams(p)
	all := make([]any, 0, len(xs))
	for _, x := range xs {
		item := s.objRef("transaction", strconv.Itoa(x.id))
		for _, f := range fields {
			if v, ok := s.txnField(x, f, sub[f]); ok {
				item[f] = v
			}
		}
		all = append(all, item)
	}
	writeJSON(w, http.StatusOK, s.envelope(r, p, all))
}

func (s *Server) getTxn(w http.ResponseWriter, r *http.Request, idStr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.Atoi(idStr)
	x, ok := s.txns[id]
	if !ok {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	m := map[string]any{"id": x.id}
	for _, f := range []string{"Type", "Field", "OldValue", "NewValue", "Data", "Created", "Creator", "TimeTaken", "ObjectType", "ObjectId", "Object"} {
		m[f], _ = s.txnField(x, f, nil)
	}
	hl := []any{map[string]any{"ref": "self", "type": "transaction", "id": x.id, "_url": s.base() + "/transaction/" + idStr}}
	for _, a := range x.atts {
		hl = append(hl, map[string]any{"ref": "attachment", "_url": s.base() + "/attachment/" + strconv.Itoa(a)})
	}
	m["_hyperlinks"] = hl
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) txnAttachments(w http.ResponseWriter, r *http.Request, idStr string) {
	p := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.Atoi(idStr)
	x, ok := s.txns[id]
	if !ok {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	fields, _ := fieldsParams(p)
	all := []any{}
	for _, aid := range x.atts {
		a := s.atts[aid]
		item := s.objRef("attachment", strconv.Itoa(a.id))
		for _, f := range fields {
			if v, ok := s.attField(a, f); ok {
				item[f] = v
			}
		}
		all = append(all, item)
	}
	writeJSON(w, http.StatusOK, s.envelope(r, p, all))
}

func (s *Server) getAttachment(w http.ResponseWriter, r *http.Request, idStr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.Atoi(idStr)
	a, ok := s.atts[id]
	if !ok {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	m := map[string]any{"id": a.id, "ContentType": a.contentType, "Subject": a.subject, "Filename": "",
		"Content":       base64.StdEncoding.EncodeToString([]byte(a.content)),
		"TransactionId": s.objRef("transaction", strconv.Itoa(a.txn)),
		"_hyperlinks":   []any{map[string]any{"ref": "self", "type": "attachment", "id": a.id, "_url": s.base() + "/attachment/" + idStr}}}
	writeJSON(w, http.StatusOK, m)
}

func (s *Server) getQueue(w http.ResponseWriter, r *http.Request, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queueByRef(ref)
	if q == nil {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	cfs := []any{}
	for i, name := range s.cfs {
		cfs = append(cfs, map[string]any{"id": strconv.Itoa(i + 1), "name": name, "type": "customfield",
			"_url": s.base() + "/customfield/" + strconv.Itoa(i+1)})
	}
	disabled := "0"
	if q.disabled {
		disabled = "1"
	}
	self := s.base() + "/queue/" + strconv.Itoa(q.id)
	writeJSON(w, http.StatusOK, map[string]any{"id": q.id, "Name": q.name, "Description": q.desc,
		"Lifecycle": "default", "Disabled": disabled, "TicketCustomFields": cfs,
		"_hyperlinks": []any{
			map[string]any{"ref": "self", "type": "queue", "id": q.id, "_url": self},
			map[string]any{"ref": "history", "_url": self + "/history"},
			map[string]any{"ref": "create", "type": "ticket", "_url": s.base() + "/ticket?Queue=" + strconv.Itoa(q.id)}}})
}

func (s *Server) allQueues(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	all := []any{}
	for _, q := range s.queues {
		if !q.disabled {
			item := s.objRef("queue", strconv.Itoa(q.id))
			item["Name"] = q.name
			all = append(all, item)
		}
	}
	writeJSON(w, http.StatusOK, s.envelope(r, p, all))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	known := map[string]int{"RT_System": 1, "Nobody": 6}
	for _, u := range s.users {
		known[u.Name] = u.ID
	}
	id, ok := known[ref]
	if !ok {
		for name, uid := range known {
			if strconv.Itoa(uid) == ref {
				ref, id, ok = name, uid, true
			}
		}
	}
	if !ok {
		writeMsg(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "Name": ref, "EmailAddress": "",
		"_hyperlinks": []any{map[string]any{"ref": "self", "type": "user", "id": id, "_url": s.base() + "/user/" + ref}}})
}
