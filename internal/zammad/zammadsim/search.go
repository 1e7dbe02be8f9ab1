package zammadsim

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

func (s *Server) searchTickets(c *call) (int, any, error) {
	p := c.p
	query := strings.ReplaceAll(strings.TrimSpace(p.str("query")), "*", "")
	now := s.clock()

	match := func(*ticket) bool { return true }
	indexed := false
	if query != "" {
		indexed = true
		q, err := parseQuery(query)
		if err != nil {
			// The search index rejects the query; Zammad logs it and answers
			// as if nothing matched.
			match = func(*ticket) bool { return false }
		} else {
			match = func(t *ticket) bool { return q.eval(s, t, now) }
		}
	}
	var cond condNode
	if p.has("condition") {
		var err error
		if cond, err = parseCondition(p["condition"]); err != nil {
			return 0, nil, err
		}
	}

	var hits []*ticket
	for _, id := range s.db.ticketIDs {
		t := s.db.tickets[id]
		if !c.u.canRead(t) {
			continue
		}
		if indexed && s.searchLag > 0 && now.Sub(t.updatedAt) < s.searchLag {
			continue
		}
		if cond != nil {
			ok, err := cond.eval(s, t)
			if err != nil {
				return 0, nil, err
			}
			if !ok {
				continue
			}
		}
		if match(t) {
			hits = append(hits, t)
		}
	}
	sortTickets(hits, p["sort_by"], p["order_by"])

	total := len(hits)
	if p.flag("only_total_count") {
		return http.StatusOK, map[string]any{"total_count": total}, nil
	}
	page, per := p.page(50, 200)
	hits = paginate(hits, page, per)
	expand := p.flag("expand")

	if p.flag("full") || (s.legacyEnvelope && !expand) {
		ids := make([]int, len(hits))
		assets := map[string]any{}
		for i, t := range hits {
			ids[i] = t.id
			s.addTicketAssets(assets, t)
		}
		if p.flag("full") {
			return http.StatusOK, map[string]any{"record_ids": ids, "assets": assets, "total_count": total}, nil
		}
		return http.StatusOK, map[string]any{"tickets": ids, "tickets_count": len(ids), "assets": assets}, nil
	}
	records := make([]map[string]any, len(hits))
	for i, t := range hits {
		records[i] = s.ticketJSON(t, expand)
	}
	if p.flag("with_total_count") {
		return http.StatusOK, map[string]any{"records": records, "total_count": total}, nil
	}
	return http.StatusOK, records, nil
}

// addTicketAssets adds the ticket and the records it refers to, as Zammad's
// asset bundles do.
func (s *Server) addTicketAssets(assets map[string]any, t *ticket) {
	bucket := func(name string) map[string]any {
		m, ok := assets[name].(map[string]any)
		if !ok {
			m = map[string]any{}
			assets[name] = m
		}
		return m
	}
	bucket("Ticket")[itoa(t.id)] = s.ticketJSON(t, false)
	g := s.db.group(t.groupID)
	bucket("Group")[itoa(g.id)] = map[string]any{"id": g.id, "name": g.name, "active": true}
	st := s.db.state(t.stateID)
	bucket("TicketState")[itoa(st.id)] = map[string]any{"id": st.id, "name": st.name, "state_type_id": st.typeID, "active": st.active}
	for _, id := range []int{t.ownerID, t.customerID, t.createdBy, t.updatedBy} {
		if u := s.db.user(id); u != nil {
			bucket("User")[itoa(u.id)] = map[string]any{"id": u.id, "login": u.login, "email": u.email, "firstname": u.firstname, "lastname": u.lastname}
		}
	}
}

func asList(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = scalarString(e)
		}
		return out
	default:
		var out []string
		for _, f := range strings.Split(scalarString(x), ",") {
			out = append(out, strings.TrimSpace(f))
		}
		return out
	}
}

// sortTickets orders by sort_by/order_by (default updated_at desc), then by
// id so that pages are stable.
func sortTickets(ts []*ticket, sortBy, orderBy any) {
	fields, orders := asList(sortBy), asList(orderBy)
	if len(fields) == 0 {
		fields = []string{"updated_at"}
	}
	sort.SliceStable(ts, func(i, j int) bool {
		for k, f := range fields {
			desc := true
			if k < len(orders) {
				desc = !strings.EqualFold(orders[k], "asc")
			} else if len(orders) > 0 {
				desc = !strings.EqualFold(orders[len(orders)-1], "asc")
			}
			c := compareField(ts[i], ts[j], f)
			if c == 0 {
				continue
			}
			if desc {
				return c > 0
			}
			return c < 0
		}
		return ts[i].id < ts[j].id
	})
}

func compareField(a, b *ticket, f string) int {
	cmpInt := func(x, y int) int { return x - y }
	cmpTime := func(x, y *time.Time) int {
		switch {
		case x == nil && y == nil:
			return 0
		case x == nil:
			return -1
		case y == nil:
			return 1
		}
		return x.Compare(*y)
	}
	switch f {
	case "id":
		return cmpInt(a.id, b.id)
	case "number":
		na, _ := strconv.Atoi(a.number)
		nb, _ := strconv.Atoi(b.number)
		return cmpInt(na, nb)
	case "title":
		return strings.Compare(strings.ToLower(a.title), strings.ToLower(b.title))
	case "created_at":
		return a.createdAt.Compare(b.createdAt)
	case "updated_at":
		return a.updatedAt.Compare(b.updatedAt)
	case "close_at":
		return cmpTime(a.closeAt, b.closeAt)
	case "state_id":
		return cmpInt(a.stateID, b.stateID)
	case "group_id":
		return cmpInt(a.groupID, b.groupID)
	case "priority_id":
		return cmpInt(a.priorityID, b.priorityID)
	}
	return 0
}

// ---- query language (the search-index path) ----

// qnode is a parsed query.
type qnode interface {
	eval(s *Server, t *ticket, now time.Time) bool
}

type qAnd struct{ l, r qnode }
type qOr struct{ l, r qnode }
type qNot struct{ x qnode }

// qTerm is field:value, field:>value, or a bare word/phrase (field "").
// Text fields match as a search index does, by words, not substrings: a
// word matches a word, a phrase its words in a row. prefix is the last
// bare word of a query without a field: Zammad makes it a prefix search.
type qTerm struct {
	field, op, value string
	prefix           bool
}

func (n qAnd) eval(s *Server, t *ticket, now time.Time) bool {
	return n.l.eval(s, t, now) && n.r.eval(s, t, now)
}
func (n qOr) eval(s *Server, t *ticket, now time.Time) bool {
	return n.l.eval(s, t, now) || n.r.eval(s, t, now)
}
func (n qNot) eval(s *Server, t *ticket, now time.Time) bool { return !n.x.eval(s, t, now) }

// words splits text as a search index's standard analyser does: lower
// case, at every character that is neither a letter nor a digit.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// matchWords reports whether the term's words appear in text in a row;
// for a prefix term, whether a word of text starts with it, as typed (a
// wildcard term is not analysed, so "zammad!" is no prefix of "zammad").
func (n qTerm) matchWords(text string) bool {
	have := words(text)
	if n.prefix {
		want := strings.ToLower(n.value)
		for _, w := range have {
			if strings.HasPrefix(w, want) {
				return true
			}
		}
		return false
	}
	want := words(n.value)
	if len(want) == 0 {
		return false
	}
	for i := 0; i+len(want) <= len(have); i++ {
		if slices.Equal(have[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func (n qTerm) eval(s *Server, t *ticket, now time.Time) bool {
	db := s.db
	text := func(v string) bool { return n.op == "" && n.matchWords(v) }
	exact := func(v string) bool { return n.op == "" && strings.EqualFold(v, n.value) }
	switch n.field {
	case "":
		if text(t.title) || text(t.number) {
			return true
		}
		for _, id := range t.articleIDs {
			a := db.articles[id]
			if text(a.body) || text(a.subject) || text(a.from) {
				return true
			}
		}
		return false
	case "title":
		return text(t.title)
	case "number":
		return exact(t.number)
	case "id":
		v, err := strconv.Atoi(n.value)
		return err == nil && compareOp(n.op, t.id-v)
	case "state.name", "state":
		return exact(db.state(t.stateID).name)
	case "group.name", "group":
		return exact(db.group(t.groupID).name)
	case "priority.name":
		return exact(db.priority(t.priorityID).name)
	case "owner.login":
		return exact(db.userName(t.ownerID))
	case "customer.login", "customer.email":
		return exact(db.userName(t.customerID))
	case "tags":
		for _, tag := range t.tags {
			if exact(tag) {
				return true
			}
		}
		return false
	case "article.body", "article.subject":
		for _, id := range t.articleIDs {
			a := db.articles[id]
			if (n.field == "article.body" && text(a.body)) || (n.field == "article.subject" && text(a.subject)) {
				return true
			}
		}
		return false
	case "created_at", "updated_at", "close_at":
		var v *time.Time
		switch n.field {
		case "created_at":
			v = &t.createdAt
		case "updated_at":
			v = &t.updatedAt
		default:
			v = t.closeAt
		}
		if v == nil {
			return false
		}
		ref, dateOnly, ok := queryTime(n.value, now)
		if !ok {
			return false
		}
		if n.op == "" {
			if dateOnly {
				return v.Format("2006-01-02") == ref.Format("2006-01-02")
			}
			return v.Equal(ref)
		}
		return compareOp(n.op, v.Compare(ref))
	}
	if val, ok := t.extra[n.field]; ok {
		if list, ok := val.([]any); ok {
			for _, e := range list {
				if exact(scalarString(e)) {
					return true
				}
			}
			return false
		}
		return exact(scalarString(val))
	}
	return false
}

func compareOp(op string, c int) bool {
	switch op {
	case "":
		return c == 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

// queryTime reads "now", "now-15m|h|d" and ISO dates or times.
func queryTime(v string, now time.Time) (time.Time, bool, bool) {
	if rest, ok := strings.CutPrefix(v, "now"); ok {
		if rest == "" {
			return now, false, true
		}
		if len(rest) < 3 || (rest[0] != '-' && rest[0] != '+') {
			return time.Time{}, false, false
		}
		n, err := strconv.Atoi(rest[1 : len(rest)-1])
		if err != nil {
			return time.Time{}, false, false
		}
		var unit time.Duration
		switch rest[len(rest)-1] {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		default:
			return time.Time{}, false, false
		}
		d := time.Duration(n) * unit
		if rest[0] == '-' {
			d = -d
		}
		return now.Add(d), false, true
	}
	t, ok := parseTime(v)
	return t, ok && len(v) == len("2006-01-02"), ok
}

type qtokKind int

const (
	tkLParen qtokKind = iota
	tkRParen
	tkAnd
	tkOr
	tkNot
	tkTerm
)

type qtok struct {
	kind qtokKind
	term qTerm
}

var errQuery = errors.New("query not understood")

// lexQuery splits a query; `field:(a OR b)` becomes `( field:a OR field:b )`.
func lexQuery(q string) ([]qtok, error) {
	var toks []qtok
	rs := []rune(q)
	i := 0
	groupField, groupDepth := "", 0
	readPhrase := func() (string, error) {
		var b strings.Builder
		i++ // opening quote
		for i < len(rs) {
			switch rs[i] {
			case '\\':
				if i+1 < len(rs) {
					b.WriteRune(rs[i+1])
				}
				i += 2
				continue
			case '"':
				i++
				return b.String(), nil
			}
			b.WriteRune(rs[i])
			i++
		}
		return "", errQuery
	}
	for i < len(rs) {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			if groupField != "" {
				groupDepth++
			}
			toks = append(toks, qtok{kind: tkLParen})
			i++
		case r == ')':
			if groupField != "" {
				groupDepth--
				if groupDepth == 0 {
					groupField = ""
				}
			}
			toks = append(toks, qtok{kind: tkRParen})
			i++
		case r == '!':
			toks = append(toks, qtok{kind: tkNot})
			i++
		case r == '"':
			v, err := readPhrase()
			if err != nil {
				return nil, err
			}
			toks = append(toks, qtok{kind: tkTerm, term: qTerm{field: groupField, value: v}})
		case r == '[' || r == ']' || r == '{' || r == '}':
			return nil, errQuery // ranges are not supported by the simulator
		default:
			var b strings.Builder
			colon := -1
			escaped := false
			for i < len(rs) && !unicode.IsSpace(rs[i]) && !strings.ContainsRune(`()"`, rs[i]) {
				if rs[i] == '\\' && i+1 < len(rs) {
					b.WriteRune(rs[i+1])
					i += 2
					escaped = true
					continue
				}
				if rs[i] == ':' {
					if colon >= 0 {
						return nil, errQuery // an unescaped second ':' (e.g. in a time) breaks the query
					}
					colon = b.Len()
				}
				b.WriteRune(rs[i])
				i++
			}
			word := b.String()
			if !escaped && colon < 0 {
				switch word {
				case "AND", "&&":
					toks = append(toks, qtok{kind: tkAnd})
					continue
				case "OR", "||":
					toks = append(toks, qtok{kind: tkOr})
					continue
				case "NOT":
					toks = append(toks, qtok{kind: tkNot})
					continue
				}
			}
			if colon < 0 {
				toks = append(toks, qtok{kind: tkTerm, term: qTerm{field: groupField, value: word}})
				continue
			}
			field, value := word[:colon], word[colon+1:]
			if groupField != "" || field == "" {
				return nil, errQuery
			}
			op := ""
			for _, o := range []string{">=", "<=", ">", "<"} {
				if v, ok := strings.CutPrefix(value, o); ok {
					op, value = o, v
					break
				}
			}
			if value == "" && i < len(rs) {
				switch rs[i] {
				case '"':
					v, err := readPhrase()
					if err != nil {
						return nil, err
					}
					value = v
				case '(':
					if op != "" {
						return nil, errQuery
					}
					groupField = field
					continue
				}
			}
			if value == "" {
				return nil, errQuery
			}
			toks = append(toks, qtok{kind: tkTerm, term: qTerm{field: field, op: op, value: value}})
		}
	}
	if groupDepth != 0 {
		return nil, errQuery
	}
	return toks, nil
}

type qparser struct {
	toks []qtok
	pos  int
}

func parseQuery(q string) (qnode, error) {
	toks, err := lexQuery(q)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(q, ":") {
		// Zammad appends "*" to a query without a field.
		for i := len(toks) - 1; i >= 0; i-- {
			if toks[i].kind == tkTerm {
				toks[i].term.prefix = true
				break
			}
		}
	}
	p := &qparser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, errQuery
	}
	return n, nil
}

func (p *qparser) peek() (qtok, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return qtok{}, false
}

func (p *qparser) or() (qnode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != tkOr {
			return l, nil
		}
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = qOr{l, r}
	}
}

// and also joins adjacent terms: the search runs with default_operator AND.
func (p *qparser) and() (qnode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind == tkOr || t.kind == tkRParen {
			return l, nil
		}
		if t.kind == tkAnd {
			p.pos++
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = qAnd{l, r}
	}
}

func (p *qparser) unary() (qnode, error) {
	t, ok := p.peek()
	if !ok {
		return nil, errQuery
	}
	switch t.kind {
	case tkNot:
		p.pos++
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return qNot{x}, nil
	case tkLParen:
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if t, ok := p.peek(); !ok || t.kind != tkRParen {
			return nil, errQuery
		}
		p.pos++
		return n, nil
	case tkTerm:
		p.pos++
		return t.term, nil
	}
	return nil, errQuery
}

// ---- condition search (the database path) ----

type condNode interface {
	eval(s *Server, t *ticket) (bool, error)
}

type condGroup struct {
	op       string // AND, OR, NOT
	children []condNode
}

// condLeaf is one test, prepared when the condition is read: a search
// evaluates it for every ticket.
type condLeaf struct {
	name, op string
	value    any
	attr     condAttr
	values   []string  // is, is not
	needle   string    // contains, contains not: lower-cased
	ref      time.Time // the absolute operators
	badTime  bool      // the value is not a time
}

func (g condGroup) eval(s *Server, t *ticket) (bool, error) {
	switch g.op {
	case "OR":
		for _, c := range g.children {
			if ok, err := c.eval(s, t); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "NOT":
		for _, c := range g.children {
			if ok, err := c.eval(s, t); err != nil || ok {
				return false, err
			}
		}
		return true, nil
	default:
		for _, c := range g.children {
			if ok, err := c.eval(s, t); err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
}

// cheapFirst puts an AND group's time comparisons first: they cost a
// comparison where a text test folds the case of the whole text, and the
// answer is the same in any order.
func (g condGroup) cheapFirst() condGroup {
	if g.op == "AND" {
		sort.SliceStable(g.children, func(i, j int) bool { return timeLeaf(g.children[i]) && !timeLeaf(g.children[j]) })
	}
	return g
}

func timeLeaf(n condNode) bool {
	l, ok := n.(condLeaf)
	return ok && l.attr.time != nil && (l.op == "after (absolute)" || l.op == "before (absolute)") && !l.badTime
}

// parseCondition reads the flat form {"ticket.title": {"operator", "value"}}
// and the nested form {"operator": "AND", "conditions": [...]}.
func parseCondition(v any) (condNode, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, unprocessable("Invalid condition")
	}
	if list, ok := m["conditions"]; ok {
		items, ok := list.([]any)
		if !ok {
			return nil, unprocessable("Invalid condition")
		}
		g := condGroup{op: strings.ToUpper(scalarString(m["operator"]))}
		if g.op == "" {
			g.op = "AND"
		}
		if g.op != "AND" && g.op != "OR" && g.op != "NOT" {
			return nil, unprocessable("Invalid condition operator '%s'", g.op)
		}
		for _, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				return nil, unprocessable("Invalid condition")
			}
			if _, nested := im["conditions"]; nested {
				child, err := parseCondition(im)
				if err != nil {
					return nil, err
				}
				g.children = append(g.children, child)
				continue
			}
			leaf, err := newLeaf(scalarString(im["name"]), im)
			if err != nil {
				return nil, err
			}
			g.children = append(g.children, leaf)
		}
		return g.cheapFirst(), nil
	}
	g := condGroup{op: "AND"}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		spec, ok := m[name].(map[string]any)
		if !ok {
			return nil, unprocessable("Invalid condition for '%s'", name)
		}
		leaf, err := newLeaf(name, spec)
		if err != nil {
			return nil, err
		}
		g.children = append(g.children, leaf)
	}
	return g.cheapFirst(), nil
}

var condOperators = map[string]bool{
	"is": true, "is not": true, "contains": true, "contains not": true,
	"after (absolute)": true, "before (absolute)": true,
}

func newLeaf(name string, spec map[string]any) (condNode, error) {
	op := scalarString(spec["operator"])
	if !condOperators[op] {
		return nil, unprocessable("Invalid operator '%s' for '%s'", op, name)
	}
	attr, ok := condAttrs[name]
	if !ok {
		return nil, unprocessable("Unknown attribute '%s' in condition", name)
	}
	l := condLeaf{name: name, op: op, value: spec["value"], attr: attr}
	if _, isList := l.value.([]any); isList {
		l.values = asList(l.value)
	} else {
		l.values = []string{scalarString(l.value)}
	}
	l.needle = strings.ToLower(scalarString(l.value))
	l.ref, ok = parseTime(scalarString(l.value))
	l.badTime = !ok
	return l, nil
}

// condAttr reads one attribute a condition may test: as a string, and
// for a time attribute as a time too, which the absolute operators compare.
type condAttr struct {
	str  func(db *store, t *ticket) string
	time func(t *ticket) *time.Time
}

func timeAttr(f func(t *ticket) *time.Time) condAttr {
	return condAttr{
		str: func(_ *store, t *ticket) string {
			if v := f(t); v != nil {
				return ts(*v).(string)
			}
			return ""
		},
		time: f,
	}
}

func strAttr(f func(db *store, t *ticket) string) condAttr { return condAttr{str: f} }

// condAttrs are the attributes a condition may test.
var condAttrs = map[string]condAttr{
	"ticket.id":          strAttr(func(_ *store, t *ticket) string { return itoa(t.id) }),
	"ticket.number":      strAttr(func(_ *store, t *ticket) string { return t.number }),
	"ticket.title":       strAttr(func(_ *store, t *ticket) string { return t.title }),
	"ticket.group_id":    strAttr(func(_ *store, t *ticket) string { return itoa(t.groupID) }),
	"ticket.state_id":    strAttr(func(_ *store, t *ticket) string { return itoa(t.stateID) }),
	"ticket.priority_id": strAttr(func(_ *store, t *ticket) string { return itoa(t.priorityID) }),
	"ticket.owner_id":    strAttr(func(_ *store, t *ticket) string { return itoa(t.ownerID) }),
	"ticket.customer_id": strAttr(func(_ *store, t *ticket) string { return itoa(t.customerID) }),
	"ticket.created_at":  timeAttr(func(t *ticket) *time.Time { return &t.createdAt }),
	"ticket.updated_at":  timeAttr(func(t *ticket) *time.Time { return &t.updatedAt }),
	"ticket.close_at":    timeAttr(func(t *ticket) *time.Time { return t.closeAt }),
	"customer.email":     strAttr(func(db *store, t *ticket) string { return db.user(t.customerID).email }),
	"customer.login":     strAttr(func(db *store, t *ticket) string { return db.user(t.customerID).login }),
	"owner.login":        strAttr(func(db *store, t *ticket) string { return db.user(t.ownerID).login }),
}

func (l condLeaf) eval(s *Server, t *ticket) (bool, error) {
	switch l.op {
	case "is", "is not":
		got := l.attr.str(s.db, t)
		in := false
		for _, v := range l.values {
			in = in || strings.EqualFold(v, got)
		}
		return in == (l.op == "is"), nil
	case "contains", "contains not":
		return strings.Contains(strings.ToLower(l.attr.str(s.db, t)), l.needle) == (l.op == "contains"), nil
	default:
		if l.attr.time == nil {
			if strings.HasSuffix(l.name, "_at") {
				return false, nil
			}
			return false, unprocessable("Operator '%s' needs a time attribute, not '%s'", l.op, l.name)
		}
		tm := l.attr.time(t)
		if tm == nil {
			return false, nil
		}
		if l.badTime {
			return false, unprocessable("Invalid time %s for '%s'", fmt.Sprintf("%q", scalarString(l.value)), l.name)
		}
		if l.op == "after (absolute)" {
			return !tm.Before(l.ref), nil
		}
		return !tm.After(l.ref), nil
	}
}
