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
			list, err := decodeSearch(recorded(t, tc.file))
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
			if _, err := decodeSearch([]byte(tc.body)); err == nil {
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

func TestHTMLToText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string
	}{
		{"paragraphs become lines", "<p>one</p><p>two</p>", "one\ntwo"},
		{"br breaks a line and two leave a blank line", "a<br>b<br><br>c", "a\nb\n\nc"},
		{"entities are decoded", "Foo &amp; Bar &lt;x&gt; &quot;q&quot; caf&eacute;", `Foo & Bar <x> "q" café`},
		{"non-breaking spaces become spaces", "Name:&nbsp;Foo", "Name: Foo"},
		{"source line breaks inside text are spaces", "<p>Product\n   name: Foo</p>", "Product name: Foo"},
		{"list items and headings are lines", "<h1>T</h1><ul><li>a</li><li>b</li></ul>", "T\na\nb"},
		{"table rows are lines and cells are spaced", "<table><tr><td>k</td><td>v</td></tr><tr><td>k2</td><td>v2</td></tr></table>", "k v\nk2 v2"},
		{"script and style are dropped", "<style>p{color:red}</style>x<script>alert(1)</script>y", "xy"},
		{"inline markup is kept as text", "<div>Contact: <a href='mailto:a@b.org'>Alice</a>, <b>a@b.org</b></div>", "Contact: Alice, a@b.org"},
		{"plain text passes through", "just text", "just text"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := htmlToText(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
