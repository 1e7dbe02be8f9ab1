package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/demo"
	"github.com/procbot/procbot/internal/zammad/zammadsim"
)

// corpusDir holds the malformed and hostile requests; its README.md
// describes the format.
const corpusDir = "../../testdata/requests"

// requestGroup is the GGUS group the demo's applicant files requests in.
const requestGroup = "Operations"

// corpusCase is one file of the corpus.
type corpusCase struct {
	name          string
	subject       string
	body          string
	expect        string   // ignored, complete, duplicate, missing
	missing       []string // field keys, for expect missing
	earlier       string   // product of an earlier open request, for expect duplicate
	product       string   // expected recorded product, if set
	data          [][2]string
	dataMaxLen    [][2]string
	noteContains  []string
	noteLacks     []string
	fill          int
	gap           string // a known gap in procbot: the case is skipped while it fails
	ticket, first core.Ticket
}

func loadCorpus(t testing.TB) []*corpusCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*corpusCase
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCase(strings.TrimSuffix(filepath.Base(f), ".txt"), raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, c)
	}
	return out
}

// parseCase reads a header block, a line "---" and the body.
func parseCase(name string, raw []byte) (*corpusCase, error) {
	head, body, ok := bytes.Cut(raw, []byte("\n---\n"))
	if !ok {
		return nil, fmt.Errorf("no line --- between the header and the body")
	}
	c := &corpusCase{name: name, body: string(body)}
	unquote := func(v string) (string, error) {
		if strings.HasPrefix(v, `"`) {
			return strconv.Unquote(v)
		}
		return v, nil
	}
	for _, line := range strings.Split(string(head), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("header line %q is not \"key: value\"", line)
		}
		var err error
		switch k {
		case "subject":
			c.subject = v
		case "subject-quoted":
			c.subject, err = strconv.Unquote(v)
		case "expect":
			f := strings.Fields(v)
			if len(f) == 0 {
				return nil, fmt.Errorf("empty expect")
			}
			c.expect, c.missing = f[0], f[1:]
			sort.Strings(c.missing)
		case "earlier":
			c.earlier = v
		case "expect-product":
			c.product = v
		case "expect-data", "expect-data-max-len":
			key, val, ok := strings.Cut(v, "=")
			if !ok {
				return nil, fmt.Errorf("%s %q is not key=value", k, v)
			}
			if val, err = unquote(val); err == nil {
				if k == "expect-data" {
					c.data = append(c.data, [2]string{key, val})
				} else {
					c.dataMaxLen = append(c.dataMaxLen, [2]string{key, val})
				}
			}
		case "expect-note-contains":
			v, err = unquote(v)
			c.noteContains = append(c.noteContains, v)
		case "expect-note-lacks":
			v, err = unquote(v)
			c.noteLacks = append(c.noteLacks, v)
		case "fill":
			c.fill, err = strconv.Atoi(v)
		case "known-gap":
			c.gap = v
		default:
			return nil, fmt.Errorf("unknown header %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
	}
	switch {
	case c.subject == "":
		return nil, fmt.Errorf("no subject")
	case c.expect == "missing" && len(c.missing) == 0:
		return nil, fmt.Errorf("expect missing names no field")
	case c.expect == "duplicate" && c.earlier == "":
		return nil, fmt.Errorf("expect duplicate needs an earlier request")
	case c.expect != "missing" && len(c.missing) > 0, !map[string]bool{"ignored": true, "complete": true, "duplicate": true, "missing": true}[c.expect]:
		return nil, fmt.Errorf("unknown expectation %q", strings.Join(append([]string{c.expect}, c.missing...), " "))
	}
	if c.fill > 0 {
		c.body = filled(c.body, c.fill)
	}
	return c, nil
}

// filled replaces @FILL@ in body with words, so that the body is n bytes.
func filled(body string, n int) string {
	pad := n - len(body) + len("@FILL@")
	if pad <= 0 {
		return strings.Replace(body, "@FILL@", "", 1)
	}
	words := strings.Repeat("lorem ipsum dolor sit amet ", pad/27+1)[:pad]
	return strings.Replace(body, "@FILL@", words, 1)
}

// executed are what procbot's notes would contain had text/template run
// the corpus's template syntax; none of them is in the corpus as text.
var executed = []string{"INJECTED", "<no value>", "map["}

var templateAction = regexp.MustCompile(`\{\{.*?\}\}`)

// TestCorpus files every request of testdata/requests as the applicant,
// runs procbot's cycles and checks each case's expected outcome on the
// ticket and in procbot's record, plus what holds for every case: no
// cycle fails, no request is left unprocessed, and procbot's notes show
// user text as text: template syntax literally or not at all, no secret.
func TestCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 40 {
		t.Fatalf("the corpus has %d cases, want at least 40", len(cases))
	}
	w := newWorld(t, nil)
	ctx := context.Background()

	// The earlier requests of the duplicate cases, seen by procbot first.
	for _, c := range cases {
		if c.earlier == "" {
			continue
		}
		first, err := w.env.FileRequest(ctx, c.earlier, true)
		if err != nil {
			t.Fatal(err)
		}
		c.first = first
	}
	w.cycle(t)
	for _, c := range cases {
		tk, err := w.env.Applicant.Create(ctx, core.NewTicket{Queue: requestGroup, Title: c.subject, Body: c.body})
		if err != nil {
			t.Fatalf("%s: file the request: %v", c.name, err)
		}
		c.ticket = tk
		// The cases are about the v8 template's data; the seed's
		// prerequisites come in a follow-up, read in the same cycle.
		if err := w.env.Applicant.AddNote(ctx, tk.Ref.ID, "Also:\n"+demo.Prerequisites, true); err != nil {
			t.Fatalf("%s: answer the prerequisites: %v", c.name, err)
		}
	}
	for i := 0; i < 3; i++ {
		w.cycle(t)
	}
	if logs := w.logs.String(); strings.Contains(logs, "not advanced") || strings.Contains(logs, `"level":"error"`) {
		t.Errorf("procbot could not process every request:\n%s", logs)
	}

	secrets := []string{string(w.env.Config.GGUS.Token), string(w.env.Config.RT.Token), string(w.env.Config.RT.Password)}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var failures []string
			fail := func(format string, args ...any) { failures = append(failures, fmt.Sprintf(format, args...)) }
			defer func() {
				switch {
				case c.gap != "" && len(failures) > 0:
					t.Skipf("known gap: %s\n%s", c.gap, strings.Join(failures, "\n"))
				case c.gap != "":
					fail("the known gap %q is fixed: remove the known-gap line from the case", c.gap)
				}
				for _, f := range failures {
					t.Error(f)
				}
			}()
			id := mustAtoi(t, c.ticket.Ref.ID)
			arts := w.env.GGUS.Articles(id)
			if len(arts) == 0 {
				t.Fatal("the request has no articles")
			}
			var notes []string
			for _, a := range arts {
				if a.CreatedBy != arts[0].CreatedBy {
					notes = append(notes, a.Body)
				}
			}
			all := strings.Join(notes, "\n----\n")
			tk, _ := w.env.GGUS.Ticket(id)
			inst, recorded, err := w.app.Store.Instance(core.InstanceKey("PROC19", c.ticket.Ref))
			if err != nil {
				t.Fatal(err)
			}
			checkNotesSafe(fail, c, inst, notes, secrets)

			switch c.expect {
			case "ignored":
				if recorded {
					fail("procbot recorded a request for %q (phase %s)", inst.Product, inst.Phase)
				}
				if len(notes) > 0 || tk.State != "new" {
					fail("procbot acted on an ignored ticket: state %s, notes:\n%s", tk.State, all)
				}
				return
			}
			if !recorded {
				fail("procbot did not recognise the request (subject %q)", c.subject)
				return
			}
			if c.product != "" && inst.Product != c.product {
				fail("product = %q, want %q", inst.Product, c.product)
			}
			for _, kv := range c.data {
				if got := inst.Data[kv[0]]; got != kv[1] {
					fail("data %s = %q, want %q", kv[0], got, kv[1])
				}
			}
			for _, kv := range c.dataMaxLen {
				n, _ := strconv.Atoi(kv[1])
				if got := utf8.RuneCountInString(inst.Data[kv[0]]); got == 0 || got > n {
					fail("data %s has %d characters, want 1 to %d", kv[0], got, n)
				}
			}
			for _, s := range c.noteContains {
				if !strings.Contains(all, s) {
					fail("no note contains %q; notes:\n%s", s, all)
				}
			}
			for _, s := range c.noteLacks {
				if strings.Contains(all, s) {
					fail("a note contains %q; notes:\n%s", s, all)
				}
			}
			missingNotes := countContaining(notes, "the request needs:")
			switch c.expect {
			case "complete":
				if inst.Phase != core.PhaseAwaitingApproval || len(inst.Missing) > 0 {
					fail("phase %s, missing %+v; want awaiting approval with nothing missing (data %q)", inst.Phase, inst.Missing, inst.Data)
				}
				if missingNotes != 0 || countContaining(notes, "Waiting for approval") != 1 {
					fail("want one status note and no missing-data note; notes:\n%s", all)
				}
			case "missing":
				var got []string
				for _, p := range inst.Missing {
					got = append(got, p.Field)
				}
				sort.Strings(got)
				if inst.Phase != core.PhaseIncomplete || strings.Join(got, " ") != strings.Join(c.missing, " ") {
					fail("phase %s, missing fields %v; want incomplete, missing %v (data %q)", inst.Phase, got, c.missing, inst.Data)
				}
				if missingNotes != 1 || len(notes) != 1 {
					fail("want exactly one note, the missing-data note; got %d notes:\n%s", len(notes), all)
					return
				}
				for _, p := range inst.Missing {
					if !strings.Contains(notes[0], p.Label+": "+p.Message) {
						fail("the note does not name %q: %q:\n%s", p.Label, p.Message, notes[0])
					}
				}
				if tk.State == "closed" {
					fail("an incomplete request was closed")
				}
			case "duplicate":
				if inst.Phase != core.PhaseRejected || inst.DuplicateOf.Key() != c.first.Ref.Key() {
					fail("phase %s, duplicate of %q; want rejected as a duplicate of %s", inst.Phase, inst.DuplicateOf, c.first.Ref)
				}
				if tk.State != "closed" {
					fail("the duplicate is %s, want closed", tk.State)
				}
				if !linked(w.env.GGUS.Links(), id, mustAtoi(t, c.first.Ref.ID)) {
					fail("the duplicate is not linked to %s: %+v", c.first.Ref, w.env.GGUS.Links())
				}
				if len(notes) != 1 || !strings.Contains(notes[0], c.first.Ref.String()) {
					fail("want one note pointing to %s; notes:\n%s", c.first.Ref, all)
				}
				if orig, ok, _ := w.app.Store.Instance(core.InstanceKey("PROC19", c.first.Ref)); !ok || orig.Phase != core.PhaseAwaitingApproval {
					fail("the earlier request is %s, want still awaiting approval", orig.Phase)
				}
			}
		})
	}
}

// checkNotesSafe checks what holds for the notes on every request: no
// template output, HTML only as the user's own text, no secret.
func checkNotesSafe(fail func(string, ...any), c *corpusCase, inst core.Instance, notes, secrets []string) {
	actions := templateAction.FindAllString(c.subject+"\n"+c.body, -1)
	userText := inst.Product + "\n" + inst.Title
	for _, v := range inst.Data {
		userText += "\n" + v
	}
	for i, n := range notes {
		for _, s := range secrets {
			if s != "" && strings.Contains(n, s) {
				fail("note %d contains a secret", i)
			}
		}
		// Template syntax the case supplied appears literally or not at
		// all; nothing else looks like a template action or its output.
		rest := n
		for _, a := range actions {
			rest = strings.ReplaceAll(rest, a, "")
		}
		for _, bad := range append([]string{"{{", "}}", ".Secret"}, executed...) {
			if strings.Contains(rest, bad) {
				fail("note %d contains %q, as if user text had been executed as a template:\n%s", i, bad, n)
			}
		}
		// Markup in a note is only ever the user's own text, quoted.
		for _, tag := range []string{"<script", "onerror=", "<img"} {
			if strings.Contains(n, tag) && !strings.Contains(userText, tag) {
				fail("note %d contains %q that is not the request's own text:\n%s", i, tag, n)
			}
		}
	}
}

func countContaining(notes []string, s string) int {
	n := 0
	for _, b := range notes {
		if strings.Contains(b, s) {
			n++
		}
	}
	return n
}

func linked(links []zammadsim.Link, a, b int) bool {
	for _, l := range links {
		if l.Source == a && l.Target == b || l.Source == b && l.Target == a {
			return true
		}
	}
	return false
}

// TestRequestEditedAfterApproval: once a complete request is approved,
// procbot no longer reads prerequisite data from it. An applicant who
// changes the product or the contact in a later article changes neither
// procbot's record nor the procedure under way; the children keep the
// approved data. To change an approved request, an operator writes
// /reject <reason> and the applicant files a new one, which is then not a
// duplicate, since the first is finished.
func TestRequestEditedAfterApproval(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.approved(t)
	before := w.instance(t, parent)
	if before.Phase != core.PhaseRunning {
		t.Fatalf("request %s after approval, want running", before.Phase)
	}
	edit := "Correction, please use these:\n* name of Technology Product: EvilStack\n" +
		"* Technology Provider contact details: Mallory, mallory@evil.example\n* customers: nobody\n* motivation: changed\n* type of product: middleware\n"
	if err := w.env.Applicant.AddNote(ctx, parent.Ref.ID, edit, true); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	w.cycle(t)
	after := w.instance(t, parent)
	if after.Product != before.Product || !sameMap(after.Data, before.Data) || after.Kind != before.Kind {
		t.Errorf("the edit changed the approved request: product %q → %q, kind %q → %q, data %q → %q",
			before.Product, after.Product, before.Kind, after.Kind, before.Data, after.Data)
	}
	if after.Phase != core.PhaseRunning || after.Steps["approval"].By != before.Steps["approval"].By {
		t.Errorf("phase %s, approved by %q: the edit changed the approval", after.Phase, after.Steps["approval"].By)
	}
	for id, st := range before.Steps {
		if a := after.Steps[id]; !st.Child.IsZero() && a.Child.Key() != st.Child.Key() {
			t.Errorf("step %s: child %s became %s", id, st.Child, a.Child)
		}
	}
	for _, m := range after.TaskForce {
		if strings.Contains(m.Email, "evil") {
			t.Errorf("the edited contact joined the task force: %+v", after.TaskForce)
		}
	}
	for _, tk := range w.env.GGUS.Tickets() {
		if strings.Contains(tk.Title, "EvilStack") {
			t.Errorf("a ticket names the edited product: %q", tk.Title)
		}
	}

	// The way to change it: reject, then file again.
	if err := w.env.Operator.AddNote(ctx, parent.Ref.ID, "/reject the product changed; please file a new request", true); err != nil {
		t.Fatal(err)
	}
	w.cycle(t)
	again := w.filed(t, before.Product)
	if inst := w.instance(t, again); inst.Phase != core.PhaseAwaitingApproval || !inst.DuplicateOf.IsZero() {
		t.Errorf("the request filed after the rejection is %s (duplicate of %q), want awaiting approval", inst.Phase, inst.DuplicateOf)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// TestForgedChildMarkerIsNotAdopted: anyone can open a GGUS ticket whose
// title starts with a child marker of someone else's request. procbot must
// not take it as the child of a step, least of all of the approval: closing
// it would then complete the step without an operator.
func TestForgedChildMarkerIsNotAdopted(t *testing.T) {
	w := newWorld(t, nil)
	ctx := context.Background()
	parent := w.filed(t, "FooStack")
	var forged []core.Ticket
	for _, step := range []string{"approval", "0a"} {
		title := core.ChildMarker("PROC19", parent.Ref, step) + " FooStack: done, trust me"
		tk, err := w.env.Applicant.Create(ctx, core.NewTicket{Queue: requestGroup, Title: title, Body: "nothing to see"})
		if err != nil {
			t.Fatal(err)
		}
		forged = append(forged, tk)
	}
	w.cycle(t)
	// Someone with an agent account closes them.
	for _, tk := range forged {
		if _, err := w.env.CloseChild(ctx, tk.Ref); err != nil {
			t.Fatal(err)
		}
	}
	w.cycle(t)
	w.cycle(t)
	inst := w.instance(t, parent)
	var failures []string
	for id, st := range inst.Steps {
		for _, tk := range forged {
			if st.Child.Key() == tk.Ref.Key() {
				failures = append(failures, fmt.Sprintf("step %s took the forged ticket %s as its child (step %s)", id, tk.Ref, st.Status))
			}
		}
	}
	if inst.Phase != core.PhaseAwaitingApproval || inst.Steps["approval"].Status != core.StepWaiting {
		failures = append(failures, fmt.Sprintf("phase %s, approval %s: a forged ticket moved the request", inst.Phase, inst.Steps["approval"].Status))
	}
	for _, f := range failures {
		t.Error(f)
	}
}
