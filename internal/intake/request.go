package intake

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"

	"github.com/procbot/procbot/internal/procedure"
)

// Parsed is the prerequisite data read from one article of a request.
type Parsed struct {
	// Data holds the usable values by field key. A contact field yields
	// <key>_name and <key>_email instead of <key>; a choice field holds the
	// canonical choice. Values that are empty or template placeholders are
	// left out, as are choices that match none of the field's choices, so
	// that MergeData never lets them replace good values.
	Data map[string]string
	// Problems lists what is missing or malformed, in the order of the
	// procedure's fields.
	Problems []Problem
}

// Complete reports whether the article supplied everything required.
func (p Parsed) Complete() bool { return len(p.Problems) == 0 }

// Problem is one thing wrong with the prerequisite data, phrased for the
// applicant.
type Problem struct {
	Field   string `json:"field"`          // field key
	Label   string `json:"label"`          // field label as in the procedure's template
	Message string `json:"message"`        // e.g. "missing", `not a valid email address: "foo@"`
	Help    string `json:"help,omitempty"` // how to supply it, from the procedure
}

// Problem messages.
const (
	msgMissing      = "missing"
	msgMissingName  = "missing name"
	msgMissingEmail = "missing email address"
	msgInvalidEmail = "not a valid email address"
	msgNotAChoice   = "not one of"
)

// Malformed reports whether the problem is a value given but not accepted
// (as opposed to a value missing).
func (p Problem) Malformed() bool {
	return p.Message != msgMissing && p.Message != msgMissingName && p.Message != msgMissingEmail
}

// ParseRequest reads the prerequisite data of a request from an article
// body and reports what is missing or malformed.
//
// The body is plain text (HTML articles are rendered by the tracker
// adapters with mailtext.FromHTML); markup left in it is rendered and
// entities decoded. Data is read from the author's own text and from a
// message the author forwarded, since an applicant who forwards the request
// mail expects it to be read; where both give a value, the author's own
// text wins. Quoted material (see mailtext.Split) is never read: a reply's
// copy of older messages would bring back values a later article corrected.
//
// A field is given on a line "<label>: <value>", optionally after a bullet
// ("*", "-", "•", "1."). Labels are matched ignoring case, whitespace and
// "*" or "_" emphasis, against the field's Label and Aliases, and also
// with parenthesised parts left out on both sides, so that "customers of the
// Product: ..." matches the label "customers of the Product (eg. user
// community, Operations Centre)". Only the text before a line's first colon
// is taken as a label, so labels must not contain colons.
//
// A value is the rest of its line plus the lines that follow, up to the next
// label line, an empty line, a quoted line ("> ..."), a signature separator
// ("--") or a closing line such as "Best regards". Several fields on one line,
// as in "Prerequisite data: * name of Technology Product: Foo * motivation:
// bar", are split at " * " where a label follows. Quoted lines are ignored.
// When a label appears twice, its last non-empty value counts. A label line
// whose value is one of procbot's own problem messages ("missing", "not a
// valid email address: ...") is procbot's missing-data note pasted back: it
// and the help lines after it are skipped.
//
// The problems are those Validate finds in Data, except that a choice
// matching none of the field's choices is reported as such rather than as
// missing.
func ParseRequest(fields []procedure.Field, body string) Parsed {
	raw := scanFields(newLabelIndex(fields), body)
	data, rejected := interpret(fields, raw)
	return Parsed{Data: data, Problems: validate(fields, data, rejected)}
}

// Validate recomputes the problems of data, typically the result of merging
// the Data of several articles with MergeData.
//
// A required field that is absent, empty or a template placeholder is
// "missing"; an optional one is not a problem. A contact needs a name and a
// valid email address; an email must parse as an address whose domain has a
// dot; a choice must be one of the field's choices. Values that are given are
// checked whether the field is required or not.
func Validate(fields []procedure.Field, data map[string]string) []Problem {
	return validate(fields, data, nil)
}

// MergeData combines the data of a request's articles: values from newer
// that are not blank replace those in older. Neither map is changed.
func MergeData(older, newer map[string]string) map[string]string {
	out := make(map[string]string, len(older)+len(newer))
	for k, v := range older {
		out[k] = v
	}
	for k, v := range newer {
		if strings.TrimSpace(v) != "" {
			out[k] = v
		}
	}
	return out
}

func validate(fields []procedure.Field, data map[string]string, rejected map[string]string) []Problem {
	var out []Problem
	for _, f := range fields {
		f.Required = f.Required || requiredBy(f, data)
		add := func(msg string) {
			out = append(out, Problem{Field: f.Key, Label: f.Label, Message: msg, Help: f.Help})
		}
		switch formatOf(f) {
		case procedure.FormatContact:
			name := data[f.Key+"_name"]
			email := data[f.Key+"_email"]
			hasName, hasEmail := !isPlaceholder(name), !isPlaceholder(email)
			switch {
			case !hasName && !hasEmail:
				if f.Required {
					add(msgMissing)
				}
			case !hasName:
				add(msgMissingName)
			case !hasEmail:
				add(msgMissingEmail)
			}
			if hasEmail && !validEmail(email) {
				add(fmt.Sprintf("%s: %q", msgInvalidEmail, clip(email, 100)))
			}
		case procedure.FormatEmail:
			v := data[f.Key]
			switch {
			case isPlaceholder(v):
				if f.Required {
					add(msgMissing)
				}
			case !validEmail(v):
				add(fmt.Sprintf("%s: %q", msgInvalidEmail, clip(v, 100)))
			}
		case procedure.FormatChoice:
			v := data[f.Key]
			if bad, ok := rejected[f.Key]; ok && isPlaceholder(v) {
				v = bad
			}
			switch {
			case isPlaceholder(v):
				if f.Required {
					add(msgMissing)
				}
			default:
				if _, ok := canonicalChoice(f, v); !ok {
					add(fmt.Sprintf("%s %s: %q", msgNotAChoice, strings.Join(f.Choices, ", "), clip(v, 100)))
				}
			}
		default:
			if f.Required && isPlaceholder(data[f.Key]) {
				add(msgMissing)
			}
		}
	}
	return out
}

// requiredBy reports whether another field's value makes f required
// (Field.RequiredWhen, "<key>=<value>", compared as choices are).
func requiredBy(f procedure.Field, data map[string]string) bool {
	key, want, ok := strings.Cut(f.RequiredWhen, "=")
	if !ok {
		return false
	}
	got := data[strings.TrimSpace(key)]
	return got != "" && strings.EqualFold(strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(want), " "))
}

func formatOf(f procedure.Field) string {
	if f.Format == "" {
		return procedure.FormatText
	}
	return f.Format
}

// interpret turns the raw values found in a body into Data. It returns the
// choice values it could not use, by key, for the problem report.
func interpret(fields []procedure.Field, raw map[string]string) (data, rejected map[string]string) {
	data = map[string]string{}
	for _, f := range fields {
		v, ok := raw[f.Key]
		if !ok {
			continue
		}
		v = cleanValue(v)
		if isPlaceholder(v) {
			continue
		}
		switch formatOf(f) {
		case procedure.FormatContact:
			name, email := splitContact(v)
			setIf(data, f.Key+"_name", name)
			setIf(data, f.Key+"_email", email)
		case procedure.FormatEmail:
			setIf(data, f.Key, extractEmail(v))
		case procedure.FormatChoice:
			v = collapseSpace(v)
			if c, ok := canonicalChoice(f, v); ok {
				data[f.Key] = c
			} else {
				if rejected == nil {
					rejected = map[string]string{}
				}
				rejected[f.Key] = v
			}
		default:
			data[f.Key] = v
		}
	}
	return data, rejected
}

func setIf(m map[string]string, k, v string) {
	if !isPlaceholder(v) {
		m[k] = v
	}
}

func canonicalChoice(f procedure.Field, v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, c := range f.Choices {
		if strings.EqualFold(c, v) {
			return c, true
		}
	}
	return "", false
}

// isPlaceholder reports whether v says nothing: empty, or what a template
// puts where a value goes ("XXX", "...", "TBD", "<name>", "[XXX]").
func isPlaceholder(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '[' && v[len(v)-1] == ']' || v[0] == '<' && v[len(v)-1] == '>' && !strings.Contains(v, "@")) {
		if strings.IndexAny(v[1:len(v)-1], "[]<>") < 0 {
			// "<name>" or "[your name]" is a prompt, not a value.
			return true
		}
	}
	if v == "" {
		return true
	}
	if len(v) >= 2 && strings.Trim(v, "xX") == "" {
		return true
	}
	if strings.Trim(v, ".…-–—_?") == "" {
		return true
	}
	switch strings.ToLower(v) {
	case "tbd", "tbc", "n/a", "todo":
		return true
	}
	return false
}

// validEmail accepts a bare address (no display name) that net/mail parses
// and whose domain has a dot, such as "jane@example.org".
// ValidEmail reports whether s is one plain email address with a domain
// that has a dot, as procbot accepts in request data and commands.
func ValidEmail(s string) bool { return validEmail(s) }

func validEmail(s string) bool {
	if s == "" || strings.ContainsAny(s, " <>\n") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 1 {
		return false
	}
	domain := a.Address[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") &&
		!strings.HasSuffix(domain, ".") && !strings.HasPrefix(domain, "[")
}

// extractEmail returns the address in v: v itself if it is "Name <addr>" or
// a bare address, otherwise the first word containing "@" (possibly not a
// valid address, which Validate then reports), otherwise v.
func extractEmail(v string) string {
	v = collapseSpace(v)
	if a, err := mail.ParseAddress(v); err == nil {
		return a.Address
	}
	if w, ok := emailWord(v); ok {
		return w.text
	}
	return v
}

type word struct {
	text       string
	start, end int // byte offsets in the string it came from, brackets included
}

// emailWord finds the first word of s containing "@". Words are separated by
// spaces, commas and semicolons; surrounding brackets, quotes and a "mailto:"
// are not part of the word but are included in start/end.
func emailWord(s string) (word, bool) {
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return word{}, false
	}
	isSep := func(c byte) bool { return c == ' ' || c == ',' || c == ';' || c == '\n' || c == '\t' }
	start := at
	for start > 0 && !isSep(s[start-1]) {
		start--
	}
	end := at + 1
	for end < len(s) && !isSep(s[end]) {
		end++
	}
	text := strings.Trim(s[start:end], "<>()[]\"'")
	// "email:jane@example.org", "mailto:jane@example.org"
	if at := strings.IndexByte(text, '@'); at > 0 {
		if c := strings.LastIndexByte(text[:at], ':'); c >= 0 {
			text = strings.TrimLeft(text[c+1:], "<([\"'")
		}
	}
	text = strings.TrimRight(text, ".:")
	return word{text: text, start: start, end: end}, true
}

// splitContact reads a contact written as "Jane Doe, jane@example.org",
// "Jane Doe <jane@example.org>", "jane@example.org (Jane Doe)" or similar:
// the email is the first word containing "@", the name is what remains
// without separators, brackets or "name:"/"email:" labels.
func splitContact(v string) (name, email string) {
	v = collapseSpace(v)
	w, ok := emailWord(v)
	if !ok {
		return cleanName(v), ""
	}
	return cleanName(v[:w.start] + " " + v[w.end:]), w.text
}

// cleanName removes from the non-email part of a contact what is not the
// name: labels such as "email:", empty brackets, separators at either end.
func cleanName(s string) string {
	for _, label := range []string{"e-mail:", "email:", "mail:", "name:"} {
		s = replaceFold(s, label, " ")
	}
	s = strings.NewReplacer("<>", " ", "()", " ", "[]", " ").Replace(s)
	s = collapseSpace(s)
	// "(Jane Doe)" after "jane@example.org" was removed.
	for len(s) >= 2 && (s[0] == '(' && s[len(s)-1] == ')' || s[0] == '<' && s[len(s)-1] == '>' || s[0] == '"' && s[len(s)-1] == '"') {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—/|", r)
	})
	return collapseSpace(s)
}

// replaceFold replaces every occurrence of the ASCII string old in s,
// ignoring ASCII case.
func replaceFold(s, old, repl string) string {
	var b strings.Builder
	for {
		i := indexFold(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s = s[i+len(old):]
	}
}
