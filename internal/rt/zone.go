package rt

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// RT answers times in UTC but reads the date literals of TicketSQL in its
// own $Timezone, which REST 2.0 does not tell. A wrong Config.TimeZone is
// silent: with RT west of the zone procbot assumes, a poll asks from a
// moment that is later than meant and misses changes for as long as the
// difference; east of it, it reads too much. So the zone is checked
// against RT itself: a ticket whose LastUpdated procbot read (in UTC) is
// searched for with that time written as a literal in the zone it
// assumes; RT finds it after exactly the literal that names its own zone.

// ZoneError says that RT reads date literals in another zone than the
// client was configured with.
type ZoneError struct {
	// Offset is RT's offset from UTC at At, found from RT's answers.
	Offset time.Duration
	// Configured is the zone the client writes literals in.
	Configured *time.Location
	At         time.Time
}

func (e *ZoneError) Error() string {
	name := e.Configured.String()
	return fmt.Sprintf("RT reads TicketSQL times as UTC%s, not in %s (UTC%s on %s)",
		OffsetText(e.Offset), name, OffsetText(zoneOffset(e.Configured, e.At)), e.At.UTC().Format("2006-01-02"))
}

// OffsetText writes an offset from UTC as RT and ISO 8601 do: "+01:00".
func OffsetText(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	return fmt.Sprintf("%s%02d:%02d", sign, int(d.Hours()), int(d.Minutes())%60)
}

func zoneOffset(loc *time.Location, at time.Time) time.Duration {
	_, secs := at.In(loc).Zone()
	return time.Duration(secs) * time.Second
}

// CheckTimeZone proves the configured zone right on the ticket procbot
// may see that changed longest ago, with two searches. It returns a *ZoneError
// naming RT's offset when RT reads literals in another zone, and checked
// false (with no error) when procbot may see no ticket yet.
func (c *Client) CheckTimeZone(ctx context.Context) (checked bool, err error) {
	id, at, ok, err := c.lastChanged(ctx)
	if err != nil || !ok {
		return false, err
	}
	// The ticket may change while it is searched for (a person, another
	// procbot): the answer counts only if its LastUpdated stayed.
	for range 3 {
		checked, err := c.checkZoneOn(ctx, id, at)
		w, rerr := c.getRaw(ctx, id, "check RT's time zone: re-read ticket "+id)
		if rerr != nil {
			return false, rerr
		}
		now := time.Time(w.LastUpdated)
		if now.Equal(at) {
			return checked, err
		}
		at = now
	}
	return false, nil // it keeps changing: checked another time
}

// checkZoneOn proves the configured zone on ticket id, last changed at at.
func (c *Client) checkZoneOn(ctx context.Context, id string, at time.Time) (checked bool, err error) {
	want := zoneOffset(c.tz, at)
	right, err := c.zoneIsAtMost(ctx, id, at, want)
	if err != nil {
		return false, err
	}
	below := false
	if right {
		if below, err = c.zoneIsAtMost(ctx, id, at, want-time.Minute); err != nil {
			return false, err
		}
	}
	if right && !below {
		return true, nil
	}
	// Wrong: find RT's offset, to the minute, between UTC-14:00 and +14:00.
	lo, hi := -14*60, 14*60 // RT's offset in minutes is in (lo, hi]
	for lo+1 < hi {
		mid := (lo + hi) / 2
		atMost, err := c.zoneIsAtMost(ctx, id, at, time.Duration(mid)*time.Minute)
		if err != nil {
			return false, err
		}
		if atMost {
			hi = mid
		} else {
			lo = mid
		}
	}
	return true, &ZoneError{Offset: time.Duration(hi) * time.Minute, Configured: c.tz, At: at}
}

// lastChanged finds the ticket procbot may see that changed longest ago:
// the least likely to change while it is searched for.
func (c *Client) lastChanged(ctx context.Context) (id string, at time.Time, ok bool, err error) {
	const op = "find a ticket to check RT's time zone with"
	q := url.Values{}
	q.Set("query", "id > 0")
	q.Set("orderby", "LastUpdated")
	q.Set("order", "ASC")
	q.Set("per_page", "1")
	q.Set("fields", "LastUpdated")
	resp, err := c.do(ctx, http.MethodGet, "/tickets", q, nil, op)
	if err != nil {
		return "", time.Time{}, false, err
	}
	var env envelope
	if err := c.decode(resp, &env, op); err != nil {
		return "", time.Time{}, false, err
	}
	var items []struct {
		ID          flexID `json:"id"`
		LastUpdated rtTime `json:"LastUpdated"`
	}
	if len(env.Items) > 0 {
		if err := json.Unmarshal(env.Items, &items); err != nil {
			return "", time.Time{}, false, c.fail(op, core.ErrUnavailable, "items are not a list: "+err.Error(), resp.StatusCode())
		}
	}
	if len(items) == 0 || time.Time(items[0].LastUpdated).IsZero() {
		return "", time.Time{}, false, nil
	}
	return string(items[0].ID), time.Time(items[0].LastUpdated), true, nil
}

// zoneIsAtMost reports whether RT's offset from UTC is at most off: the
// ticket, last changed at at, is then not found as changed after the
// literal that names at in a zone off ahead of UTC.
func (c *Client) zoneIsAtMost(ctx context.Context, id string, at time.Time, off time.Duration) (bool, error) {
	op := "check RT's time zone on ticket " + id
	n, err := ticketID(id)
	if err != nil {
		return false, c.fail(op, core.ErrUnavailable, fmt.Sprintf("ticket id %q: %v", id, err), 0)
	}
	literal := at.UTC().Add(off).Format("2006-01-02 15:04:05")
	q := url.Values{}
	q.Set("query", "id = "+strconv.FormatInt(n, 10)+" AND LastUpdated > '"+literal+"'")
	q.Set("per_page", "1")
	resp, err := c.do(ctx, http.MethodGet, "/tickets", q, nil, op)
	if err != nil {
		return false, err
	}
	var env envelope
	if err := c.decode(resp, &env, op); err != nil {
		return false, err
	}
	var items []json.RawMessage
	if len(env.Items) > 0 {
		if err := json.Unmarshal(env.Items, &items); err != nil {
			return false, c.fail(op, core.ErrUnavailable, "items are not a list: "+err.Error(), resp.StatusCode())
		}
	}
	// Found: at is after the instant RT reads the literal as, at - (RT's
	// offset - off) < at, so RT's offset is above off.
	return len(items) == 0, nil
}
