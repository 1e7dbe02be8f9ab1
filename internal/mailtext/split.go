package mailtext

import (
	"strings"
	"unicode"
)

// Parts is a plain-text article body divided by who wrote what.
type Parts struct {
	// Own is the author's own text. Where quoted material was taken out
	// it holds an empty line, so that text above and below a quote never
	// joins up.
	Own string
	// Forwarded is a message the author forwarded, from its forward
	// header ("---------- Forwarded message ---------") on, without the
	// lines quoted inside it.
	Forwarded string
	// Quoted is everything quoted: "> " lines, and all that follows a
	// reply header ("On … wrote:", "-----Original Message-----").
	Quoted string
}

// maxHeaderLen bounds the lines tried as reply or forward headers.
const maxHeaderLen = 300

// Split divides a plain-text body, such as FromHTML's result, into the
// author's own text, a forwarded message and quoted material.
//
// A line whose first character other than white space is ">" is quoted.
// A reply header (see isReplyHeader) and every line after it are quoted,
// since clients that quote without "> " (Outlook, Gmail's "On … wrote:"
// above an unmarked copy) put the message replied to below it. A forward
// header outside a quote starts the forwarded message, which runs to the
// end of the body, except for its own quoted lines and what follows a reply
// header inside it. Lines end at "\n", "\r\n" or "\r".
func Split(text string) Parts {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	var own, fwd, quoted []string
	forwarded, rest := false, false
	gap := func() {
		if !forwarded && len(own) > 0 && own[len(own)-1] != "" {
			own = append(own, "")
		}
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		l := normLine(line)
		switch {
		case rest:
			quoted = append(quoted, line)
		case strings.HasPrefix(l, ">"):
			gap()
			quoted = append(quoted, line)
		case isReplyHeader(l, nextLine(lines, i), forwarded):
			gap()
			rest = true
			quoted = append(quoted, line)
		case !forwarded && isForwardHeader(l):
			forwarded = true
			fwd = append(fwd, line)
		case forwarded:
			fwd = append(fwd, line)
		default:
			own = append(own, line)
		}
	}
	return Parts{
		Own:       strings.TrimRight(strings.Join(own, "\n"), "\n"),
		Forwarded: strings.Join(fwd, "\n"),
		Quoted:    strings.Join(quoted, "\n"),
	}
}

func nextLine(lines []string, i int) string {
	if i+1 < len(lines) {
		return normLine(lines[i+1])
	}
	return ""
}

// normLine trims a line and turns runs of white space into one space.
func normLine(s string) string {
	if len(s) > 4*maxHeaderLen {
		s = s[:4*maxHeaderLen]
	}
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// isReplyHeader reports whether a normalized line (with the line after it,
// for headers a client wrapped) introduces a message that is being replied
// to: "On <date>, Jane <jane@example.org> wrote:" (also split over two
// lines), "Am … schrieb …:", "Le … a écrit :", "-----Original
// Message-----", Outlook's line of underscores, or Outlook's header block
// "From: …" followed by "Sent: …" or "Date: …".
//
// Inside a forwarded message the From: block is the forward's own header and
// does not count.
func isReplyHeader(line, next string, forwarded bool) bool {
	if len(line) > maxHeaderLen {
		return false
	}
	l := strings.ToLower(line)
	n := strings.ToLower(next)
	switch {
	case introduces(l):
		return true
	case (strings.HasPrefix(l, "on ") || strings.HasPrefix(l, "am ") || strings.HasPrefix(l, "le ")) &&
		len(l)+len(n) <= maxHeaderLen && introduces(l+" "+n):
		return true
	case strings.HasPrefix(l, "-----") && (strings.Contains(l, "original message") || strings.Contains(l, "ursprüngliche nachricht")):
		return true
	case len(l) >= 10 && strings.Trim(l, "_") == "":
		return true
	case !forwarded && isFromLine(l) && hasAnyPrefix(n, "sent:", "date:", "gesendet:", "datum:", "envoyé :", "envoyé:"):
		return true
	}
	return false
}

func introduces(l string) bool {
	return strings.HasPrefix(l, "on ") && strings.HasSuffix(l, " wrote:") ||
		strings.HasPrefix(l, "am ") && strings.Contains(l, " schrieb") && strings.HasSuffix(l, ":") ||
		strings.HasPrefix(l, "le ") && (strings.HasSuffix(l, " a écrit :") || strings.HasSuffix(l, " a écrit:"))
}

// isFromLine reports whether a line starts a mail header block ("From:",
// in the languages of EGI's operators).
func isFromLine(line string) bool {
	return hasAnyPrefix(strings.ToLower(strings.TrimSpace(line)), "from:", "von:", "de :", "de:", "da:", "van:", "od:", "från:")
}

// isForwardHeader reports whether a normalized line starts a forwarded
// message: "---------- Forwarded message ---------" (Gmail), "--------
// Forwarded Message --------" (Thunderbird), "Begin forwarded message:"
// (Apple Mail), and their German and French forms.
func isForwardHeader(line string) bool {
	if len(line) > maxHeaderLen {
		return false
	}
	l := strings.ToLower(line)
	if strings.HasPrefix(l, "-----") {
		switch strings.TrimSpace(strings.Trim(l, "- ")) {
		case "forwarded message", "weitergeleitete nachricht", "message transféré", "message transféré ", "forwarded message follows":
			return true
		}
		return false
	}
	return l == "begin forwarded message:" || l == "anfang der weitergeleiteten nachricht:" || l == "début du message réexpédié :"
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
