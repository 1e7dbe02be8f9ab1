package intake

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/procbot/procbot/internal/mailtext"
)

// MaxValueLen is the longest value, in characters, that procbot keeps for a
// field or a command's arguments. Longer values are cut and end in "…".
const MaxValueLen = 2000

// cleanPart prepares one part of an article body (see mailtext.Split) for
// line-by-line reading: invalid UTF-8 is replaced, markup left in the plain
// text is rendered (block tags become line breaks, entities are decoded) and
// line endings become "\n". A part is cleaned only after the body was split,
// so that nothing decoded here can move text out of a quote.
func cleanPart(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = mailtext.FromTaggedText(s)
	return lineEndings.Replace(s)
}

// lineEndings turns every line ending into "\n" (a paragraph separator into
// two). A Replacer is safe for concurrent use, so one serves every call.
var lineEndings = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n\n")

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
