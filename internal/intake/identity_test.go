package intake

import "testing"

func TestNormalizeIdentity(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"surrounding space is trimmed", "  jane@example.org\t", "jane@example.org"},
		{"ASCII letters are lowercased", "Jane.Doe@Example.ORG", "jane.doe@example.org"},
		{"non-ASCII letters are kept as they are", "JOSÉ@uni.es", "josÉ@uni.es"},
		{"the Kelvin sign is not turned into k", "\u212Aate", "\u212Aate"},
		{"invalid UTF-8 is replaced", "jane\xff", "jane\uFFFD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NormalizeIdentity(tt.in); got != tt.want {
				t.Errorf("NormalizeIdentity(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSameIdentity(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"identical", "jane@example.org", "jane@example.org", true},
		{"case and spaces differ", " Jane@Example.org ", "jane@example.ORG", true},
		{"different people", "jane@example.org", "joe@example.org", false},
		{"Cyrillic а does not match Latin a", "j\u0430ne@example.org", "jane@example.org", false},
		{"the Kelvin sign does not match K", "\u212Aate@example.org", "kate@example.org", false},
		{"a zero-width space makes it different", "ja\u200Bne@example.org", "jane@example.org", false},
		{"empty identities never match", "", "  ", false},
		{"non-ASCII identities match themselves", "josé@uni.es", "JOSé@uni.es", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SameIdentity(tt.a, tt.b); got != tt.same {
				t.Errorf("SameIdentity(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
			}
		})
	}
}
