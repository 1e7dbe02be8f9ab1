package intake

import (
	"strings"
	"unicode"

	"github.com/procbot/procbot/internal/mailtext"
	"github.com/procbot/procbot/internal/procedure"
)

// labelIndex finds the field a label names.
type labelIndex struct {
	full map[string]string // normalized label → field key
	bare map[string]string // normalized label without parenthesised parts → field key
	// maxRaw is the longest text before a colon that can still be a label;
	// longer texts are not normalized at all, which keeps scanning cheap.
	maxRaw int
}

func newLabelIndex(fields []procedure.Field) *labelIndex {
	idx := &labelIndex{full: map[string]string{}, bare: map[string]string{}}
	longest := 0
	for _, f := range fields {
		if f.Key == "" {
			continue
		}
		for _, l := range append([]string{f.Label}, f.Aliases...) {
			l = strings.TrimSuffix(strings.TrimSpace(l), ":")
			if n := normLabel(l); n != "" {
				if _, dup := idx.full[n]; !dup {
					idx.full[n] = f.Key
				}
				longest = max(longest, len(l))
			}
			if n := normLabel(dropParens(l)); n != "" {
				if _, dup := idx.bare[n]; !dup {
					idx.bare[n] = f.Key
				}
			}
		}
	}
	idx.maxRaw = 4*longest + 64
	return idx
}

// lookup returns the key of the field that label names. The full form wins
// over the form without parenthesised parts.
func (idx *labelIndex) lookup(label string) (string, bool) {
	if len(label) > idx.maxRaw {
		return "", false
	}
	if k, ok := idx.full[normLabel(label)]; ok {
		return k, true
	}
	k, ok := idx.bare[normLabel(dropParens(label))]
	return k, ok
}

// normLabel lowercases s and drops whitespace and emphasis marks, so that
// "contact details(name, email)" and "Contact  details (name, email)" agree.
func normLabel(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r), r == '*', r == '_':
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// dropParens removes parenthesised parts: "customers (eg. VOs)" → "customers ".
func dropParens(s string) string {
	if strings.IndexByte(s, '(') < 0 {
		return s
	}
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxRawValue bounds the text gathered for one value before cleaning. Lines
// are whitespace-collapsed when gathered, so this many bytes always hold
// more than MaxValueLen characters and the cut is still marked with "…".
const maxRawValue = 4*MaxValueLen + 64

// scanFields reads "<label>: <value>" entries from body and returns the raw
// values by field key (see ParseRequest for the rules).
func scanFields(idx *labelIndex, body string) map[string]string {
	raw := map[string]string{}
	cur := "" // key of the value being gathered
	var val strings.Builder
	flush := func() {
		if cur == "" {
			return
		}
		v := val.String()
		if _, seen := raw[cur]; !seen || !isPlaceholder(cleanValue(v)) {
			raw[cur] = v
		}
		cur = ""
		val.Reset()
	}
	appendVal := func(s string) {
		if val.Len() < maxRawValue {
			val.WriteString(s)
		}
	}
	// A forwarded message is read first, so that the author's own text
	// above it wins where both give a value; quoted material (a reply's
	// copy of older messages) is not read at all.
	parts := mailtext.Split(body)
	rest := cleanPart(parts.Forwarded) + "\n\n" + cleanPart(parts.Own)
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		line = normLine(line)
		if line == "" || line[0] == '>' || line == "--" || isClosing(line) {
			flush()
			continue
		}
		for i, seg := range splitBullets(line) {
			if key, v, ok := labelLine(idx, seg); ok {
				flush()
				if isProblemEcho(v) {
					// procbot's own missing-data note, pasted back: its
					// "label: missing" lines and their help are not data.
					continue
				}
				cur = key
				appendVal(v)
				continue
			}
			if cur == "" {
				continue
			}
			if i == 0 {
				appendVal("\n")
			} else {
				appendVal(" ")
			}
			appendVal(seg)
		}
	}
	flush()
	return raw
}

// normLine turns every whitespace character of a line into a space,
// collapses runs of them, drops control and invisible formatting characters,
// and trims the ends.
func normLine(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) && r != '\u200C' && r != '\u200D':
		default:
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitBullets splits a line where another bullet starts (" * " or " • "),
// for the request template written on one line. Every part but the first
// starts with its bullet.
func splitBullets(line string) []string {
	var parts []string
	start := 0
	for i := 0; i+2 < len(line); i++ {
		if line[i] != ' ' {
			continue
		}
		if line[i+1] == '*' && line[i+2] == ' ' || strings.HasPrefix(line[i+1:], "• ") {
			parts = append(parts, line[start:i])
			start = i + 1
		}
	}
	return append(parts, line[start:])
}

// labelLine reports whether seg is "<label>: <value>", optionally after a
// bullet, for a known label, and returns the field key and the value.
func labelLine(idx *labelIndex, seg string) (key, value string, ok bool) {
	s := stripBullet(seg)
	colon := strings.IndexByte(s, ':')
	if colon < 0 || colon > idx.maxRaw {
		return "", "", false
	}
	key, ok = idx.lookup(s[:colon])
	if !ok {
		return "", "", false
	}
	value = strings.TrimSpace(s[colon+1:])
	// "**label:** value"
	if strings.HasPrefix(value, "**") || strings.HasPrefix(value, "__") {
		value = strings.TrimSpace(value[2:])
	}
	return key, value, true
}

// stripBullet removes a leading list marker: "*", "-", "•", "+", "1.", "a)".
func stripBullet(s string) string {
	s = strings.TrimLeft(s, "*-•+·–—▪◦ ")
	// "1. ", "12) ", "a) "
	i := 0
	for i < len(s) && i < 3 && (s[i] >= '0' && s[i] <= '9' || i == 0 && s[i] >= 'a' && s[i] <= 'z') {
		i++
	}
	if i > 0 && i+1 < len(s) && (s[i] == '.' || s[i] == ')') && s[i+1] == ' ' {
		if s[0] >= '0' && s[0] <= '9' || i == 1 {
			s = s[i+2:]
		}
	}
	return strings.TrimSpace(s)
}

// closings are lines that end a letter's body, lowercased, without trailing
// punctuation. The first group also ends a value when followed by a name, as
// in "Best Regards Jane".
var (
	closingPrefixes = []string{
		"best regards", "kind regards", "warm regards", "with best regards",
		"with kind regards", "best wishes", "yours sincerely", "regards,",
	}
	closingLines = map[string]bool{
		"regards": true, "thanks": true, "thank you": true, "many thanks": true,
		"thanks in advance": true, "cheers": true, "best": true, "br": true,
		"sincerely": true, "cordially": true,
	}
)

// isClosing reports whether a normalized line is a letter's closing.
func isClosing(line string) bool {
	if len(line) > 80 {
		return false
	}
	l := strings.ToLower(strings.TrimRight(line, ",.!"))
	if closingLines[l] {
		return true
	}
	for _, p := range closingPrefixes {
		if l == strings.TrimSuffix(p, ",") || strings.HasPrefix(l, p) && (strings.HasSuffix(p, ",") || strings.HasPrefix(l, p+" ") || strings.HasPrefix(l, p+",")) {
			return true
		}
	}
	return false
}

// isProblemEcho reports whether the value on a label line is one of the
// problem messages procbot writes in its missing-data note ("missing",
// "not a valid email address: ...", "not one of ...") rather than a value.
func isProblemEcho(v string) bool {
	switch v {
	case msgMissing, msgMissingName, msgMissingEmail:
		return true
	}
	return strings.HasPrefix(v, msgInvalidEmail+": ") || strings.HasPrefix(v, msgNotAChoice+" ")
}
