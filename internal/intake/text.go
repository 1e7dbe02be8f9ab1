package intake

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxValueLen is the longest value, in characters, that procbot keeps for a
// field or a command's arguments. Longer values are cut and end in "…".
const MaxValueLen = 2000

// cleanBody prepares an article body for line-by-line reading: invalid UTF-8
// is replaced, leftover HTML tags are removed (block tags become line
// breaks), entities are decoded, and line endings become "\n".
func cleanBody(body string) string {
	body = strings.ToValidUTF8(body, "\uFFFD")
	if strings.IndexByte(body, '<') >= 0 {
		body = stripTags(body)
	}
	if strings.IndexByte(body, '&') >= 0 {
		body = html.UnescapeString(body)
	}
	// Unescaping can produce invalid UTF-8 from numeric entities such as
	// "&#xD800;"; html replaces those, but be sure.
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.NewReplacer("\r", "\n", "\u2028", "\n", "\u2029", "\n\n").Replace(body)
	return body
}

// htmlTags are the tag names stripTags removes. Anything else in angle
// brackets is kept, so that "Jane Doe <jane@example.org>" survives.
var htmlTags = map[string]tagKind{
	"p": tagParagraph, "div": tagBreak, "br": tagBreak, "hr": tagBreak,
	"li": tagItem, "ul": tagBreak, "ol": tagBreak, "dl": tagBreak, "dt": tagBreak, "dd": tagBreak,
	"tr": tagBreak, "table": tagBreak, "tbody": tagBreak, "thead": tagBreak, "tfoot": tagBreak,
	"td": tagSpace, "th": tagSpace,
	"h1": tagParagraph, "h2": tagParagraph, "h3": tagParagraph, "h4": tagParagraph, "h5": tagParagraph, "h6": tagParagraph,
	"blockquote": tagBreak, "pre": tagBreak, "section": tagBreak, "article": tagBreak,
	"header": tagBreak, "footer": tagBreak, "center": tagBreak,
	"html": tagBreak, "body": tagBreak, "head": tagBreak, "title": tagBreak, "meta": tagNone, "link": tagNone,
	"span": tagNone, "font": tagNone, "a": tagNone, "b": tagNone, "i": tagNone, "u": tagNone, "s": tagNone,
	"strong": tagNone, "em": tagNone, "code": tagNone, "tt": tagNone, "small": tagNone, "big": tagNone,
	"sub": tagNone, "sup": tagNone, "img": tagNone, "label": tagNone, "o:p": tagNone, "wbr": tagNone,
	"style": tagDrop, "script": tagDrop,
}

type tagKind int

const (
	tagNone      tagKind = iota // removed without trace
	tagSpace                    // becomes a space
	tagBreak                    // becomes a line break
	tagParagraph                // becomes an empty line, which ends a value
	tagItem                     // becomes a line break and a "* " bullet
	tagDrop                     // removed with its content
)

// maxTagLen bounds how far stripTags looks for the end of a tag.
const maxTagLen = 2000

// stripTags removes known HTML tags and comments from s. A '<' that does not
// start a well-formed known tag is kept as text. The work is linear in the
// length of s: each search for a closing "-->" or "</style" that fails is
// remembered, so it is not repeated.
func stripTags(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	unclosed := map[string]bool{} // "--" or a tag name with no end in the rest of s
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "<!--") && !unclosed["--"] {
			if end := strings.Index(s[4:], "-->"); end >= 0 {
				s = s[4+end+3:]
				continue
			}
			unclosed["--"] = true
		}
		name, closing, n, ok := scanTag(s)
		if !ok {
			b.WriteByte('<')
			s = s[1:]
			continue
		}
		s = s[n:]
		switch htmlTags[name] {
		case tagSpace:
			b.WriteByte(' ')
		case tagBreak:
			b.WriteByte('\n')
		case tagParagraph:
			b.WriteString("\n\n")
		case tagItem:
			if !closing {
				b.WriteString("\n* ")
			}
		case tagDrop:
			// Skip the content up to the closing tag; without one, keep it.
			if closing || unclosed[name] {
				break
			}
			if end := indexFold(s, "</"+name); end >= 0 {
				s = s[end:]
			} else {
				unclosed[name] = true
			}
		}
	}
}

// scanTag reads a tag at the start of s ("<p>", "</div>", "<br/>", "<a
// href=...>") and returns its lowercased name, whether it closes an element,
// and its length. It fails for names not in htmlTags, and when another '<'
// or the length limit comes before the closing '>', so that a stray '<'
// costs little.
func scanTag(s string) (name string, closing bool, n int, ok bool) {
	i := 1
	if i < len(s) && s[i] == '/' {
		closing = true
		i++
	}
	start := i
	for i < len(s) && i-start < 12 && (isASCIILetter(s[i]) || s[i] >= '0' && s[i] <= '9' || s[i] == ':') {
		i++
	}
	name = strings.ToLower(s[start:i])
	if _, known := htmlTags[name]; !known || i >= len(s) {
		return "", false, 0, false
	}
	if c := s[i]; c != '>' && c != '/' && c != ' ' && c != '\t' && c != '\n' && c != '\r' {
		return "", false, 0, false
	}
	for j := i; j < len(s) && j < maxTagLen; j++ {
		switch s[j] {
		case '>':
			return name, closing, j + 1, true
		case '<':
			return "", false, 0, false
		}
	}
	return "", false, 0, false
}

// indexFold is strings.Index for an ASCII needle, ignoring ASCII case.
func indexFold(s, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], needle) {
			return i
		}
	}
	return -1
}

// cleanValue turns raw text into a stored value: control characters are
// removed (line breaks are kept between lines, tabs become spaces), spaces
// are collapsed within each line, the whole is trimmed, and it is capped at
// MaxValueLen characters.
func cleanValue(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(min(len(s), 4*MaxValueLen+8))
	space, newline := false, false
	runes := 0
	for _, r := range s {
		switch {
		case r == '\n':
			newline = true
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D':
			// dropped: control characters, and invisible formatting such
			// as byte order marks and bidi overrides (joiners are kept,
			// emoji and some scripts need them)
		default:
			if b.Len() > 0 {
				switch {
				case newline:
					b.WriteByte('\n')
					runes++
				case space:
					b.WriteByte(' ')
					runes++
				}
			}
			space, newline = false, false
			b.WriteRune(r)
			runes++
			if runes > MaxValueLen {
				return truncate(b.String())
			}
		}
	}
	return truncate(b.String())
}

// truncate caps a cleaned value at MaxValueLen characters, the last of which
// is "…" when something was cut.
func truncate(s string) string {
	if utf8.RuneCountInString(s) <= MaxValueLen {
		return s
	}
	n, i := 0, 0
	for i = range s {
		if n == MaxValueLen-1 {
			break
		}
		n++
	}
	return strings.TrimRight(s[:i], " \n") + "…"
}

// collapseSpace turns every run of whitespace (line breaks included) into
// one space and trims the ends.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// clip shortens s for quoting in a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if n == 0 {
			i = j
			break
		}
		n--
	}
	return s[:i] + "…"
}
