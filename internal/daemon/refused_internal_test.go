package daemon

import (
	"fmt"
	"testing"

	"github.com/procbot/procbot/internal/core"
)

// TestRefusedIsTheEffectsNotTheTrackers: what the tracker refused for the
// effect itself (no right, no such queue, a status the lifecycle does not
// allow) is counted as a refusal and retried slowly; procbot's credentials
// refused (a back-end having a bad moment answers 401 too) and a tracker
// that is down are not: every effect is tried again next cycle. A 401 on
// a create still means the ticket was not created.
func TestRefusedIsTheEffectsNotTheTrackers(t *testing.T) {
	for _, tc := range []struct {
		kind              error
		definite, refused bool
	}{
		{core.ErrInvalid, true, true},
		{core.ErrForbidden, true, true},
		{core.ErrNotFound, true, true},
		{core.ErrUnauthorized, true, false},
		{core.ErrUnavailable, false, false},
	} {
		err := fmt.Errorf("ggus: create ticket: %w", tc.kind)
		if got := definite(err); got != tc.definite {
			t.Errorf("definite(%v) = %v, want %v", tc.kind, got, tc.definite)
		}
		if got := refused(err); got != tc.refused {
			t.Errorf("refused(%v) = %v, want %v", tc.kind, got, tc.refused)
		}
	}
}
