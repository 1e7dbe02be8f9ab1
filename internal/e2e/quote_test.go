package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/app"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/rt"
	"github.com/procbot/procbot/internal/rt/rtsim"
)

// rtWorld is an RT, simulated or real, and procbot's token there; its
// users applicant and operator log in with "<name>-password".
type rtWorld struct {
	url, token string
	tz         *time.Location
	// user is procbot's RT account (default root); queue, if set, takes
	// the children of every unit, those routed to RT included.
	user, queue string
	// lifecycle, if set, is a queue on a lifecycle of its own (the
	// harness's Requirements): the UMD representative's steps (7b, 7d) go
	// there, with the close path that lifecycle needs.
	lifecycle string
}

// oldStatusLines is how procbot's status note asked for the approval before
// its texts stopped starting a line with a command; requests opened before
// then still carry it, so replies keep quoting it.
const oldStatusLines = "Waiting for approval: EGI Operations asks the OMB; then an operator writes\n/approve on this ticket (or /reject <reason>)."

// TestQuotedStatusNoteApprovesNothingInRT: in RT, an operator's HTML reply
// quoting the status note approves nothing; /approve written above the same
// quote approves. Against the RT simulator, and against the real RT when
// its settings are in the environment.
func TestQuotedStatusNoteApprovesNothingInRT(t *testing.T) {
	t.Run("rtsim", func(t *testing.T) {
		sim := rtsim.New(rtsim.Options{
			Queues: []string{"PROC19", "sw-rel"},
			Users: []rtsim.User{
				{Name: "root", ID: 14, Token: rtsim.DefaultToken},
				{Name: "applicant", ID: 30, Password: "applicant-password"},
				{Name: "operator", ID: 31, Password: "operator-password"},
			},
		})
		if err := sim.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sim.Close)
		quotedReplyInRT(t, rtWorld{url: sim.URL(), token: rtsim.DefaultToken, tz: time.UTC})
	})
	t.Run("real RT", func(t *testing.T) {
		url, token, tz := realRT(t)
		quotedReplyInRT(t, rtWorld{url: url, token: token, tz: tz})
	})
}

func quotedReplyInRT(t *testing.T, w rtWorld) {
	ctx := context.Background()
	p, a := procbotInRT(t, w, app.Options{})
	applicant := as(t, w.url, "applicant", w.tz)

	product := fmt.Sprintf("QuoteStack%d", time.Now().UnixNano()%1e9)
	parent := fileRequest(t, applicant, p, product)
	cycle := cycler(t, a, p, parent)
	if inst := cycle(); inst.Phase != core.PhaseAwaitingApproval {
		t.Fatalf("request is %s, want awaiting-approval (missing %v)", inst.Phase, inst.Missing)
	}
	robot, err := rt.New(rt.Config{URL: w.url, Token: w.token, TimeZone: w.tz})
	if err != nil {
		t.Fatal(err)
	}
	arts, err := robot.Articles(ctx, parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	note := ""
	for _, art := range arts {
		if strings.Contains(art.Body, "Waiting for approval") {
			note = art.Body
		}
	}
	if note == "" {
		t.Fatal("procbot posted no status note on the request")
	}
	quote := `<blockquote type="cite">` + strings.ReplaceAll(html.EscapeString(note+"\n\n"+oldStatusLines), "\n", "<br>\n") + `</blockquote>`

	htmlComment(t, w.url, "operator", parent.Ref.ID, `<p>Thanks, I will ask the OMB.</p>`+quote)
	if inst := cycle(); inst.Phase != core.PhaseAwaitingApproval || inst.Steps["approval"].Status != core.StepWaiting {
		t.Fatalf("the quoted note approved the request: phase %s, approval %s by %q", inst.Phase, inst.Steps["approval"].Status, inst.Steps["approval"].By)
	}
	htmlComment(t, w.url, "operator", parent.Ref.ID, `<p>The OMB agreed.<br>/approve</p>`+quote)
	if inst := cycle(); inst.Steps["approval"].Status != core.StepDone || inst.Steps["approval"].By != "operator" {
		t.Errorf("/approve above the quote did not approve: phase %s, approval %s by %q", inst.Phase, inst.Steps["approval"].Status, inst.Steps["approval"].By)
	}
}

// htmlComment adds an HTML comment to an RT ticket as user, as RT records a
// mail client's HTML reply.
func htmlComment(t *testing.T, url, user, id, body string) {
	t.Helper()
	payload, err := json.Marshal(map[string]string{"Content": body, "ContentType": "text/html"})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url+"/ticket/"+id+"/comment", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(user, user+"-password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		t.Fatalf("HTML comment on rt #%s as %s: HTTP %d: %s", id, user, resp.StatusCode, b)
	}
}
