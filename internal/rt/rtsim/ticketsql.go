package rtsim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The TicketSQL subset procbot and its tests use. Errors read like RT's
// (RT::SQL dies with a Perl location appended).

const sqlDieAt = " at /usr/share/request-tracker5/lib/RT/SQL.pm line 107.\n"

type tokKind int

const (
	tkOpen tokKind = iota
	tkClose
	tkWord   // bare word: field, keyword, bare value
	tkString // quoted
	tkOp
)

type token struct {
	kind tokKind
	text string
}

func tokenize(q string) ([]token, error) {
	var out []token
	i := 0
	for i < len(q) {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			out = append(out, token{tkOpen, "("})
			i++
		case c == ')':
			out = append(out, token{tkClose, ")"})
			i++
		case c == '\'' || c == '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(q) {
				if q[j] == '\\' && j+1 < len(q) {
					b.WriteByte(q[j+1])
					j += 2
					continue
				}
				if q[j] == c {
					closed = true
					j++
					break
				}
				b.WriteByte(q[j])
				j++
			}
			if !closed {
				return nil, fmt.Errorf("Wrong query, expecting a VALUE in '%s'", q)
			}
			out = append(out, token{tkString, b.String()})
			i = j
		case strings.ContainsRune("=!<>", rune(c)):
			j := i + 1
			for j < len(q) && strings.ContainsRune("=<>", rune(q[j])) {
				j++
			}
			op := q[i:j]
			switch op {
			case "=", "!=", "<>", "<", ">", "<=", ">=":
			default:
				return nil, fmt.Errorf("Wrong query, expecting a OPERATOR in '%s'", q)
			}
			out = append(out, token{tkOp, op})
			i = j
		default:
			j := i
			for j < len(q) && !strings.ContainsRune(" \t\r\n()'\"=!<>", rune(q[j])) {
				if q[j] == '{' { // CF.{Name with spaces}
					k := strings.IndexByte(q[j:], '}')
					if k < 0 {
						return nil, fmt.Errorf("Wrong query, expecting a KEYWORD in '%s'", q)
					}
					j += k + 1
					continue
				}
				j++
			}
			out = append(out, token{tkWord, q[i:j]})
			i = j
		}
	}
	return out, nil
}

type sqlNode interface{}

type sqlBool struct {
	and         bool
	left, right sqlNode
}

type sqlCond struct {
	field string // canonical field name
	cf    string // custom field name when field == "CF"
	op    string // =, !=, <, >, <=, >=, LIKE, NOT LIKE
	value string
	date  time.Time // parsed value of date fields
	dayOp bool      // "=" on a date: the whole day
}

var sqlFields = map[string]string{}

func init() {
	for _, f := range []string{"id", "Subject", "Queue", "Status", "Owner", "Creator", "LastUpdatedBy",
		"Requestor", "Created", "LastUpdated", "Resolved", "Started", "Type",
		"MemberOf", "HasMember", "DependsOn", "DependedOnBy", "RefersTo", "ReferredToBy"} {
		sqlFields[strings.ToLower(f)] = f
	}
	sqlFields["requestors"] = "Requestor"
	sqlFields["requestor.emailaddress"] = "Requestor"
	sqlFields["effectiveid"] = "id"
}

var dateFields = map[string]bool{"Created": true, "LastUpdated": true, "Resolved": true, "Started": true}

var cfRe = regexp.MustCompile(`^(?i:CF|CustomField)\.(?:\{(.+)\}|(.+))$`)

type sqlParser struct {
	q    string
	toks []token
	pos  int
	tz   *time.Location
}

// parseSQL parses a TicketSQL query; tz is how date literals are read.
func parseSQL(q string, tz *time.Location) (sqlNode, error) {
	toks, err := tokenize(q)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, nil
	}
	p := &sqlParser{q: q, toks: toks, tz: tz}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, p.wrong("AGGREGATOR")
	}
	return n, nil
}

func (p *sqlParser) wrong(want string) error {
	if p.pos >= len(p.toks) {
		return p.incomplete()
	}
	return fmt.Errorf("Wrong query, expecting a %s in '%s'%s", want, p.q, sqlDieAt)
}

// incomplete names the kind of the last element, as RT does.
func (p *sqlParser) incomplete() error {
	last := "KEYWORD"
	if n := len(p.toks); n > 0 {
		t := p.toks[n-1]
		switch {
		case t.kind == tkOp || (t.kind == tkWord && isOpWord(t.text)):
			last = "OPERATOR"
		case t.kind == tkOpen:
			last = "OPEN_PAREN"
		case t.kind == tkWord && isAggregator(t.text):
			last = "AGGREGATOR"
		}
	}
	return fmt.Errorf("Incomplete query, last element (%s) is not close paren or value in '%s'%s", last, p.q, sqlDieAt)
}

func isAggregator(w string) bool { return strings.EqualFold(w, "AND") || strings.EqualFold(w, "OR") }
func isOpWord(w string) bool {
	return strings.EqualFold(w, "LIKE") || strings.EqualFold(w, "NOT") || strings.EqualFold(w, "IS")
}

func (p *sqlParser) peekAgg(name string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == tkWord && strings.EqualFold(p.toks[p.pos].text, name)
}

func (p *sqlParser) or() (sqlNode, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekAgg("OR") {
		p.pos++
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		left = sqlBool{and: false, left: left, right: right}
	}
	return left, nil
}

func (p *sqlParser) and() (sqlNode, error) {
	left, err := p.factor()
	if err != nil {
		return nil, err
	}
	for p.peekAgg("AND") {
		p.pos++
		right, err := p.factor()
		if err != nil {
			return nil, err
		}
		left = sqlBool{and: true, left: left, right: right}
	}
	return left, nil
}

func (p *sqlParser) factor() (sqlNode, error) {
	if p.pos >= len(p.toks) {
		return nil, p.incomplete()
	}
	if p.toks[p.pos].kind == tkOpen {
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.toks) {
			return nil, p.incomplete()
		}
		if p.toks[p.pos].kind != tkClose {
			return nil, p.wrong("AGGREGATOR or CLOSE_PAREN")
		}
		p.pos++
		return n, nil
	}
	return p.cond()
}

func (p *sqlParser) cond() (sqlNode, error) {
	ft := p.toks[p.pos]
	if ft.kind != tkWord && ft.kind != tkString || (ft.kind == tkWord && isAggregator(ft.text)) {
		return nil, p.wrong("KEYWORD or OPEN_PAREN")
	}
	p.pos++
	c := sqlCond{}
	if m := cfRe.FindStringSubmatch(ft.text); m != nil {
		c.field, c.cf = "CF", m[1]+m[2]
	} else if f, ok := sqlFields[strings.ToLower(ft.text)]; ok {
		c.field = f
	} else {
		return nil, fmt.Errorf("Unknown field '%s' in '%s'%s", ft.text, p.q, sqlDieAt)
	}
	if p.pos >= len(p.toks) {
		return nil, fmt.Errorf("Incomplete query, last element (KEYWORD) is not close paren or value in '%s'%s", p.q, sqlDieAt)
	}
	ot := p.toks[p.pos]
	switch {
	case ot.kind == tkOp:
		c.op = ot.text
		if c.op == "<>" {
			c.op = "!="
		}
		p.pos++
	case ot.kind == tkWord && strings.EqualFold(ot.text, "LIKE"):
		c.op = "LIKE"
		p.pos++
	case ot.kind == tkWord && strings.EqualFold(ot.text, "NOT"):
		p.pos++
		if !p.peekAgg("LIKE") {
			return nil, p.wrong("OPERATOR")
		}
		p.pos++
		c.op = "NOT LIKE"
	default:
		return nil, p.wrong("OPERATOR")
	}
	if p.pos >= len(p.toks) {
		return nil, p.incomplete()
	}
	vt := p.toks[p.pos]
	if vt.kind != tkString && vt.kind != tkWord {
		return nil, p.wrong("VALUE")
	}
	p.pos++
	c.value = vt.text
	if dateFields[c.field] {
		d, err := parseSQLDate(c.value, p.tz)
		if err != nil {
			return nil, err
		}
		c.date = d
		c.dayOp = c.op == "="
	}
	return c, nil
}

var (
	reDateTime = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$`)
	reDate     = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})$`)
	// RT 5.0.3 does not understand the ISO "T" form: it keeps the date and
	// loses the time of day, so a poll cursor sent that way re-reads a day.
	reISO = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$`)
)

func parseSQLDate(v string, tz *time.Location) (time.Time, error) {
	v = strings.TrimSpace(v)
	if m := reDateTime.FindStringSubmatch(v); m != nil {
		return time.ParseInLocation("2006-01-02 15:04:05", v, tz)
	}
	if m := reDate.FindStringSubmatch(v); m != nil {
		return time.ParseInLocation("2006-01-02", m[1], tz)
	}
	if m := reISO.FindStringSubmatch(v); m != nil {
		return time.ParseInLocation("2006-01-02", m[1], tz)
	}
	return time.Time{}, fmt.Errorf("Couldn't parse date '%s'", v)
}

// namesStatus reports whether the query names the given status, which is
// what makes RT include deleted tickets.
func namesStatus(n sqlNode, status string) bool {
	switch x := n.(type) {
	case sqlBool:
		return namesStatus(x.left, status) || namesStatus(x.right, status)
	case sqlCond:
		return x.field == "Status" && strings.EqualFold(x.value, status)
	}
	return false
}

func (s *Server) evalSQL(n sqlNode, t *ticket) bool {
	switch x := n.(type) {
	case nil:
		return true
	case sqlBool:
		if x.and {
			return s.evalSQL(x.left, t) && s.evalSQL(x.right, t)
		}
		return s.evalSQL(x.left, t) || s.evalSQL(x.right, t)
	case sqlCond:
		return s.evalCond(x, t)
	}
	return false
}

func likeMatch(have, pattern string) bool {
	have, pattern = strings.ToLower(have), strings.ToLower(pattern)
	if !strings.Contains(pattern, "%") {
		return strings.Contains(have, pattern)
	}
	parts := strings.Split(pattern, "%")
	re := "^"
	for i, p := range parts {
		if i > 0 {
			re += ".*"
		}
		re += regexp.QuoteMeta(p)
	}
	ok, _ := regexp.MatchString(re+"$", have)
	return ok
}

// strOp compares strings case-insensitively, as RT does by default.
func strOp(op, have, want string) bool {
	switch op {
	case "=":
		return strings.EqualFold(have, want)
	case "!=":
		return !strings.EqualFold(have, want)
	case "LIKE":
		return likeMatch(have, want)
	case "NOT LIKE":
		return !likeMatch(have, want)
	case "<":
		return strings.ToLower(have) < strings.ToLower(want)
	case ">":
		return strings.ToLower(have) > strings.ToLower(want)
	case "<=":
		return strings.ToLower(have) <= strings.ToLower(want)
	case ">=":
		return strings.ToLower(have) >= strings.ToLower(want)
	}
	return false
}

func intOp(op string, have, want int) bool {
	switch op {
	case "=":
		return have == want
	case "!=":
		return have != want
	case "<":
		return have < want
	case ">":
		return have > want
	case "<=":
		return have <= want
	case ">=":
		return have >= want
	}
	return false
}

// anyOp applies op to a multi-valued field: negative operators hold when no
// value matches.
func anyOp(op string, have []string, want string) bool {
	neg := op == "!=" || op == "NOT LIKE"
	pos := op
	if neg {
		pos = map[string]string{"!=": "=", "NOT LIKE": "LIKE"}[op]
	}
	for _, h := range have {
		if strOp(pos, h, want) {
			return !neg
		}
	}
	return neg
}

func (s *Server) evalCond(c sqlCond, t *ticket) bool {
	switch c.field {
	case "id":
		n, err := strconv.Atoi(c.value)
		return err == nil && intOp(c.op, t.id, n)
	case "Subject":
		return strOp(c.op, t.subject, c.value)
	case "Type":
		return strOp(c.op, "ticket", c.value)
	case "Queue":
		q := s.queueByID(t.queue)
		if n, err := strconv.Atoi(c.value); err == nil && (c.op == "=" || c.op == "!=") {
			return (q.id == n) == (c.op == "=")
		}
		return strOp(c.op, q.name, c.value)
	case "Status":
		v := strings.ToLower(c.value)
		if v == "__active__" || v == "__inactive__" {
			in := isActive(t.status) == (v == "__active__")
			if c.op == "!=" {
				return !in
			}
			return in
		}
		return strOp(c.op, t.status, c.value)
	case "Owner":
		return strOp(c.op, t.owner, c.value)
	case "Creator":
		return strOp(c.op, t.creator, c.value)
	case "LastUpdatedBy":
		return strOp(c.op, t.updatedBy, c.value)
	case "Requestor":
		return anyOp(c.op, t.requestors, c.value)
	case "CF":
		return anyOp(c.op, t.cfs[c.cf], c.value)
	case "Created", "LastUpdated", "Resolved", "Started":
		var have time.Time
		switch c.field {
		case "Created":
			have = t.created
		case "LastUpdated":
			have = t.lastUpdated
		case "Resolved":
			have = t.resolved
		case "Started":
			have = t.started
		}
		if c.dayOp {
			y1, m1, d1 := have.In(s.opts.TimeZone).Date()
			y2, m2, d2 := c.date.In(s.opts.TimeZone).Date()
			return y1 == y2 && m1 == m2 && d1 == d2
		}
		// Whole seconds: RT stores no fractions.
		return intOp(c.op, int(have.Unix()), int(c.date.Unix()))
	case "MemberOf", "HasMember", "DependsOn", "DependedOnBy", "RefersTo", "ReferredToBy":
		typ, reverse := c.field, false
		for base, rev := range reverseName {
			if rev == c.field {
				typ, reverse = base, true
			}
		}
		var others []string
		for _, l := range s.linksOf(t.id, typ, reverse) {
			switch {
			case reverse:
				others = append(others, strconv.Itoa(l.base))
			case l.target == 0:
				others = append(others, l.uri)
			default:
				others = append(others, strconv.Itoa(l.target))
			}
		}
		want := strings.TrimPrefix(c.value, fmt.Sprintf("fsck.com-rt://%s/ticket/", s.opts.RTName))
		if c.op == "=" || c.op == "!=" {
			return anyOp(c.op, others, want)
		}
		return anyOp(c.op, others, c.value)
	}
	return false
}
