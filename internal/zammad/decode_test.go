package zammad

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// Recorded answers live in the repository's testdata/zammad.
func recorded(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "zammad", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRecordedSearchAnswers(t *testing.T) {
	updated := time.Date(2025, 6, 2, 9, 0, 0, 120e6, time.UTC)
	cases := []struct {
		name      string
		file      string
		wantGroup string
		wantState string
	}{
		{"the expanded array carries names and ignores custom attributes", "search-array-expand.json", "Operations", "open"},
		{"records of with_total_count are read", "search-with-total-count.json", "Operations", "open"},
		{"the legacy envelope is read through its assets", "search-legacy-envelope.json", "Operations", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			list, _, err := decodeSearch(recorded(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 {
				t.Fatalf("%d tickets", len(list))
			}
			got := list[0]
			if got.ID != 4711 || got.Number != "10123" || string(got.Group) != tc.wantGroup || string(got.State) != tc.wantState ||
				!got.UpdatedAt.Equal(updated) {
				t.Errorf("got %+v", got)
			}
			if got.named() != (tc.wantState != "") {
				t.Errorf("named() = %v", got.named())
			}
		})
	}
	bad := []struct {
		name string
		body string
	}{
		{"an object without a known key is refused", `{"result": []}`},
		{"an id list without the ticket in assets is refused", `{"tickets": [1], "tickets_count": 1, "assets": {}}`},
		{"a scalar is refused", `"ok"`},
		{"an empty body is refused", ``},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := decodeSearch([]byte(tc.body)); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestDecodeRecordedLinks(t *testing.T) {
	cases := []struct {
		name string
		file string
		want []core.TicketRef
	}{
		{"the parent's list names its children with numbers from assets", "links-parent.json",
			[]core.TicketRef{{Tracker: "ggus", ID: "4800", Number: "10200"}}},
		{"the child's list has no children", "links-child.json", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			la, err := decodeLinks(recorded(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got := la.children("ggus")
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestDecodeRecordedErrors(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		status int
		kind   error
		text   string
	}{
		{"a 422 lookup error is invalid with the human text", "error-422-group.json", 422, core.ErrInvalid,
			`rejected as invalid: No lookup value found for 'group': "Foo" (HTTP 422)`},
		{"a masked 500 is unavailable", "error-500-masked.json", 500, core.ErrUnavailable,
			"tracker unavailable: Error ID 6qf8TlZz: Please contact your administrator. (HTTP 500)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeError(tc.status, recorded(t, tc.file))
			if !errors.Is(err, tc.kind) || err.Error() != tc.text {
				t.Errorf("got %q (%v)", err.Error(), err.Kind)
			}
		})
	}
}

// TestHTMLArticleKeepsQuotes: an HTML article reaches procbot as text with
// the quoted part marked, so that a quoted command stays a quote.
func TestHTMLArticleKeepsQuotes(t *testing.T) {
	a := apiArticle{ContentType: "text/html", Body: "<p>Fine &amp; done.</p><blockquote type=\"cite\">Waiting for approval: an operator writes<br>/approve on this ticket</blockquote>"}
	want := "Fine & done.\n> Waiting for approval: an operator writes\n> /approve on this ticket"
	if got := a.toCore().Body; got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	plain := apiArticle{ContentType: "text/plain", Body: "<p>as typed</p>"}
	if got := plain.toCore().Body; got != plain.Body {
		t.Errorf("a plain body was changed: %q", got)
	}
}
