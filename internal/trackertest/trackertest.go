// Package trackertest is the contract every procbot tracker client must
// keep: one suite of subtests that runs unchanged against the GGUS (Zammad)
// simulator, the RT simulator and a real RT, so the simulators cannot drift
// from the trackers they stand in for.
//
// A client's test calls Run with a function that builds a Target. Every
// subtest makes tickets with titles of its own (a random suffix), so the
// suite can run again and again against one long-lived tracker.
package trackertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
)

// Tracker is what the suite calls: everything the daemon needs of a
// tracker, and the lists of a ticket's children and parents as the
// tracker's database records them, by which the suite checks links from
// both sides.
type Tracker interface {
	daemon.Tracker
	// SetState moves a ticket to a state, as a person would.
	SetState(ctx context.Context, id, state string) error
	Children(ctx context.Context, parentID string) ([]core.TicketRef, error)
	Parents(ctx context.Context, childID string) ([]core.TicketRef, error)
}

// Target is what the suite needs of one tracker.
type Target struct {
	// Tracker acts as procbot's own account.
	Tracker Tracker
	// Author is how Articles names procbot's account.
	Author string
	// Queue is a queue (RT) or group (Zammad) where procbot may create
	// tickets; OtherQueue is a second one.
	Queue, OtherQueue string
	// UnknownQueue names no queue or group; creating there must fail with
	// UnknownQueueErr (a core.Err* kind).
	UnknownQueue    string
	UnknownQueueErr error
	// BadCredentials is a client of the same server whose credentials the
	// server refuses.
	BadCredentials Tracker
	// SmallPages builds a client of procbot's account that asks for
	// perPage results per page.
	SmallPages func(t *testing.T, perPage int) Tracker
	// OpenState is a state of a ticket being worked on (e.g. "open");
	// TerminalState one that completes it (e.g. "resolved", "closed").
	OpenState, TerminalState string
	// InvalidState is a state name the tracker refuses; default a made-up
	// name.
	InvalidState string
	// MissingID is a ticket id no ticket has; default "999999999".
	MissingID string
	// Other, if set, is a second account of the same tracker (a person
	// answering a ticket), named OtherAuthor in Articles.
	Other       Tracker
	OtherAuthor string
	// Tick waits (or advances a simulated clock) until the tracker's clock
	// has moved at least one second past every change made so far.
	// Default: sleep 1.1 s.
	Tick func()
	// Secrets must not appear in any error text: tokens, passwords,
	// including those of BadCredentials.
	Secrets []string
}

// Run runs the contract suite against the target newTarget builds once;
// every subtest uses that one target.
func Run(t *testing.T, newTarget func(t *testing.T) Target) {
	t.Helper()
	tg := newTarget(t)
	if tg.Tracker == nil || tg.BadCredentials == nil || tg.SmallPages == nil {
		t.Fatal("trackertest: Target needs Tracker, BadCredentials and SmallPages")
	}
	if tg.Queue == "" || tg.OtherQueue == "" || tg.UnknownQueue == "" || tg.UnknownQueueErr == nil ||
		tg.OpenState == "" || tg.TerminalState == "" || tg.Author == "" {
		t.Fatal("trackertest: Target needs Queue, OtherQueue, UnknownQueue, UnknownQueueErr, OpenState, TerminalState and Author")
	}
	if tg.Tick == nil {
		tg.Tick = func() { time.Sleep(1100 * time.Millisecond) }
	}
	if tg.MissingID == "" {
		tg.MissingID = "999999999"
	}
	if tg.InvalidState == "" {
		tg.InvalidState = "no-such-state-" + Unique()
	}
	s := &suite{Target: tg}
	t.Run("create a ticket on a route", s.create)
	t.Run("changed since a cursor", s.changed)
	t.Run("changed pages past one page", s.paging)
	t.Run("public and internal notes read back", s.notes)
	t.Run("articles in order with authors", s.history)
	t.Run("articles past one page", s.longHistory)
	t.Run("articles after the last one read", s.articlesAfter)
	t.Run("a long note reads back with the same text", s.longNote)
	t.Run("link a child to a parent", s.link)
	t.Run("create a child of a missing parent", s.missingParent)
	t.Run("relate two tickets", s.relate)
	t.Run("change state", s.state)
	t.Run("reopen a closed ticket", s.reopen)
	t.Run("unknown queue", s.unknownQueue)
	t.Run("bad credentials", s.badCredentials)
	t.Run("ticket that does not exist", s.notFound)
	t.Run("invalid state", s.invalidState)
	t.Run("errors show no credentials", s.noSecrets)
}

// Unique returns a short random word for titles no other run uses.
func Unique() string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type suite struct {
	Target

	mu   sync.Mutex
	errs []error // every error the suite provoked, for the credentials check
}

func (s *suite) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// seen records an error the suite provoked and returns it.
func (s *suite) seen(err error) error {
	if err != nil {
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
	}
	return err
}

func (s *suite) newTicket(t *testing.T, queue, title string) core.Ticket {
	t.Helper()
	tk, err := s.Tracker.Create(s.ctx(t), core.NewTicket{Queue: queue, Title: title, Body: "body of " + title})
	if err != nil {
		t.Fatalf("create %q in %q: %v", title, queue, err)
	}
	if tk.Ref.ID == "" {
		t.Fatalf("create %q: no id in %+v", title, tk)
	}
	return tk
}

func (s *suite) get(t *testing.T, id string) core.Ticket {
	t.Helper()
	tk, err := s.Tracker.Get(s.ctx(t), id)
	if err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	return tk
}

func (s *suite) create(t *testing.T) {
	u := Unique()
	for _, q := range []string{s.Queue, s.OtherQueue} {
		title := "trackertest create " + u + " in " + q
		tk := s.newTicket(t, q, title)
		if tk.Ref.Tracker != s.Tracker.Name() || tk.Title != title || tk.Queue != q || tk.State == "" ||
			tk.URL == "" || tk.CreatedAt.IsZero() || tk.UpdatedAt.IsZero() {
			t.Errorf("created ticket %+v: want tracker %q, title %q, queue %q, a state, a URL and times",
				tk, s.Tracker.Name(), title, q)
		}
		got := s.get(t, tk.Ref.ID)
		if got.Creator != s.Author {
			t.Errorf("creator %q, want %q (procbot adopts only the children it opened)", got.Creator, s.Author)
		}
		for _, c := range changedTitles(t, s.ctx(t), s.Tracker, title, time.Time{}) {
			if c.Creator != s.Author {
				t.Errorf("creator in a search %q, want %q", c.Creator, s.Author)
			}
		}
		if got.Ref.ID != tk.Ref.ID || got.Ref.Number != tk.Ref.Number || got.Title != title || got.Queue != q ||
			got.State != tk.State || !got.CreatedAt.Equal(tk.CreatedAt) {
			t.Errorf("read back\n got %+v\nwant %+v", got, tk)
		}
		arts, err := s.Tracker.Articles(s.ctx(t), tk.Ref.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(arts) != 1 || strings.TrimSpace(arts[0].Body) != "body of "+title || arts[0].Author != s.Author || arts[0].Internal {
			t.Errorf("articles of a new ticket: %+v; want one public article by %q with the body", arts, s.Author)
		}
	}
}

// changedTitles calls Changed and keeps the tickets whose title has match
// (the tracker's title filter may be coarse).
func changedTitles(t *testing.T, ctx context.Context, tr Tracker, match string, since time.Time) []core.Ticket {
	t.Helper()
	all, err := tr.Changed(ctx, match, since)
	if err != nil {
		t.Fatalf("changed %q since %s: %v", match, since.Format(time.RFC3339Nano), err)
	}
	for i := 1; i < len(all); i++ {
		if all[i].UpdatedAt.Before(all[i-1].UpdatedAt) {
			t.Errorf("changed: not oldest change first: %s before %s", all[i-1].UpdatedAt, all[i].UpdatedAt)
		}
	}
	var out []core.Ticket
	for _, tk := range all {
		if strings.Contains(tk.Title, match) {
			out = append(out, tk)
		}
	}
	return out
}

func ids(ts []core.Ticket) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.Ref.ID
	}
	return out
}

func (s *suite) changed(t *testing.T) {
	ctx := s.ctx(t)
	match := "tt-changed-" + Unique()
	a := s.newTicket(t, s.Queue, "trackertest A "+match)
	b := s.newTicket(t, s.Queue, "trackertest B "+match)
	if got := ids(changedTitles(t, ctx, s.Tracker, match, time.Time{})); !slices.Equal(got, []string{a.Ref.ID, b.Ref.ID}) {
		t.Fatalf("changed since the beginning: %v, want %v", got, []string{a.Ref.ID, b.Ref.ID})
	}
	last := s.get(t, b.Ref.ID).UpdatedAt
	if ua := s.get(t, a.Ref.ID).UpdatedAt; ua.After(last) {
		last = ua
	}
	cursor := last.Add(time.Second)
	s.Tick()
	if got := changedTitles(t, ctx, s.Tracker, match, cursor); len(got) != 0 {
		t.Errorf("changed since %s (after both changes): %v", cursor, ids(got))
	}
	if err := s.Tracker.AddNote(ctx, b.Ref.ID, "a change after the cursor", false); err != nil {
		t.Fatal(err)
	}
	got := changedTitles(t, ctx, s.Tracker, match, cursor)
	if !slices.Equal(ids(got), []string{b.Ref.ID}) {
		t.Fatalf("changed since %s: %v, want only B %s (A changed before the cursor)", cursor, ids(got), b.Ref.ID)
	}
	ub := got[0].UpdatedAt
	if ub.Before(cursor) {
		t.Errorf("B updated at %s, before the cursor %s", ub, cursor)
	}
	// The cursor is inclusive: a change at exactly the cursor is returned.
	if got := changedTitles(t, ctx, s.Tracker, match, ub); !slices.Equal(ids(got), []string{b.Ref.ID}) {
		t.Errorf("changed since B's own change time %s: %v, want B", ub, ids(got))
	}
	// A change to A after B's: both, oldest change first.
	s.Tick()
	if err := s.Tracker.AddNote(ctx, a.Ref.ID, "a later change", true); err != nil {
		t.Fatal(err)
	}
	if got := ids(changedTitles(t, ctx, s.Tracker, match, cursor)); !slices.Equal(got, []string{b.Ref.ID, a.Ref.ID}) {
		t.Errorf("changed since %s after changing A: %v, want B then A", cursor, got)
	}
	if got := ids(changedTitles(t, ctx, s.Tracker, match, ub.Add(time.Second))); !slices.Equal(got, []string{a.Ref.ID}) {
		t.Errorf("changed since after B's change: %v, want only A", got)
	}
}

func (s *suite) paging(t *testing.T) {
	const per, n = 2, 5
	small := s.SmallPages(t, per)
	match := "tt-pages-" + Unique()
	var want []string
	for i := range n {
		want = append(want, s.newTicket(t, s.Queue, fmt.Sprintf("trackertest page %d %s", i, match)).Ref.ID)
	}
	got := ids(changedTitles(t, s.ctx(t), small, match, time.Time{}))
	sortedGot := slices.Clone(got)
	slices.Sort(sortedGot)
	sortedWant := slices.Clone(want)
	slices.Sort(sortedWant)
	if !slices.Equal(sortedGot, sortedWant) {
		t.Errorf("changed with %d per page: %v, want each of %v once", per, got, want)
	}
}

// longHistory reads, through small pages, the notes of a ticket whose
// history runs over several pages, the last note on the last page. A
// tracker may answer a page without a total or a next page (RT does, for
// a user who is not root) and a page may hold fewer visible items than
// asked for: every note must be read all the same.
func (s *suite) longHistory(t *testing.T) {
	const per, notes = 3, 8
	ctx := s.ctx(t)
	u := Unique()
	tk := s.newTicket(t, s.Queue, "trackertest long history "+u)
	var want []string
	for i := range notes {
		text := fmt.Sprintf("note %d of %d %s", i+1, notes, u)
		if err := s.Tracker.AddNote(ctx, tk.Ref.ID, text, i%2 == 0); err != nil {
			t.Fatal(err)
		}
		want = append(want, text)
	}
	arts, err := s.SmallPages(t, per).Articles(ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := -1
	for _, text := range want {
		_, i := find(arts, text)
		if i < 0 {
			t.Errorf("%q missing from the %d articles read with %d per page", text, len(arts), per)
			continue
		}
		if i < last {
			t.Errorf("%q read out of order", text)
		}
		last = i
	}
}

// articlesAfter reads only the articles newer than one read before, through
// small pages: exactly those, oldest first, and none when nothing is new.
func (s *suite) articlesAfter(t *testing.T) {
	ctx := s.ctx(t)
	u := Unique()
	tk := s.newTicket(t, s.Queue, "trackertest articles after "+u)
	for i := range 6 {
		if err := s.Tracker.AddNote(ctx, tk.Ref.ID, fmt.Sprintf("note %d %s", i+1, u), i%2 == 1); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.Tracker.Articles(ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 7 {
		t.Fatalf("%d articles, want the description and 6 notes: %+v", len(all), all)
	}
	small := s.SmallPages(t, 2)
	for _, from := range []int{0, 3, 6} {
		got, err := small.ArticlesAfter(ctx, tk.Ref.ID, all[from].ID)
		if err != nil {
			t.Fatal(err)
		}
		want := all[from+1:]
		if len(got) != len(want) {
			t.Errorf("after article %d: %d articles, want %d", from, len(got), len(want))
			continue
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Body != want[i].Body || got[i].Internal != want[i].Internal {
				t.Errorf("after article %d, article %d: %+v, want %+v", from, i, got[i], want[i])
			}
		}
	}
	if got, err := small.ArticlesAfter(ctx, tk.Ref.ID, 0); err != nil || len(got) != len(all) {
		t.Errorf("after 0: %d articles, %v; want all %d", len(got), err, len(all))
	}
}

// find returns the article whose body contains text.
func find(arts []core.Article, text string) (core.Article, int) {
	for i, a := range arts {
		if strings.Contains(a.Body, text) {
			return a, i
		}
	}
	return core.Article{}, -1
}

func (s *suite) notes(t *testing.T) {
	ctx := s.ctx(t)
	u := Unique()
	tk := s.newTicket(t, s.Queue, "trackertest notes "+u)
	pub, priv := "public note "+u, "internal note "+u
	if err := s.Tracker.AddNote(ctx, tk.Ref.ID, pub, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Tracker.AddNote(ctx, tk.Ref.ID, priv, false); err != nil {
		t.Fatal(err)
	}
	arts, err := s.Tracker.Articles(ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, pi := find(arts, pub)
	q, qi := find(arts, priv)
	switch {
	case pi < 0 || qi < 0:
		t.Fatalf("notes missing from %+v", arts)
	case len(arts) != 3 || pi != 1 || qi != 2:
		t.Errorf("articles %+v: want the description, the public note, the internal note", arts)
	}
	if p.Internal || !q.Internal {
		t.Errorf("public note internal=%v, internal note internal=%v", p.Internal, q.Internal)
	}
	if strings.TrimSpace(p.Body) != pub || strings.TrimSpace(q.Body) != priv {
		t.Errorf("bodies %q %q", p.Body, q.Body)
	}
	if p.Author != s.Author || q.Author != s.Author {
		t.Errorf("authors %q %q, want %q", p.Author, q.Author, s.Author)
	}
}

func (s *suite) history(t *testing.T) {
	ctx := s.ctx(t)
	u := Unique()
	tk := s.newTicket(t, s.Queue, "trackertest history "+u)
	wantAuthors := []string{s.Author}
	wantBodies := []string{"body of " + tk.Title}
	if s.Other != nil {
		body := "an answer from someone else " + u
		if err := s.Other.AddNote(ctx, tk.Ref.ID, body, true); err != nil {
			t.Fatal(err)
		}
		wantAuthors = append(wantAuthors, s.OtherAuthor)
		wantBodies = append(wantBodies, body)
	}
	for i := range 2 {
		body := fmt.Sprintf("procbot note %d %s", i, u)
		if err := s.Tracker.AddNote(ctx, tk.Ref.ID, body, i == 0); err != nil {
			t.Fatal(err)
		}
		wantAuthors = append(wantAuthors, s.Author)
		wantBodies = append(wantBodies, body)
	}
	arts, err := s.Tracker.Articles(ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(arts) != len(wantBodies) {
		t.Fatalf("%d articles %+v, want %d", len(arts), arts, len(wantBodies))
	}
	for i, a := range arts {
		if strings.TrimSpace(a.Body) != wantBodies[i] || a.Author != wantAuthors[i] {
			t.Errorf("article %d: %q by %q, want %q by %q", i, a.Body, a.Author, wantBodies[i], wantAuthors[i])
		}
		if a.CreatedAt.IsZero() {
			t.Errorf("article %d has no time", i)
		}
		if i > 0 && (a.ID <= arts[i-1].ID || a.CreatedAt.Before(arts[i-1].CreatedAt)) {
			t.Errorf("article %d (id %d, %s) not after article %d (id %d, %s)", i, a.ID, a.CreatedAt, i-1, arts[i-1].ID, arts[i-1].CreatedAt)
		}
	}
}

func refIDs(rs []core.TicketRef) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// relate: a duplicate request is related to the earlier one; relating
// twice is fine, it makes neither a child of the other, and a missing
// ticket is an error.
func (s *suite) relate(t *testing.T) {
	ctx := s.ctx(t)
	u := Unique()
	a := s.newTicket(t, s.Queue, "trackertest duplicate "+u)
	b := s.newTicket(t, s.Queue, "trackertest original "+u)
	for i := range 2 {
		if err := s.Tracker.Relate(ctx, a.Ref, b.Ref); err != nil {
			t.Fatalf("relate #%d: %v", i+1, err)
		}
	}
	for _, tk := range []core.Ticket{a, b} {
		if kids, err := s.Tracker.Children(ctx, tk.Ref.ID); err != nil || len(kids) != 0 {
			t.Errorf("children of %s after relating: %v %v", tk.Ref, kids, err)
		}
	}
	missing := core.TicketRef{Tracker: s.Tracker.Name(), ID: "99999999", Number: "99999999"}
	if err := s.seen(s.Tracker.Relate(ctx, a.Ref, missing)); err == nil {
		t.Errorf("relating to a missing ticket succeeded")
	}
}

// longNote: procbot recognises a note an earlier attempt posted by its
// text, compared with whitespace folded; the tracker must give the text
// back as it was posted, apart from whitespace.
func (s *suite) longNote(t *testing.T) {
	ctx := s.ctx(t)
	tk := s.newTicket(t, s.Queue, "trackertest long note "+Unique())
	body := "PROC19 progress for FooStack: 9 done, 1 not applicable, 3 open, 22 waiting, of 35 steps.\n\n" +
		"Open:\n  3b    ggus #10220  ARGO team with EGI Operations: Check the probe, verify its results and add it…\n" +
		"  7c    rt #7        EGI Software Provisioning Team: “quotes”, <angle brackets> & ampersands, Jürgen\n\n" +
		strings.Repeat("a long line without breaks ", 40) + "\n\nClose a child ticket when its action is done; write \"/na <reason>\" on it first.\n"
	if err := s.Tracker.AddNote(ctx, tk.Ref.ID, body, true); err != nil {
		t.Fatal(err)
	}
	arts, err := s.Tracker.Articles(ctx, tk.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	fold := func(x string) string { return strings.Join(strings.Fields(x), " ") }
	for _, a := range arts {
		if fold(a.Body) == fold(body) {
			return
		}
	}
	t.Errorf("the note did not read back with the same text; articles: %+v", arts)
}

func (s *suite) link(t *testing.T) {
	ctx := s.ctx(t)
	u := Unique()
	parent := s.newTicket(t, s.Queue, "trackertest parent "+u)
	child := s.newTicket(t, s.OtherQueue, "trackertest child "+u)
	for i := range 2 { // linking twice is not an error
		if err := s.Tracker.Link(ctx, parent.Ref, child.Ref); err != nil {
			t.Fatalf("link #%d: %v", i+1, err)
		}
	}
	kids, err := s.Tracker.Children(ctx, parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refIDs(kids), []string{child.Ref.ID}) {
		t.Errorf("children %v, want [%s] once", kids, child.Ref.ID)
	}
	for _, k := range kids {
		if k.Tracker != s.Tracker.Name() {
			t.Errorf("child ref %+v names another tracker", k)
		}
	}
	ps, err := s.Tracker.Parents(ctx, child.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(refIDs(ps), []string{parent.Ref.ID}) {
		t.Errorf("parents of the child %v, want [%s]", ps, parent.Ref.ID)
	}
	if ps, err := s.Tracker.Parents(ctx, parent.Ref.ID); err != nil || len(ps) != 0 {
		t.Errorf("parents of the parent: %v %v", ps, err)
	}
	if ks, err := s.Tracker.Children(ctx, child.Ref.ID); err != nil || len(ks) != 0 {
		t.Errorf("children of the child: %v %v", ks, err)
	}

	// A child created under the parent.
	second, err := s.Tracker.Create(ctx, core.NewTicket{Queue: s.OtherQueue, Title: "trackertest second child " + u,
		Body: "created as a child", Parent: parent.Ref})
	if err != nil {
		t.Fatal(err)
	}
	kids, err = s.Tracker.Children(ctx, parent.Ref.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{child.Ref.ID, second.Ref.ID}
	got := refIDs(kids)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("children after creating a second child: %v, want %v", got, want)
	}
	if ps, err := s.Tracker.Parents(ctx, second.Ref.ID); err != nil || !slices.Equal(refIDs(ps), []string{parent.Ref.ID}) {
		t.Errorf("parents of the second child: %v %v", ps, err)
	}
}

func (s *suite) missingParent(t *testing.T) {
	ctx := s.ctx(t)
	missing := core.TicketRef{Tracker: s.Tracker.Name(), ID: s.MissingID, Number: s.MissingID}
	tk, err := s.Tracker.Create(ctx, core.NewTicket{Queue: s.Queue, Title: "trackertest orphan " + Unique(),
		Body: "its parent does not exist", Parent: missing})
	s.seen(err)
	if err == nil {
		t.Fatalf("created %+v as child of a missing parent without an error", tk)
	}
	if !strings.Contains(err.Error(), s.MissingID) {
		t.Errorf("error does not name the parent %s: %v", s.MissingID, err)
	}
	if tk.Ref.ID != "" {
		// The ticket was made: the error must let the caller record it.
		if ps, err := s.Tracker.Parents(ctx, tk.Ref.ID); err != nil || len(ps) != 0 {
			t.Errorf("parents of the orphan: %v %v", ps, err)
		}
	}
}

func (s *suite) state(t *testing.T) {
	ctx := s.ctx(t)
	tk := s.newTicket(t, s.Queue, "trackertest state "+Unique())
	for _, st := range []string{s.OpenState, s.TerminalState, s.TerminalState} {
		if err := s.Tracker.SetState(ctx, tk.Ref.ID, st); err != nil {
			t.Fatalf("set %q: %v", st, err)
		}
		if got := s.get(t, tk.Ref.ID).State; got != st {
			t.Errorf("state %q after setting %q", got, st)
		}
	}
}

func (s *suite) reopen(t *testing.T) {
	ctx := s.ctx(t)
	tk := s.newTicket(t, s.Queue, "trackertest reopen "+Unique())
	for _, st := range []string{s.TerminalState, s.OpenState} {
		if err := s.Tracker.SetState(ctx, tk.Ref.ID, st); err != nil {
			t.Fatalf("set %q: %v", st, err)
		}
		if got := s.get(t, tk.Ref.ID).State; got != st {
			t.Errorf("state %q after setting %q", got, st)
		}
	}
	if err := s.Tracker.AddNote(ctx, tk.Ref.ID, "a note on a reopened ticket", false); err != nil {
		t.Errorf("note on a reopened ticket: %v", err)
	}
}

func (s *suite) unknownQueue(t *testing.T) {
	tk, err := s.Tracker.Create(s.ctx(t), core.NewTicket{Queue: s.UnknownQueue, Title: "trackertest nowhere " + Unique(), Body: "x"})
	s.seen(err)
	if !errors.Is(err, s.UnknownQueueErr) {
		t.Errorf("create in %q: %+v, %v; want %v", s.UnknownQueue, tk, err, s.UnknownQueueErr)
	}
	if err != nil && !strings.Contains(err.Error(), s.UnknownQueue) {
		t.Errorf("error does not name the queue: %v", err)
	}
}

func (s *suite) badCredentials(t *testing.T) {
	ctx := s.ctx(t)
	tk := s.newTicket(t, s.Queue, "trackertest credentials "+Unique())
	checks := map[string]func() error{
		"get":     func() error { _, err := s.BadCredentials.Get(ctx, tk.Ref.ID); return err },
		"changed": func() error { _, err := s.BadCredentials.Changed(ctx, "x", time.Now().Add(-time.Hour)); return err },
		"note":    func() error { return s.BadCredentials.AddNote(ctx, tk.Ref.ID, "x", false) },
		"create": func() error {
			_, err := s.BadCredentials.Create(ctx, core.NewTicket{Queue: s.Queue, Title: "trackertest refused", Body: "x"})
			return err
		},
	}
	for name, f := range checks {
		if err := s.seen(f()); !errors.Is(err, core.ErrUnauthorized) {
			t.Errorf("%s with bad credentials: %v, want %v", name, err, core.ErrUnauthorized)
		}
	}
	if arts, err := s.Tracker.Articles(ctx, tk.Ref.ID); err != nil || len(arts) != 1 {
		t.Errorf("the refused note was recorded: %+v %v", arts, err)
	}
}

func (s *suite) notFound(t *testing.T) {
	ctx := s.ctx(t)
	id := s.MissingID
	existing := s.newTicket(t, s.Queue, "trackertest lonely "+Unique())
	missing := core.TicketRef{Tracker: s.Tracker.Name(), ID: id, Number: id}
	checks := []struct {
		name string
		f    func() error
	}{
		{"get", func() error { _, err := s.Tracker.Get(ctx, id); return err }},
		{"articles", func() error { _, err := s.Tracker.Articles(ctx, id); return err }},
		{"articles after one read", func() error { _, err := s.Tracker.ArticlesAfter(ctx, id, 1); return err }},
		{"note", func() error { return s.Tracker.AddNote(ctx, id, "x", false) }},
		{"state", func() error { return s.Tracker.SetState(ctx, id, s.TerminalState) }},
		{"children", func() error { _, err := s.Tracker.Children(ctx, id); return err }},
		{"link a missing child", func() error { return s.Tracker.Link(ctx, existing.Ref, missing) }},
		{"link to a missing parent", func() error { return s.Tracker.Link(ctx, missing, existing.Ref) }},
	}
	for _, c := range checks {
		if err := s.seen(c.f()); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s of missing ticket %s: %v, want %v", c.name, id, err, core.ErrNotFound)
		}
	}
	if ks, err := s.Tracker.Children(ctx, existing.Ref.ID); err != nil || len(ks) != 0 {
		t.Errorf("children after failed links: %v %v", ks, err)
	}
}

func (s *suite) invalidState(t *testing.T) {
	ctx := s.ctx(t)
	tk := s.newTicket(t, s.Queue, "trackertest invalid state "+Unique())
	err := s.seen(s.Tracker.SetState(ctx, tk.Ref.ID, s.InvalidState))
	if !errors.Is(err, core.ErrInvalid) {
		t.Errorf("set state %q: %v, want %v", s.InvalidState, err, core.ErrInvalid)
	}
	if got := s.get(t, tk.Ref.ID).State; got != tk.State {
		t.Errorf("state %q after a refused change, want %q", got, tk.State)
	}
}

func (s *suite) noSecrets(t *testing.T) {
	s.mu.Lock()
	errs := slices.Clone(s.errs)
	s.mu.Unlock()
	if len(errs) < 5 {
		t.Fatalf("only %d errors were provoked; the subtests before did not run?", len(errs))
	}
	for _, err := range errs {
		for _, sec := range s.Secrets {
			if sec != "" && strings.Contains(err.Error(), sec) {
				t.Errorf("error shows a credential: %v", err)
			}
		}
	}
}
