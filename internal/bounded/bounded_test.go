package bounded_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/bounded"
)

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		name          string
		body          string
		limit, length int64
		want          string
		tooLarge      bool
	}{
		{"short answer, length unknown", "hello", 10, -1, "hello", false},
		{"exactly the limit", "0123456789", 10, -1, "0123456789", false},
		{"one byte over the limit", "0123456789x", 10, -1, "", true},
		{"announced length within the limit", "hello", 10, 5, "hello", false},
		{"announced length over the limit is refused unread", "", 10, 11, "", true},
		{"a body longer than announced is still bounded", strings.Repeat("x", 100), 10, 5, "", true},
		{"empty", "", 10, 0, "", false},
		{"long answer, many doublings", strings.Repeat("y", 5000), 5000, -1, strings.Repeat("y", 5000), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bounded.Read(strings.NewReader(tc.body), tc.limit, tc.length)
			if tc.tooLarge {
				if !errors.Is(err, bounded.ErrTooLarge) {
					t.Fatalf("err %v, want ErrTooLarge", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// endless never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'z'
	}
	return len(p), nil
}

func TestReadStopsAnEndlessAnswer(t *testing.T) {
	_, err := bounded.Read(io.Reader(endless{}), 1<<20, -1)
	if !errors.Is(err, bounded.ErrTooLarge) {
		t.Fatalf("err %v, want ErrTooLarge", err)
	}
}
