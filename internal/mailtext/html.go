// Package mailtext reads the text of ticket articles the way mail clients
// write them. FromHTML renders an HTML body as plain text and keeps what the
// author quoted marked as quoted, with "> " in front of each line, as a mail
// client's own plain-text part would. Split then tells, in plain text, the
// author's own words from a forwarded message and from quoted material:
// procbot reads commands only from the author's own words.
//
// Both are linear in the size of their input and hold at most a fixed number
// of open elements, whatever the nesting.
package mailtext

import (
	"html"
	"strings"

	xhtml "golang.org/x/net/html"
)

const (
	// maxOpen bounds the elements FromHTML keeps open. Deeper markup is
	// not followed: everything from there on counts as quoted, so that
	// nesting can never turn quoted text into the author's own.
	maxOpen = 512
	// maxLevels bounds the "> " marks written in front of one line.
	maxLevels = 8
	// maxHeaderLines is how far into a quote container FromHTML looks
	// for its header line.
	maxHeaderLines = 16
	// maxTagLen is how far FromTaggedText looks for the end of a tag.
	maxTagLen = 2000
)

// FromHTML renders an HTML article body as plain text: block elements and
// <br> break lines, entities are decoded, white space is collapsed (except
// in <pre>), scripts, styles and comments are dropped.
//
// Quoted material comes out as lines starting with "> ": <blockquote> (one
// "> " per level), the quote containers of Gmail (div.gmail_quote), Yahoo
// and Proton, Thunderbird's "On … wrote:" line (div.moz-cite-prefix), and
// for Outlook everything from its reply header on (div#divRplyFwdMsg, the
// empty div#appendonsend before it, or a border-top div whose text starts
// with "From:"), since Outlook puts the message replied to after the header
// rather than inside it. A Gmail or Thunderbird forward container whose
// first line is a forward header ("---------- Forwarded message ---------")
// is left unmarked: Split recognises the header and classifies what follows
// as the forwarded message.
func FromHTML(s string) string {
	r := newRenderer(false)
	r.run(s)
	return r.result()
}

// FromTaggedText renders the markup left in a plain-text body (tags pasted
// from a web page, an editor's <br> and <p>): like FromHTML, except that
// the body's own line breaks are kept and that something in angle brackets
// that is no HTML element, such as "Jane Doe <jane@example.org>", stays as
// written.
func FromTaggedText(s string) string {
	if strings.IndexByte(s, '<') < 0 && strings.IndexByte(s, '&') < 0 {
		return s
	}
	r := newRenderer(true)
	r.run(escapeStrayLT(s))
	return r.result()
}

// escapeStrayLT escapes each "<" of plain text that does not start a tag or
// comment closed soon after, so that a lone "<" keeps the text after it
// instead of opening a tag that runs to the end. Linear: each search stops
// at the next "<" or after maxTagLen bytes, and a comment without an end is
// looked for once.
func escapeStrayLT(s string) string {
	var b strings.Builder
	noCommentEnd := false
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "<!--") && !noCommentEnd {
			if end := strings.Index(s[4:], "-->"); end >= 0 {
				b.WriteString(s[:4+end+3])
				s = s[4+end+3:]
				continue
			}
			noCommentEnd = true
		}
		closed := false
		for j := 1; j < len(s) && j < maxTagLen; j++ {
			if s[j] == '>' {
				closed = true
				break
			}
			if s[j] == '<' {
				break
			}
		}
		if closed {
			b.WriteByte('<')
		} else {
			b.WriteString("&lt;")
		}
		s = s[1:]
	}
}

type outLine struct {
	level int // <blockquote> levels around the line
	text  string
}

// elem is an open element FromHTML follows: divs and blockquotes (quote
// containers), pre and the elements whose content is dropped.
type elem struct {
	tag       string
	first     int  // index of the first line inside the element
	container bool // a quote container: its lines are quoted at the end
	forward   bool // a container that is a forward when its first line says so
	header    bool // an Outlook border-top block: quoted from here on if it starts with "From:"
}

type renderer struct {
	plain    bool // FromTaggedText: keep line breaks and unknown tags
	lines    []outLine
	cur      strings.Builder
	curLevel int
	started  bool // cur has text
	level    int  // open blockquotes
	pre      int
	skip     int
	stack    []elem
	open     map[string]int
	spans    [][2]int // line ranges quoted at the end
	quoteAll int      // lines from here on are quoted; -1: none
	space    bool     // a space is due before the next text
}

func newRenderer(plain bool) *renderer {
	return &renderer{plain: plain, open: map[string]int{}, quoteAll: -1}
}

// Elements whose start and end break the line.
var blockTags = map[string]bool{
	"p": true, "div": true, "li": true, "ul": true, "ol": true, "tr": true, "table": true,
	"thead": true, "tbody": true, "tfoot": true, "caption": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "pre": true, "hr": true, "dl": true, "dt": true, "dd": true,
	"section": true, "article": true, "header": true, "footer": true, "center": true,
	"address": true, "aside": true, "nav": true, "main": true, "figure": true, "figcaption": true,
	"form": true, "fieldset": true, "details": true, "summary": true,
	"html": true, "body": true, "head": true,
}

// Elements whose content is not text for a reader.
var dropTags = map[string]bool{"script": true, "style": true, "title": true, "xml": true, "template": true, "noscript": true}

// Elements without content, never open.
var voidTags = map[string]bool{
	"br": true, "hr": true, "img": true, "meta": true, "link": true, "input": true, "wbr": true,
	"area": true, "base": true, "col": true, "embed": true, "param": true, "source": true, "track": true,
}

// Other HTML elements, removed with their text kept; FromTaggedText keeps
// any other "<word …>" as text.
var inlineTags = map[string]bool{
	"a": true, "abbr": true, "b": true, "bdi": true, "bdo": true, "big": true, "cite": true, "code": true,
	"data": true, "del": true, "dfn": true, "em": true, "font": true, "i": true, "ins": true, "kbd": true,
	"label": true, "mark": true, "q": true, "s": true, "samp": true, "small": true, "span": true,
	"strike": true, "strong": true, "sub": true, "sup": true, "time": true, "tt": true, "u": true,
	"var": true, "td": true, "th": true, "button": true, "select": true, "option": true, "textarea": true,
	"colgroup": true, "picture": true, "video": true, "audio": true, "canvas": true, "svg": true,
	"iframe": true, "object": true, "map": true, "nobr": true, "output": true, "progress": true,
	"meter": true, "legend": true, "optgroup": true, "ruby": true, "rt": true, "rp": true, "menu": true,
}

func (r *renderer) run(s string) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	z := xhtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			// io.EOF (reading from a string fails in no other way)
			for len(r.stack) > 0 {
				r.pop()
			}
			r.breakLine()
			return
		case xhtml.TextToken:
			if r.skip == 0 {
				r.text(string(z.Raw()))
			}
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			var attrs map[string]string
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if attrs == nil {
					attrs = map[string]string{}
				}
				if key := string(k); key == "class" || key == "id" || key == "style" {
					attrs[key] = string(v)
				}
			}
			if r.plain && !known(tag) {
				r.text(string(z.Raw()))
				continue
			}
			r.start(tag, attrs, tt == xhtml.SelfClosingTagToken)
		case xhtml.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			if r.plain && !known(tag) {
				r.text(string(z.Raw()))
				continue
			}
			r.end(tag)
		}
	}
}

func known(tag string) bool {
	return blockTags[tag] || dropTags[tag] || voidTags[tag] || inlineTags[tag] || isOfficeTag(tag)
}

// isOfficeTag reports whether tag is a namespaced element such as Word's
// <o:p> or <v:shape>, but not an address such as <mailto:jane@example.org>.
func isOfficeTag(tag string) bool {
	prefix, name, ok := strings.Cut(tag, ":")
	if !ok || prefix == "" || name == "" {
		return false
	}
	for _, c := range prefix + name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (r *renderer) start(tag string, attrs map[string]string, selfClosing bool) {
	switch {
	case tag == "br":
		r.newline()
		return
	case voidTags[tag]:
		if tag == "hr" {
			r.breakLine()
		}
		return
	case tag == "td" || tag == "th":
		r.space = true
		return
	}
	if blockTags[tag] {
		r.breakLine()
	}
	if selfClosing {
		if tag == "div" && outlookStart(attrs) {
			r.quoteFrom(len(r.lines))
		}
		return
	}
	if tag != "div" && tag != "blockquote" && tag != "pre" && !dropTags[tag] {
		return // not followed: its end only breaks the line
	}
	if len(r.stack) >= maxOpen {
		r.quoteFrom(len(r.lines))
		return
	}
	e := elem{tag: tag, first: len(r.lines)}
	switch tag {
	case "blockquote":
		r.level++
	case "pre":
		r.pre++
	case "div":
		cls := " " + strings.ToLower(attrs["class"]) + " "
		switch {
		case outlookStart(attrs):
			r.quoteFrom(len(r.lines))
		case strings.Contains(cls, " gmail_quote ") || strings.Contains(cls, " gmail_quote_container ") ||
			strings.Contains(cls, " moz-forward-container "):
			e.container, e.forward = true, true
		case strings.Contains(cls, " moz-cite-prefix ") ||
			strings.Contains(cls, " yahoo_quoted ") || strings.Contains(cls, " protonmail_quote "):
			e.container = true
		case strings.Contains(strings.ToLower(strings.ReplaceAll(attrs["style"], " ", "")), "border-top:solid"):
			e.header = true
		}
	default:
		r.skip++
	}
	r.stack = append(r.stack, e)
	r.open[tag]++
}

// outlookStart reports whether a div starts Outlook's reply header. Outlook
// prefixes "x_" to the ids of a message it quotes again.
func outlookStart(attrs map[string]string) bool {
	id := attrs["id"]
	for strings.HasPrefix(id, "x_") {
		id = id[2:]
	}
	return id == "divRplyFwdMsg" || id == "appendonsend"
}

func (r *renderer) end(tag string) {
	if r.open[tag] > 0 {
		for {
			e := r.pop()
			if e.tag == tag {
				break
			}
		}
	}
	if blockTags[tag] {
		r.breakLine()
	}
}

// pop closes the innermost followed element.
func (r *renderer) pop() elem {
	e := r.stack[len(r.stack)-1]
	r.stack = r.stack[:len(r.stack)-1]
	r.open[e.tag]--
	switch {
	case e.tag == "blockquote":
		r.breakLine()
		r.level--
	case e.tag == "pre":
		r.breakLine()
		r.pre--
	case dropTags[e.tag]:
		r.skip--
	case e.container || e.header:
		r.breakLine()
		first := r.firstText(e.first)
		switch {
		case e.header:
			if first >= 0 && isFromLine(r.lines[first].text) {
				r.quoteFrom(e.first)
			}
		case e.forward && first >= 0 && r.lines[first].level == 0 && isForwardHeader(normLine(r.lines[first].text)):
			// a forward: Split reads on after its header
		default:
			r.spans = append(r.spans, [2]int{e.first, len(r.lines)})
		}
	}
	return e
}

// firstText returns the index of the first line with text from i on, or
// -1. It looks at a few lines only: a header is at the top of its block,
// and nested blocks must not make the work quadratic.
func (r *renderer) firstText(i int) int {
	for end := min(len(r.lines), i+maxHeaderLines); i < end; i++ {
		if strings.TrimSpace(r.lines[i].text) != "" {
			return i
		}
	}
	return -1
}

func (r *renderer) quoteFrom(i int) {
	if r.quoteAll < 0 || i < r.quoteAll {
		r.quoteAll = i
	}
}

// text writes the raw text of a text token (or of a tag kept as text).
func (r *renderer) text(raw string) {
	if r.pre > 0 || r.plain {
		// Each source line is decoded by itself, so that an entity
		// such as "&#10;" cannot start a line.
		for i, part := range strings.Split(raw, "\n") {
			if i > 0 {
				r.newline()
			}
			r.write(oneLine(html.UnescapeString(strings.TrimSuffix(part, "\r"))), r.plain && r.pre == 0)
		}
		return
	}
	r.write(oneLine(html.UnescapeString(raw)), true)
}

// write adds text to the current line; collapse turns runs of white space
// into one space.
func (r *renderer) write(s string, collapse bool) {
	if collapse {
		fields := strings.Fields(s)
		if len(fields) == 0 {
			if s != "" {
				r.space = true
			}
			return
		}
		lead := s[0] == ' ' || s[0] == '\t'
		if lead {
			r.space = true
		}
		if r.space && r.started {
			r.cur.WriteByte(' ')
		}
		r.space = false
		r.startLine()
		r.cur.WriteString(strings.Join(fields, " "))
		last := s[len(s)-1]
		r.space = last == ' ' || last == '\t'
		return
	}
	if s == "" {
		return
	}
	r.startLine()
	r.cur.WriteString(s)
}

func (r *renderer) startLine() {
	if !r.started {
		r.started = true
		r.curLevel = r.level
	}
}

// oneLine turns every character that could break a line (decoded from an
// entity, or U+2028) into a space.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r\v\f\u0085\u2028\u2029\u00a0") {
		return s
	}
	return strings.Map(func(c rune) rune {
		switch c {
		case '\n', '\r', '\v', '\f', '\u0085', '\u2028', '\u2029', '\u00a0':
			return ' '
		}
		return c
	}, s)
}

// breakLine ends the current line if it has text.
func (r *renderer) breakLine() {
	if r.started {
		r.newline()
	}
	r.space = false
}

// newline ends the current line, even an empty one.
func (r *renderer) newline() {
	level := r.curLevel
	if !r.started {
		level = r.level
	}
	r.lines = append(r.lines, outLine{level: level, text: strings.TrimSpace(r.cur.String())})
	r.cur.Reset()
	r.started, r.space = false, false
}

// result writes the lines with their quote marks, at most one blank line in
// a row and none at the ends.
func (r *renderer) result() string {
	r.breakLine()
	quoted := make([]int, len(r.lines)+1) // running count of spans
	for _, sp := range r.spans {
		quoted[sp[0]]++
		quoted[sp[1]]--
	}
	var b strings.Builder
	cover, blank, wrote, prev := 0, false, false, 0
	for i, l := range r.lines {
		cover += quoted[i]
		level := l.level
		if level == 0 && (cover > 0 || r.quoteAll >= 0 && i >= r.quoteAll) {
			level = 1
		}
		if l.text == "" {
			blank = wrote
			continue
		}
		if blank {
			b.WriteString(strings.TrimRight(strings.Repeat("> ", min(level, prev, maxLevels)), " "))
			b.WriteByte('\n')
			blank = false
		}
		b.WriteString(strings.Repeat("> ", min(level, maxLevels)))
		b.WriteString(l.text)
		b.WriteByte('\n')
		wrote, prev = true, level
	}
	return strings.TrimSuffix(b.String(), "\n")
}
