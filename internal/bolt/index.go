package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/core"
)

// The index of live requests, those procbot still has something to do for
// (core.Instance.Pending). It is written in the transaction that writes the
// record, so it never disagrees with the records; a finished request leaves
// it, and its record stays. A poll cycle reads the index, not the records,
// and decodes only the records an event concerns.
//
//	live     request key → JSON of core.Live
//	tickets  ticket key + "\x00" + request key → empty, for the parent and
//	         every child of each live request
var (
	bucketLive    = []byte("live")
	bucketTickets = []byte("tickets")
)

// indexSchema is the first schema version with the index: a database of an
// older version has none, and Open builds it from the records.
const indexSchema = 2

func ticketEntry(ticket, instance string) []byte {
	k := make([]byte, 0, len(ticket)+1+len(instance))
	k = append(k, ticket...)
	k = append(k, 0)
	return append(k, instance...)
}

// index brings the index up to date with inst, just written in tx.
func index(tx *bbolt.Tx, inst core.Instance) error {
	live, tickets := tx.Bucket(bucketLive), tx.Bucket(bucketTickets)
	key := []byte(inst.Key)
	if v := live.Get(key); v != nil {
		// An entry that does not decode leaves its ticket entries behind:
		// they only make a cycle read this record once more.
		var old core.Live
		_ = json.Unmarshal(v, &old)
		for _, t := range old.Tickets() {
			if t.IsZero() {
				continue
			}
			if err := tickets.Delete(ticketEntry(t.Key(), inst.Key)); err != nil {
				return fmt.Errorf("index: %w", err)
			}
		}
	}
	if !inst.Pending() {
		if err := live.Delete(key); err != nil {
			return fmt.Errorf("index: %w", err)
		}
		return nil
	}
	l := inst.Live()
	v, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("index: encode entry of %q: %w", inst.Key, err)
	}
	if err := live.Put(key, v); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	for _, t := range l.Tickets() {
		if err := tickets.Put(ticketEntry(t.Key(), inst.Key), nil); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return nil
}

// buildIndex replaces the index with one built from the records. A record
// that does not decode is left out: Records still returns it apart.
func buildIndex(tx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketLive, bucketTickets} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return fmt.Errorf("index: %w", err)
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return tx.Bucket(bucketInstances).ForEach(func(k, v []byte) error {
		inst, err := decodeInstance(k, v)
		if err != nil {
			return nil
		}
		return index(tx, inst)
	})
}

// loadLive reads the index of live requests into memory. A read-only
// database of an older layout has no index: it is computed from the
// records, and not written.
func (d *DB) loadLive() error {
	live := map[string]core.Live{}
	err := d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketLive)
		if b == nil {
			return tx.Bucket(bucketInstances).ForEach(func(k, v []byte) error {
				if inst, err := decodeInstance(k, v); err == nil && inst.Pending() {
					live[inst.Key] = inst.Live()
				}
				return nil
			})
		}
		return b.ForEach(func(k, v []byte) error {
			// An entry that does not decode stands for a request whose
			// record is to be read every cycle, until it is written again.
			var l core.Live
			if err := json.Unmarshal(v, &l); err != nil || l.Key != string(k) {
				l = core.Live{Key: string(k), Effects: true}
			}
			live[l.Key] = l
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("bolt: read the index of live requests in %s: %w", d.path, err)
	}
	d.liveMu.Lock()
	d.live, d.sorted, d.waking = live, nil, nil
	d.liveMu.Unlock()
	return nil
}

// Live returns the index entries of the requests procbot still has
// something to do for, in key order, without reading their records. The
// slice and the entries' slices are the store's: callers do not change
// them (a write replaces the slice, so one returned stays as it was).
func (d *DB) Live() ([]core.Live, error) {
	d.liveMu.Lock()
	defer d.liveMu.Unlock()
	if d.sorted == nil {
		d.sorted = make([]core.Live, 0, len(d.live))
		for _, l := range d.live {
			d.sorted = append(d.sorted, l)
		}
		sort.Slice(d.sorted, func(i, j int) bool { return d.sorted[i].Key < d.sorted[j].Key })
	}
	return d.sorted, nil
}

// wakeAt is when a live request is due although none of its tickets
// changed; the zero time for one whose effects wait.
type wakeAt struct {
	at  time.Time
	key string
}

// SetWake sets how Due finds when each live request's first timer falls
// due (core.Live.Wake); f's ok is false when it has none.
func (d *DB) SetWake(f func(core.Live) (at time.Time, ok bool)) {
	d.liveMu.Lock()
	d.wake, d.waking = f, nil
	d.liveMu.Unlock()
}

// Due returns, in key order, the keys of the live requests that are due
// at now although none of their tickets changed: effects are waiting in
// their outbox, or a timer has fallen due (SetWake). The requests are kept
// ordered by that time, in memory, so an idle cycle asks in time that does
// not grow with the number of live requests; the order is made again
// after a write, once, when it is next asked for.
func (d *DB) Due(now time.Time) ([]string, error) {
	d.liveMu.Lock()
	defer d.liveMu.Unlock()
	if d.waking == nil {
		d.waking = make([]wakeAt, 0, len(d.live))
		for _, l := range d.live {
			switch at, ok := d.wakeOf(l); {
			case l.Effects:
				d.waking = append(d.waking, wakeAt{key: l.Key})
			case ok:
				d.waking = append(d.waking, wakeAt{at: at, key: l.Key})
			}
		}
		sort.Slice(d.waking, func(i, j int) bool { return d.waking[i].at.Before(d.waking[j].at) })
	}
	n := sort.Search(len(d.waking), func(i int) bool { return d.waking[i].at.After(now) })
	keys := make([]string, n)
	for i, w := range d.waking[:n] {
		keys[i] = w.key
	}
	sort.Strings(keys)
	return keys, nil
}

func (d *DB) wakeOf(l core.Live) (time.Time, bool) {
	if d.wake == nil {
		return time.Time{}, false
	}
	return d.wake(l)
}

// Concerned returns, for each of the given ticket keys that is the parent
// or a child of live requests, the keys of those requests, sorted.
func (d *DB) Concerned(tickets []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketTickets)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for _, t := range tickets {
			prefix := ticketEntry(t, "")
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				out[t] = append(out[t], string(k[len(prefix):]))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: read the ticket index: %w", err)
	}
	return out, nil
}

// RecordsOf returns the records with the given keys that decode, in key
// order, and apart from them those that do not. A key without a record is
// left out.
func (d *DB) RecordsOf(keys []string) (insts []core.Instance, bad []core.BadRecord, err error) {
	keys = sortedUnique(keys)
	err = d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketInstances)
		if b == nil {
			return nil
		}
		for _, k := range keys {
			v := b.Get([]byte(k))
			if v == nil {
				continue
			}
			inst, err := decodeInstance([]byte(k), v)
			if err != nil {
				bad = append(bad, core.BadRecord{Key: k, Err: err})
				continue
			}
			insts = append(insts, inst)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("bolt: read instances: %w", err)
	}
	return insts, bad, nil
}

// Known reports which of the given keys have a record, finished or not,
// decoding or not, without decoding any.
func (d *DB) Known(keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketInstances)
		if b == nil {
			return nil
		}
		for _, k := range keys {
			if b.Get([]byte(k)) != nil {
				out[k] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: look up instances: %w", err)
	}
	return out, nil
}

func sortedUnique(keys []string) []string {
	keys = append([]string(nil), keys...)
	sort.Strings(keys)
	out := keys[:0]
	for i, k := range keys {
		if i == 0 || k != keys[i-1] {
			out = append(out, k)
		}
	}
	return out
}
