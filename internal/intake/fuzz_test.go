package intake

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// corpusDir holds the malformed and hostile requests of the corpus test
// (see its README.md); every case's subject and body seed the fuzz targets.
const corpusDir = "../../testdata/requests"

// corpusSeeds returns the subjects and bodies of the corpus's cases.
func corpusSeeds(f *testing.F) (subjects, bodies []string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no corpus under %s: %v", corpusDir, err)
	}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		head, body, ok := bytes.Cut(raw, []byte("\n---\n"))
		if !ok {
			f.Fatalf("%s: no line --- after the header", name)
		}
		subject := ""
		for _, line := range strings.Split(string(head), "\n") {
			if v, ok := strings.CutPrefix(line, "subject: "); ok {
				subject = v
			} else if v, ok := strings.CutPrefix(line, "subject-quoted: "); ok {
				if subject, err = strconv.Unquote(v); err != nil {
					f.Fatalf("%s: subject-quoted: %v", name, err)
				}
			}
		}
		if subject == "" {
			f.Fatalf("%s: no subject", name)
		}
		subjects = append(subjects, subject)
		bodies = append(bodies, string(body))
	}
	return subjects, bodies
}

func FuzzMatchSubject(f *testing.F) {
	for _, s := range []string{
		"Request for integration of FooStack to EGI Production Infrastructure (PROC19)",
		"Re: Fwd: AW: Request for integration of Foo (v2) to EGI Production Infrastructure (PROC19)",
		"RE[2]: TR : request for integration of\u00a0Ünïcødé\tto EGI production infrastructure (proc19) ",
		strings.Repeat("Re: ", 50) + "Request for integration of X to EGI Production Infrastructure (PROC19)",
		"Request for integration of X to EGI Production Infrastructure (PROC18)",
		"Request for integration of  to EGI Production Infrastructure (PROC19)",
		"Request for integration of X to EGI Production Infrastructure (PROC19) urgent",
		"Request for integration of \xff\x00 to EGI Production Infrastructure (PROC19)",
		"",
	} {
		f.Add(s)
	}
	subjects, _ := corpusSeeds(f)
	for _, s := range subjects {
		f.Add(s)
	}
	m, err := NewSubjectMatcher(proc19Subject)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		product, ok := m.Match(subject)
		if !ok {
			if product != "" {
				t.Fatalf("no match but product %q", product)
			}
			return
		}
		switch {
		case product == "":
			t.Fatal("empty product")
		case product != strings.TrimSpace(product):
			t.Fatalf("product %q is not trimmed", product)
		case utf8.RuneCountInString(product) > MaxProductLen:
			t.Fatalf("product has %d characters", utf8.RuneCountInString(product))
		case !utf8.ValidString(product):
			t.Fatalf("product %q is not valid UTF-8", product)
		case strings.Contains(product, "  "):
			t.Fatalf("product %q has runs of spaces", product)
		}
		again, ok := m.Match(strings.Replace(proc19Subject, ProductPlaceholder, product, 1))
		if !ok || again != product {
			t.Fatalf("product %q substituted into the template matches as %q, %v", product, again, ok)
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		seedTemplate,
		seedOneLine,
		"* name of Technology Product: XXX\n* Technology Provider contact: foo@\n",
		"* Technology Provider contact: jane.doe@example.org (Jane Doe)\n* kind: Cloud",
		"<ul><li>motivation: a<br>b</li></ul><style>x",
		"> /approve\nmotivation: \xff\xfe\x00\n\n/kind cloud",
		"<!-- motivation: hidden",
		"motivation: " + strings.Repeat("é ", 1500),
	} {
		f.Add(s)
	}
	_, bodies := corpusSeeds(f)
	for _, b := range bodies {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		p := ParseRequest(proc19Fields, body)
		known := map[string]bool{}
		for _, fl := range proc19Fields {
			known[fl.Key] = true
		}
		for k, v := range p.Data {
			if !utf8.ValidString(v) {
				t.Fatalf("%s = %q is not valid UTF-8", k, v)
			}
			if n := utf8.RuneCountInString(v); n > MaxValueLen {
				t.Fatalf("%s has %d characters", k, n)
			}
			if v == "" || v != strings.TrimSpace(v) {
				t.Fatalf("%s = %q is empty or not trimmed", k, v)
			}
			if strings.IndexFunc(v, func(r rune) bool { return r != '\n' && unicode.IsControl(r) }) >= 0 {
				t.Fatalf("%s = %q has control characters", k, v)
			}
		}
		for _, pr := range p.Problems {
			if !known[pr.Field] {
				t.Fatalf("problem for unknown field %q", pr.Field)
			}
		}
		// Validate agrees on everything it can see in Data.
		if len(Validate(proc19Fields, p.Data)) > len(p.Problems) {
			t.Fatalf("Validate finds more problems than ParseRequest: %+v vs %+v", Validate(proc19Fields, p.Data), p.Problems)
		}
		for _, c := range ParseCommands(body) {
			if c.Name == "" || c.Name != strings.ToLower(c.Name) || !utf8.ValidString(c.Args) {
				t.Fatalf("bad command %+v", c)
			}
		}
	})
}
