// Package intake reads what people write to procbot: it recognises request
// subjects, extracts the prerequisite data from a request's body, and finds
// the slash commands operators type in ticket articles.
//
// Everything here is pure: no I/O, no clock. Every function accepts any
// input (invalid UTF-8, megabytes of text, HTML leftovers) without panicking
// and in time roughly linear in its size, because the input comes straight
// from ticket systems that anyone can write to.
package intake

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ProductPlaceholder marks where the product name goes in a subject template.
const ProductPlaceholder = "{product}"

// MaxProductLen is the longest product name, in characters, that a subject
// may carry. Longer subjects are not requests procbot acts on.
const MaxProductLen = 200

// SubjectMatcher recognises the subjects of one procedure's requests.
// Build it once with NewSubjectMatcher; it is safe for concurrent use.
type SubjectMatcher struct {
	template string
	prefix   string // literal before {product}, whitespace-collapsed
	suffix   string // literal after {product}, whitespace-collapsed
}

// NewSubjectMatcher prepares template, which must contain "{product}" exactly
// once and some literal text besides it.
func NewSubjectMatcher(template string) (*SubjectMatcher, error) {
	norm := normalizeSubject(template)
	switch n := strings.Count(norm, ProductPlaceholder); {
	case n == 0:
		return nil, fmt.Errorf("subject template %q: no %s placeholder", template, ProductPlaceholder)
	case n > 1:
		return nil, fmt.Errorf("subject template %q: %s appears %d times, want once", template, ProductPlaceholder, n)
	}
	prefix, suffix, _ := strings.Cut(norm, ProductPlaceholder)
	if strings.TrimSpace(prefix+suffix) == "" {
		return nil, errors.New("subject template has nothing but the " + ProductPlaceholder + " placeholder: it would match every subject")
	}
	return &SubjectMatcher{template: template, prefix: prefix, suffix: suffix}, nil
}

// Template returns the template the matcher was built from.
func (m *SubjectMatcher) Template() string { return m.template }

// Match reports whether subject is a request subject and returns the product
// named in it.
//
// The comparison ignores letter case, collapses runs of whitespace (tabs,
// no-break spaces and other Unicode spaces included) into one space, drops
// control and invisible formatting characters, and skips any number of
// leading reply and forward prefixes ("Re:", "RE:", "Fwd:", "Fw:", "AW:",
// "WG:", "TR:", "SV:", also counted as in "Re[2]:" or spaced as in "TR :").
// Apart from that the template's literal text must match exactly, so a
// different procedure number or extra trailing words do not match.
//
// The product is the text in place of {product}, trimmed and
// whitespace-collapsed; it must be non-empty and at most MaxProductLen
// characters.
func (m *SubjectMatcher) Match(subject string) (product string, ok bool) {
	s := stripReplyPrefixes(normalizeSubject(subject))
	rest, ok := cutPrefixFold(s, m.prefix)
	if !ok {
		return "", false
	}
	mid, ok := cutSuffixFold(rest, m.suffix)
	if !ok {
		return "", false
	}
	product = strings.TrimSpace(mid)
	if product == "" || utf8.RuneCountInString(product) > MaxProductLen {
		return "", false
	}
	return product, true
}

// MatchSubject is NewSubjectMatcher(template) followed by Match(subject). An
// invalid template matches nothing.
func MatchSubject(template, subject string) (product string, ok bool) {
	m, err := NewSubjectMatcher(template)
	if err != nil {
		return "", false
	}
	return m.Match(subject)
}

// normalizeSubject makes s valid UTF-8, drops control and formatting
// characters, and collapses whitespace into single spaces with none at
// either end.
func normalizeSubject(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			// dropped: invisible, and never part of a product name
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

// replyPrefixes are the words mail clients put before a subject on reply or
// forward, lowercased.
var replyPrefixes = map[string]bool{
	"re": true, "fwd": true, "fw": true, "aw": true, "wg": true, "tr": true, "sv": true,
}

// stripReplyPrefixes removes leading reply and forward prefixes from a
// normalized subject. Each prefix is consumed once, so the work is linear in
// the length of s however many prefixes there are.
func stripReplyPrefixes(s string) string {
	for {
		rest, ok := cutReplyPrefix(s)
		if !ok {
			return s
		}
		s = rest
	}
}

// cutReplyPrefix removes one prefix such as "Re:", "Re[2]:", "RE :" (and the
// space after it) from the start of s.
func cutReplyPrefix(s string) (string, bool) {
	i := 0
	for i < len(s) && i <= 3 && isASCIILetter(s[i]) {
		i++
	}
	if i == 0 || i > 3 || !replyPrefixes[strings.ToLower(s[:i])] {
		return s, false
	}
	// Optional count: [2] or (2).
	if i < len(s) && (s[i] == '[' || s[i] == '(') {
		closer := byte(']')
		if s[i] == '(' {
			closer = ')'
		}
		j := i + 1
		for j < len(s) && j-i <= 6 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || j >= len(s) || s[j] != closer {
			return s, false
		}
		i = j + 1
	}
	if i < len(s) && s[i] == ' ' {
		i++
	}
	if i >= len(s) || s[i] != ':' {
		return s, false
	}
	i++
	if i < len(s) && s[i] == ' ' {
		i++
	}
	return s[i:], true
}

func isASCIILetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// foldEqual compares two runes ignoring case.
func foldEqual(a, b rune) bool {
	return a == b || unicode.ToLower(a) == unicode.ToLower(b)
}

// cutPrefixFold removes prefix from s, ignoring case, and reports whether it
// was there.
func cutPrefixFold(s, prefix string) (string, bool) {
	for prefix != "" {
		if s == "" {
			return "", false
		}
		pr, pn := utf8.DecodeRuneInString(prefix)
		sr, sn := utf8.DecodeRuneInString(s)
		if !foldEqual(pr, sr) {
			return "", false
		}
		prefix, s = prefix[pn:], s[sn:]
	}
	return s, true
}

// cutSuffixFold removes suffix from s, ignoring case, and reports whether it
// was there.
func cutSuffixFold(s, suffix string) (string, bool) {
	for suffix != "" {
		if s == "" {
			return "", false
		}
		pr, pn := utf8.DecodeLastRuneInString(suffix)
		sr, sn := utf8.DecodeLastRuneInString(s)
		if !foldEqual(pr, sr) {
			return "", false
		}
		suffix, s = suffix[:len(suffix)-pn], s[:len(s)-sn]
	}
	return s, true
}
