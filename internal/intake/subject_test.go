package intake

import (
	"strings"
	"testing"
)

const proc19Subject = "Request for integration of {product} to EGI Production Infrastructure (PROC19)"

func TestMatchSubject(t *testing.T) {
	tests := []struct {
		name    string
		subject string
		product string // "" means no match
	}{
		{"the exact template matches", "Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"letter case is ignored", "REQUEST FOR INTEGRATION OF FooStack TO egi production infrastructure (proc19)", "FooStack"},
		{"extra spaces are collapsed", "  Request  for integration of   Foo   Stack  to EGI Production   Infrastructure (PROC19)  ", "Foo Stack"},
		{"tabs and no-break spaces count as spaces", "Request\tfor integration of\u00a0FooStack\u00a0to EGI Production Infrastructure\t(PROC19)", "FooStack"},
		{"line breaks from folded headers count as spaces", "Request for integration of FooStack\r\n to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"trailing whitespace is ignored", "Request for integration of FooStack to EGI Production Infrastructure (PROC19) \t\n", "FooStack"},
		{"a byte order mark is ignored", "\ufeffRequest for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"Re: prefix is skipped", "Re: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"RE: prefix is skipped", "RE: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"Fwd: prefix is skipped", "Fwd: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"Fw: prefix is skipped", "FW: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"German AW: and WG: prefixes are skipped", "AW: WG: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"French TR : with a space before the colon is skipped", "TR : RE : Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"Scandinavian SV: prefix is skipped", "SV: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"counted prefixes Re[2]: and Re(3): are skipped", "Re[2]: Re(3): Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"prefixes without a space after the colon are skipped", "Re:Fwd:Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"mixed prefixes are skipped", "Re: Fwd: AW: re: Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"50 nested Re: prefixes are skipped", strings.Repeat("Re: ", 50) + "Request for integration of FooStack to EGI Production Infrastructure (PROC19)", "FooStack"},
		{"product with parentheses", "Request for integration of OpenNebula (v6.8) to EGI Production Infrastructure (PROC19)", "OpenNebula (v6.8)"},
		{"product that repeats the suffix words", "Request for integration of X to EGI Production Infrastructure (PROC19) to EGI Production Infrastructure (PROC19)", "X to EGI Production Infrastructure (PROC19)"},
		{"unicode product keeps its letters and case", "Request for integration of Ünïcødé Stäck 雲 to EGI Production Infrastructure (PROC19)", "Ünïcødé Stäck 雲"},
		{"product of 200 characters matches", "Request for integration of " + strings.Repeat("é", 200) + " to EGI Production Infrastructure (PROC19)", strings.Repeat("é", 200)},

		{"another procedure number does not match", "Request for integration of X to EGI Production Infrastructure (PROC18)", ""},
		{"trailing text does not match", "Request for integration of X to EGI Production Infrastructure (PROC19) urgent", ""},
		{"missing product does not match", "Request for integration of  to EGI Production Infrastructure (PROC19)", ""},
		{"blank product does not match", "Request for integration of \u00a0\t to EGI Production Infrastructure (PROC19)", ""},
		{"missing procedure id does not match", "Request for integration of X to EGI Production Infrastructure", ""},
		{"different wording does not match", "Request to integrate X in EGI Production Infrastructure (PROC19)", ""},
		{"leading text other than reply prefixes does not match", "[EXT] Request for integration of X to EGI Production Infrastructure (PROC19)", ""},
		{"a word that only starts like a prefix does not match", "Reply: Request for integration of X to EGI Production Infrastructure (PROC19)", ""},
		{"an empty count in a prefix does not match", "Re[]: Request for integration of X to EGI Production Infrastructure (PROC19)", ""},
		{"missing space before the procedure id does not match", "Request for integration of X to EGI Production Infrastructure(PROC19)", ""},
		{"product of 201 characters does not match", "Request for integration of " + strings.Repeat("a", 201) + " to EGI Production Infrastructure (PROC19)", ""},
		{"empty subject does not match", "", ""},
		{"only the literal parts do not match", "Request for integration of to EGI Production Infrastructure (PROC19)", ""},
	}
	m, err := NewSubjectMatcher(proc19Subject)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := m.Match(tt.subject)
			if ok != (tt.product != "") || got != tt.product {
				t.Errorf("Match(%q) = %q, %v; want %q, %v", tt.subject, got, ok, tt.product, tt.product != "")
			}
			got2, ok2 := MatchSubject(proc19Subject, tt.subject)
			if got2 != got || ok2 != ok {
				t.Errorf("MatchSubject disagrees with SubjectMatcher.Match: %q, %v", got2, ok2)
			}
		})
	}
}

func TestMatchSubjectManyPrefixesIsLinear(t *testing.T) {
	// 100 000 prefixes: a backtracking matcher would not finish; this one
	// reads each prefix once.
	subject := strings.Repeat("Re: ", 100000) + "Request for integration of FooStack to EGI Production Infrastructure (PROC19)"
	if got, ok := MatchSubject(proc19Subject, subject); !ok || got != "FooStack" {
		t.Errorf("got %q, %v", got, ok)
	}
	almost := strings.Repeat("Re: ", 100000) + "Request for integration of FooStack to EGI Production Infrastructure (PROC18)"
	if got, ok := MatchSubject(proc19Subject, almost); ok {
		t.Errorf("look-alike after many prefixes matched: %q", got)
	}
}

func TestNewSubjectMatcherRejectsBadTemplates(t *testing.T) {
	tests := []struct {
		name     string
		template string
	}{
		{"template without placeholder", "Request for integration (PROC19)"},
		{"template with two placeholders", "Request for {product} and {product} (PROC19)"},
		{"template that is only the placeholder", " {product} "},
		{"empty template", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewSubjectMatcher(tt.template); err == nil {
				t.Errorf("NewSubjectMatcher(%q) succeeded, want an error", tt.template)
			}
			if p, ok := MatchSubject(tt.template, "Request for integration (PROC19)"); ok {
				t.Errorf("MatchSubject with a bad template matched: %q", p)
			}
		})
	}
}

func TestSubjectMatcherTemplate(t *testing.T) {
	m, err := NewSubjectMatcher(proc19Subject)
	if err != nil {
		t.Fatal(err)
	}
	if m.Template() != proc19Subject {
		t.Errorf("Template() = %q", m.Template())
	}
}
