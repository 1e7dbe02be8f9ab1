package digest

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/internal/render"
)

// Renderer turns digests and completed procedures into email texts, from
// the templates under mail/ (templates/mail/ in the embedded FS):
//
//	digest.subject.tmpl, digest.txt.tmpl   text/template, the subject and plain text
//	digest.html.tmpl                       html/template, the HTML part
//	announcement.subject.tmpl, announcement.txt.tmpl
//
// User text (product names, reasons) reaches the templates only as data:
// it is never parsed as a template, and the HTML part escapes it.
type Renderer struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var requiredText = []string{"digest.subject.tmpl", "digest.txt.tmpl", "announcement.subject.tmpl", "announcement.txt.tmpl"}

// NewRenderer parses the templates under mail/ in fsys.
func NewRenderer(fsys fs.FS) (*Renderer, error) {
	text := texttemplate.New("mail").Funcs(funcs).Option("missingkey=error")
	if _, err := text.ParseFS(fsys, "mail/*.txt.tmpl", "mail/*.subject.tmpl"); err != nil {
		return nil, fmt.Errorf("digest: parse text templates: %w", err)
	}
	for _, name := range requiredText {
		if text.Lookup(name) == nil {
			return nil, fmt.Errorf("digest: template mail/%s is missing", name)
		}
	}
	html := htmltemplate.New("mail").Funcs(htmltemplate.FuncMap(funcs)).Option("missingkey=error")
	if _, err := html.ParseFS(fsys, "mail/*.html.tmpl"); err != nil {
		return nil, fmt.Errorf("digest: parse HTML templates: %w", err)
	}
	if html.Lookup("digest.html.tmpl") == nil {
		return nil, fmt.Errorf("digest: template mail/digest.html.tmpl is missing")
	}
	return &Renderer{text: text, html: html}, nil
}

// maxSubject keeps subjects readable in a mail client's list.
const maxSubject = 200

// Digest renders one recipient's digest: the subject line, the plain text
// and the HTML part.
func (r *Renderer) Digest(d Digest) (subject, text, html string, err error) {
	if subject, err = r.execText("digest.subject.tmpl", d); err != nil {
		return "", "", "", err
	}
	if text, err = r.execText("digest.txt.tmpl", d); err != nil {
		return "", "", "", err
	}
	var b bytes.Buffer
	if err := r.html.ExecuteTemplate(&b, "digest.html.tmpl", d); err != nil {
		return "", "", "", fmt.Errorf("digest: render digest.html.tmpl for %s: %w", d.To.Email, err)
	}
	return render.Clip(maxSubject, render.Oneline(subject)), text, strings.TrimSpace(b.String()) + "\n", nil
}

// AnnouncementData is what the announcement templates see.
type AnnouncementData struct {
	Procedure *procedure.Procedure
	Request   core.Instance
	Summary   core.Summary
	// NotApplicable are the steps skipped as not applicable.
	NotApplicable []core.StepView
}

// Announcement renders the email announcing that a request completed its
// procedure (for the OMB and the broadcast editors): subject and text.
func (r *Renderer) Announcement(p *procedure.Procedure, inst core.Instance) (subject, text string, err error) {
	d := AnnouncementData{Procedure: p, Request: inst, Summary: core.Summarize(p, inst)}
	for _, s := range d.Summary.Steps {
		if s.Status == core.StepSkipped {
			d.NotApplicable = append(d.NotApplicable, s)
		}
	}
	if subject, err = r.execText("announcement.subject.tmpl", d); err != nil {
		return "", "", err
	}
	if text, err = r.execText("announcement.txt.tmpl", d); err != nil {
		return "", "", err
	}
	return render.Clip(maxSubject, render.Oneline(subject)), text, nil
}

func (r *Renderer) execText(name string, data any) (string, error) {
	var b bytes.Buffer
	if err := r.text.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("digest: render %s: %w", name, err)
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

var funcs = texttemplate.FuncMap{
	"oneline": render.Oneline,
	"clip":    render.Clip,
	"join":    strings.Join,
	"upper":   strings.ToUpper,
	"pad": func(n int, s string) string {
		if c := utf8.RuneCountInString(s); c < n {
			return s + strings.Repeat(" ", n-c)
		}
		return s
	},
	// days: "1 day", "3 days".
	"days": plural,
	// date: "Mon 16 Nov".
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("Mon 2 Jan")
	},
	// longdate: "Monday 23 November 2026".
	"longdate": func(t time.Time) string { return t.Format("Monday 2 January 2006") },
	// ticket: the step's child ticket, "(opening)" while it is being opened,
	// "" for a step without one.
	"ticket": func(s Step) string {
		switch {
		case !s.Child.IsZero():
			return s.Child.String()
		case s.Status == core.StepOpening:
			return "(opening)"
		}
		return ""
	},
	// state: how long an open step has been open and may stay open, or
	// that it waits for an approval.
	"state": func(s Step) string {
		switch {
		case s.Kind == procedure.KindApproval && s.Status == core.StepWaiting:
			return "awaiting approval"
		case s.AgeDays < 0:
			return "open"
		case s.DueDays > 0:
			return fmt.Sprintf("open %s (due after %d)", plural(s.AgeDays), s.DueDays)
		}
		return "open " + plural(s.AgeDays)
	},
	"wrap":     wrap,
	"wrapList": wrapList,
	// holdsUp lists blocked steps with their units: "1a (GOCDB team)", ….
	"holdsUp": func(bs []Blocked) []string {
		parts := make([]string, len(bs))
		for i, b := range bs {
			extra := ""
			if n := b.Others(); n > 0 {
				extra = fmt.Sprintf("; and %d more not open yet", n)
			}
			parts[i] = fmt.Sprintf("%s (%s%s)", b.Step.ID, b.Step.Unit, extra)
		}
		return parts
	},
	// byArea groups steps by area, areas in order of first appearance:
	// a compact view of what waits further.
	"byArea": func(steps []Step) []areaSteps {
		var out []areaSteps
		for _, st := range steps {
			if len(out) == 0 || out[len(out)-1].Area != st.Area {
				out = append(out, areaSteps{Area: st.Area})
			}
			out[len(out)-1].IDs = append(out[len(out)-1].IDs, st.ID)
		}
		return out
	},
	"stepIDs": func(steps []Step) string {
		ids := make([]string, len(steps))
		for i, s := range steps {
			ids[i] = s.ID
		}
		return strings.Join(ids, ", ")
	},
	"percent": func(done, total int) int {
		if total == 0 {
			return 0
		}
		return done * 100 / total
	},
}

type areaSteps struct {
	Area string
	IDs  []string
}

func plural(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// wrap folds s into lines of at most width characters where it has
// spaces. The text is taken to start after indent, and lines after the
// first start with indent.
func wrap(width int, indent, s string) string {
	return wrapTokens(width, indent, strings.Fields(s), " ")
}

// wrapList writes lead and then the items separated by ", ", folded like
// wrap but only between items.
func wrapList(width int, indent, lead string, items []string) string {
	if len(items) == 0 {
		return strings.TrimSpace(lead)
	}
	items = slices.Clone(items)
	items[0] = lead + items[0]
	return wrapTokens(width, indent, items, ", ")
}

func wrapTokens(width int, indent string, tokens []string, sep string) string {
	var b strings.Builder
	start := utf8.RuneCountInString(indent)
	n := start
	for i, w := range tokens {
		l := utf8.RuneCountInString(w)
		switch {
		case i == 0:
		case n+len(sep)+l > width:
			b.WriteString(strings.TrimRight(sep, " ") + "\n" + indent)
			n = start
		default:
			b.WriteString(sep)
			n += len(sep)
		}
		b.WriteString(w)
		n += l
	}
	return b.String()
}
