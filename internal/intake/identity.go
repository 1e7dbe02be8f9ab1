package intake

import "strings"

// NormalizeIdentity prepares a login or email address for comparison with
// an allowlist: surrounding whitespace is removed and ASCII letters are
// lowercased. Nothing else changes: non-ASCII characters are kept as they
// are, so that a look-alike (Cyrillic "а" for Latin "a", the Kelvin sign
// for "K") stays different from the identity it imitates. Invalid UTF-8 is
// replaced by U+FFFD.
func NormalizeIdentity(s string) string {
	s = strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// SameIdentity reports whether a and b name the same person for procbot:
// equal after NormalizeIdentity, and not empty.
func SameIdentity(a, b string) bool {
	na := NormalizeIdentity(a)
	return na != "" && na == NormalizeIdentity(b)
}
