package daemon_test

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
)

// oldStatusLines is how procbot's status note asked for the approval before
// its texts stopped starting a line with a command. Requests opened before
// then still carry it, so replies keep quoting it.
const oldStatusLines = "Waiting for approval: EGI Operations asks the OMB; then an operator writes\n/approve on this ticket (or /reject <reason>)."

// statusNote returns the text of procbot's status note on the request.
func statusNote(t *testing.T, w *world, parent core.Ticket) string {
	t.Helper()
	for _, a := range w.env.GGUS.Articles(mustAtoi(t, parent.Ref.ID)) {
		if strings.Contains(a.Body, "Waiting for approval") {
			return a.Body
		}
	}
	t.Fatal("procbot posted no status note on the request")
	return ""
}

// asHTML writes plain text as a mail client's HTML: escaped, lines ended
// with <br>.
func asHTML(s string) string {
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>\n")
}

// replies are operators' mail replies that quote the status note; %s is the
// quoted note as HTML.
var replies = []struct{ name, before, after string }{
	{"blockquote", `<p>Thanks, I will ask the OMB.</p><blockquote type="cite">`, `</blockquote>`},
	{"gmail", `<div dir="ltr">Thanks, I will ask the OMB.</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Thu, 3 Dec 2026 at 10:00, procbot &lt;procbot@egi.example&gt; wrote:<br></div><blockquote class="gmail_quote" style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">`, `</blockquote></div>`},
	{"outlook", `<div><p>Thanks, I will ask the OMB.</p></div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> procbot<br><b>Sent:</b> Thursday, December 3, 2026 10:00</div><div>`, `</div>`},
	{"thunderbird", `<p>Thanks, I will ask the OMB.</p><div class="moz-cite-prefix">On 03/12/2026 10:00, procbot wrote:<br></div><blockquote type="cite">`, `</blockquote>`},
}

// TestQuotedStatusNoteApprovesNothing: an operator's HTML reply that quotes
// the status note, with its "/approve" line, approves nothing; the same
// reply with /approve written above the quote approves.
func TestQuotedStatusNoteApprovesNothing(t *testing.T) {
	for _, r := range replies {
		t.Run(r.name, func(t *testing.T) {
			w := newWorld(t, nil)
			ctx := context.Background()
			parent := w.filed(t, "FooStack")
			quoted := asHTML(statusNote(t, w, parent) + "\n\n" + oldStatusLines)
			if err := w.env.OperatorHTMLNote(ctx, parent.Ref.ID, r.before+quoted+r.after); err != nil {
				t.Fatal(err)
			}
			w.cycle(t)
			if inst := w.instance(t, parent); inst.Phase != core.PhaseAwaitingApproval || inst.Steps["approval"].Status != core.StepWaiting {
				t.Fatalf("the quoted note approved the request: phase %s, approval %s by %q", inst.Phase, inst.Steps["approval"].Status, inst.Steps["approval"].By)
			}

			mine := strings.Replace(r.before, "Thanks, I will ask the OMB.", "The OMB agreed.<br>/approve", 1)
			if err := w.env.OperatorHTMLNote(ctx, parent.Ref.ID, mine+quoted+r.after); err != nil {
				t.Fatal(err)
			}
			w.cycle(t)
			if inst := w.instance(t, parent); inst.Steps["approval"].Status != core.StepDone || inst.Steps["approval"].By != w.env.OperatorLogin() {
				t.Errorf("/approve above the quote did not approve: phase %s, approval %s by %q", inst.Phase, inst.Steps["approval"].Status, inst.Steps["approval"].By)
			}
		})
	}
}

// TestForwardedCommandApprovesNothing: "/approve" in a message that an
// operator forwards onto the request, as plain text or from Gmail, is the
// forwarded author's, not the operator's: nothing is approved.
func TestForwardedCommandApprovesNothing(t *testing.T) {
	forwards := []struct {
		name string
		post func(w *world, id string) error
	}{
		{"plain text", func(w *world, id string) error {
			return w.env.Operator.AddNote(context.Background(), id, "FYI, the chief's answer.\n\n---------- Forwarded message ---------\nFrom: Chief <chief@egi.example>\nDate: Thu, 3 Dec 2026 at 09:00\n\nFine by me once the OMB agrees.\n/approve\n", true)
		}},
		{"gmail", func(w *world, id string) error {
			return w.env.OperatorHTMLNote(context.Background(), id, `<div dir="ltr">FYI, the chief's answer.<br><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">---------- Forwarded message ---------<br>From: <strong class="gmail_sendername">Chief</strong> &lt;chief@egi.example&gt;<br>Date: Thu, 3 Dec 2026 at 09:00<br></div><br><br><div dir="ltr">Fine by me once the OMB agrees.<div>/approve</div></div></div></div>`)
		}},
	}
	for _, f := range forwards {
		t.Run(f.name, func(t *testing.T) {
			w := newWorld(t, nil)
			parent := w.filed(t, "FooStack")
			if err := f.post(w, parent.Ref.ID); err != nil {
				t.Fatal(err)
			}
			w.cycle(t)
			if inst := w.instance(t, parent); inst.Phase != core.PhaseAwaitingApproval || inst.Steps["approval"].Status != core.StepWaiting {
				t.Errorf("the forwarded /approve approved the request: phase %s, approval %s", inst.Phase, inst.Steps["approval"].Status)
			}
		})
	}
}

// TestForwardedRequestIsReadButNotObeyed: an applicant who forwards the
// request mail gets its data read (an applicant forwarding a request expects
// that), while a command inside the forwarded mail is not read at all: no
// refusal note, nothing approved.
func TestForwardedRequestIsReadButNotObeyed(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	title := strings.ReplaceAll(w.env.Proc.Request.Subject, "{product}", "FwdStack")
	body := "Please see the request below.\n\n---------- Forwarded message ---------\nFrom: Jane Doe <jane.doe@foostack.example>\nDate: Thu, 3 Dec 2026 at 09:00\n\n" +
		demo.RequestBody("FwdStack", true) + "\n/approve\n"
	parent, err := w.env.Applicant.Create(ctx, core.NewTicket{Queue: requestGroup, Title: title, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	inst := w.instance(t, parent)
	if inst.Phase != core.PhaseAwaitingApproval || len(inst.Missing) > 0 || inst.Data["motivation"] == "" {
		t.Errorf("the forwarded request was not read: phase %s, missing %+v, data %q", inst.Phase, inst.Missing, inst.Data)
	}
	for _, a := range w.env.GGUS.Articles(mustAtoi(t, parent.Ref.ID)) {
		if strings.Contains(a.Body, "only these EGI Operations") {
			t.Errorf("procbot answered the forwarded /approve as the applicant's:\n%s", a.Body)
		}
	}
}
