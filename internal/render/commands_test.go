package render_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/digest"
	"github.com/procbot/procbot/internal/mailtext"
	"github.com/procbot/procbot/internal/procedure"
	"github.com/procbot/procbot/templates"
)

// commandLine returns the first line of text that starts with what could
// be read as a command ("/" and a letter), after white space and the marks
// a quote or list puts in front ("> ", "* ", quotation marks), or "".
func commandLine(text string) string {
	for _, line := range strings.Split(text, "\n") {
		l := strings.TrimLeft(line, " \t>*-•\"'`“‘«")
		if len(l) > 1 && l[0] == '/' && unicode.IsLetter(rune(l[1])) {
			return line
		}
	}
	return ""
}

// TestNoLineStartsWithACommand: none of procbot's own texts (notes, child
// tickets, the digest in text and HTML, the announcement mail) has a line
// that starts with a command, so that a reply that loses the quoting of one
// still commands nothing. Every template is rendered with representative
// data.
func TestNoLineStartsWithACommand(t *testing.T) {
	p, r := proc19(t)
	texts := noteTexts(t, r, p)

	mails, err := digest.NewRenderer(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	running := sample(t, p)
	waiting := running.Clone()
	waiting.Parent = core.TicketRef{Tracker: "ggus", ID: "1001", Number: "10101"}
	waiting.Key = core.InstanceKey(p.ID, waiting.Parent)
	waiting.Phase = core.PhaseAwaitingApproval
	completed := running.Clone()
	completed.Parent = core.TicketRef{Tracker: "rt", ID: "5", Number: "5"}
	completed.Key = core.InstanceKey(p.ID, completed.Parent)
	for _, id := range p.Order() {
		if st := completed.Steps[id]; !st.Status.Complete() {
			completed.Steps[id] = core.StepState{Status: core.StepDone, DoneAt: t0}
		}
	}
	completed.Phase = core.PhaseCompleted
	members := []core.Member{{Email: "ops@egi.example", Name: "EGI Operations", Role: "EGI Operations"}}
	for _, d := range digest.Build(map[string]*procedure.Procedure{p.ID: p}, []core.Instance{running, waiting, completed}, members, t0.AddDate(0, 0, 3)) {
		texts = append(texts,
			namedText{"digest subject and text for " + d.To.Email, func() (string, error) {
				subject, text, _, err := mails.Digest(d)
				return subject + "\n" + text, err
			}},
			namedText{"digest HTML for " + d.To.Email, func() (string, error) {
				_, _, html, err := mails.Digest(d)
				return mailtext.FromHTML(html), err
			}})
	}
	texts = append(texts, namedText{"announcement mail", func() (string, error) {
		subject, text, err := mails.Announcement(p, completed)
		return subject + "\n" + text, err
	}})

	for _, tc := range texts {
		t.Run(tc.name, func(t *testing.T) {
			text, err := tc.text()
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(text) == "" {
				t.Fatal("the text is empty")
			}
			if l := commandLine(text); l != "" {
				t.Errorf("a line starts with a command: %q\n%s", l, text)
			}
		})
	}
	if n := len(texts); n < 15 {
		t.Errorf("only %d texts checked", n)
	}
}
