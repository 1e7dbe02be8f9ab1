package bolt_test

import (
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
)

// request returns a running request on GGUS ticket parent with one open
// child per given ticket id, on step "s<id>".
func request(parent string, children ...string) core.Instance {
	ref := core.TicketRef{Tracker: "ggus", ID: parent, Number: parent}
	inst := core.Instance{Key: core.InstanceKey("PROC19", ref), Procedure: "PROC19", Parent: ref,
		Product: "Product " + parent, Phase: core.PhaseRunning, Steps: map[string]core.StepState{}}
	for _, c := range children {
		inst.Steps["s"+c] = core.StepState{Status: core.StepOpen, Child: core.TicketRef{Tracker: "rt", ID: c},
			OpenedAt: time.Date(2026, 4, 17, 10, 0, 0, 0, time.UTC)}
	}
	return inst
}

func liveKeys(t *testing.T, db *bolt.DB) []string {
	t.Helper()
	live, err := db.Live()
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	var keys []string
	for _, l := range live {
		keys = append(keys, l.Key)
	}
	return keys
}

func concerned(t *testing.T, db *bolt.DB, tickets ...string) map[string][]string {
	t.Helper()
	got, err := db.Concerned(tickets)
	if err != nil {
		t.Fatalf("Concerned: %v", err)
	}
	return got
}

func TestIndex(t *testing.T) {
	a, b := request("1001", "7", "8"), request("1002", "9")
	for _, tc := range []struct {
		name    string
		puts    func() []core.Instance
		live    []string
		tickets []string            // asked of Concerned
		want    map[string][]string // Concerned's answer
	}{
		{"a live request is indexed by its parent and each child",
			func() []core.Instance { return []core.Instance{a, b} },
			[]string{a.Key, b.Key}, []string{"ggus:1001", "rt:7", "rt:8", "rt:9", "ggus:1002"},
			map[string][]string{"ggus:1001": {a.Key}, "rt:7": {a.Key}, "rt:8": {a.Key}, "rt:9": {b.Key}, "ggus:1002": {b.Key}}},
		{"a ticket no live request has concerns none",
			func() []core.Instance { return []core.Instance{a} },
			[]string{a.Key}, []string{"ggus:1003", "rt:1001", "ggus:100"}, map[string][]string{}},
		{"a finished request leaves the index",
			func() []core.Instance {
				done := a
				done.Phase = core.PhaseCompleted
				return []core.Instance{a, b, done}
			},
			[]string{b.Key}, []string{"ggus:1001", "rt:7", "rt:9"}, map[string][]string{"rt:9": {b.Key}}},
		{"a finished request with effects in its outbox stays until they are carried out",
			func() []core.Instance {
				done := a
				done.Phase = core.PhaseCompleted
				done.Outbox = []core.Action{{Kind: core.ActClose, Ticket: a.Parent}}
				return []core.Instance{done}
			},
			[]string{a.Key}, []string{"ggus:1001"}, map[string][]string{"ggus:1001": {a.Key}}},
		{"a child no longer recorded leaves the index, a new one enters it",
			func() []core.Instance { return []core.Instance{a, request("1001", "7", "10")} },
			[]string{a.Key}, []string{"rt:8", "rt:10"}, map[string][]string{"rt:10": {a.Key}}},
		{"a ticket two requests share concerns both",
			func() []core.Instance {
				other := request("1001", "7")
				other.Procedure, other.Key = "PROC22", core.InstanceKey("PROC22", other.Parent)
				return []core.Instance{a, other}
			},
			[]string{a.Key, "PROC22/ggus:1001"}, []string{"ggus:1001", "rt:8"},
			map[string][]string{"ggus:1001": {a.Key, "PROC22/ggus:1001"}, "rt:8": {a.Key}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t)
			for _, inst := range tc.puts() {
				if err := db.PutInstance(inst); err != nil {
					t.Fatal(err)
				}
			}
			if got := liveKeys(t, db); !slices.Equal(got, tc.live) {
				t.Errorf("Live = %v, want %v", got, tc.live)
			}
			if got := concerned(t, db, tc.tickets...); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Concerned(%v) = %v, want %v", tc.tickets, got, tc.want)
			}
		})
	}

	t.Run("a finished request's record stays and is known", func(t *testing.T) {
		db, _ := openTemp(t)
		done := a
		done.Phase = core.PhaseCompleted
		if err := db.PutInstance(done); err != nil {
			t.Fatal(err)
		}
		insts, bad, err := db.RecordsOf([]string{a.Key, "PROC19/ggus:404"})
		if err != nil || len(bad) != 0 || len(insts) != 1 || insts[0].Phase != core.PhaseCompleted {
			t.Fatalf("RecordsOf = %v, %v, %v; want the finished record alone", insts, bad, err)
		}
		known, err := db.Known([]string{a.Key, "PROC19/ggus:404"})
		if err != nil || !reflect.DeepEqual(known, map[string]bool{a.Key: true}) {
			t.Errorf("Known = %v, %v; want only %s", known, err, a.Key)
		}
	})

	t.Run("the entry tells effects waiting and open steps", func(t *testing.T) {
		db, _ := openTemp(t)
		opening := request("1003", "11")
		opening.Steps["s12"] = core.StepState{Status: core.StepOpening}
		for _, inst := range []core.Instance{a, opening} {
			if err := db.PutInstance(inst); err != nil {
				t.Fatal(err)
			}
		}
		live, err := db.Live()
		if err != nil || len(live) != 2 {
			t.Fatalf("Live = %v, %v", live, err)
		}
		if live[0].Effects || !live[1].Effects {
			t.Errorf("Effects = %v, %v; want only the request opening a child to have effects waiting", live[0].Effects, live[1].Effects)
		}
		if len(live[0].Open) != 2 || len(live[1].Open) != 1 {
			t.Errorf("open steps: %v and %v; want 2 and 1", live[0].Open, live[1].Open)
		}
		if live[0].Product != a.Product || live[0].Parent != a.Parent {
			t.Errorf("entry %+v does not carry the product and parent of %s", live[0], a.Key)
		}
	})

	t.Run("a damaged record a live ticket concerns is returned apart", func(t *testing.T) {
		db, path := openTemp(t)
		for _, inst := range []core.Instance{a, b} {
			if err := db.PutInstance(inst); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		putRaw(t, path, a.Key, []byte(`{"key":`))
		db, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		keys := concerned(t, db, "rt:7", "rt:9")
		insts, bad, err := db.RecordsOf(append(keys["rt:7"], keys["rt:9"]...))
		if err != nil || len(insts) != 1 || insts[0].Key != b.Key || len(bad) != 1 || bad[0].Key != a.Key {
			t.Fatalf("RecordsOf = %v, %v, %v; want %s, and %s apart", insts, bad, err, b.Key, a.Key)
		}
	})
}

// TestIndexBuiltOnOpen: a database written before the index existed
// (schema version 1: no index buckets) opens, gets its index built from
// the records, and keeps the records as they were.
func TestIndexBuiltOnOpen(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alter func(tx *bbolt.Tx) error
	}{
		{"schema 1, without the index", func(tx *bbolt.Tx) error {
			for _, name := range []string{"live", "tickets"} {
				if err := tx.DeleteBucket([]byte(name)); err != nil {
					return err
				}
			}
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1"))
		}},
		{"schema 1, with an index an older procbot let go stale", func(tx *bbolt.Tx) error {
			if err := tx.Bucket([]byte("live")).Delete([]byte("PROC19/ggus:1002")); err != nil {
				return err
			}
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte("1"))
		}},
		{"the index lost", func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("tickets")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, path := openTemp(t)
			done := request("1003", "12")
			done.Phase = core.PhaseRejected
			for _, inst := range []core.Instance{request("1001", "7", "8"), request("1002", "9"), done, fullInstance("PROC22/rt:5")} {
				if err := db.PutInstance(inst); err != nil {
					t.Fatal(err)
				}
			}
			before, bad, err := db.Records()
			if err != nil || len(bad) != 0 {
				t.Fatal(err, bad)
			}
			db.Close()
			raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if err := raw.Update(tc.alter); err != nil {
				t.Fatal(err)
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}

			db, err = bolt.Open(path, bolt.Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer db.Close()
			if got, want := liveKeys(t, db), []string{"PROC19/ggus:1001", "PROC19/ggus:1002", "PROC22/rt:5"}; !slices.Equal(got, want) {
				t.Errorf("Live = %v, want %v", got, want)
			}
			want := map[string][]string{"ggus:1001": {"PROC19/ggus:1001"}, "rt:8": {"PROC19/ggus:1001"}, "rt:9": {"PROC19/ggus:1002"}}
			if got := concerned(t, db, "ggus:1001", "rt:8", "rt:9", "rt:12", "ggus:1003"); !reflect.DeepEqual(got, want) {
				t.Errorf("Concerned = %v, want %v", got, want)
			}
			after, bad, err := db.Records()
			if err != nil || len(bad) != 0 || !reflect.DeepEqual(after, before) {
				t.Errorf("records changed by building the index: %v, %v", err, bad)
			}
			db.Close()
			raw, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			_ = raw.View(func(tx *bbolt.Tx) error {
				if v := string(tx.Bucket([]byte("meta")).Get([]byte("schema"))); v != strconv.Itoa(bolt.SchemaVersion) {
					t.Errorf("schema = %q after building the index, want %d", v, bolt.SchemaVersion)
				}
				return nil
			})
		})
	}
}

// TestDue: the requests due without a change of their tickets are those
// whose effects wait and those whose first timer is at or before now, also
// after a write moved a request's timer.
func TestDue(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "procbot.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	// A request's timer falls due a day after its child was opened.
	db.SetWake(func(l core.Live) (time.Time, bool) {
		var at time.Time
		for _, o := range l.Open {
			if w := o.OpenedAt.Add(24 * time.Hour); at.IsZero() || w.Before(at) {
				at = w
			}
		}
		return at, !at.IsZero()
	})
	opened := func(parent string, at time.Time) core.Instance {
		inst := request(parent, "7"+parent)
		st := inst.Steps["s7"+parent]
		st.OpenedAt = at
		inst.Steps["s7"+parent] = st
		return inst
	}
	early, late := opened("1001", t0.Add(-30*time.Hour)), opened("1002", t0.Add(-24*time.Hour))
	later := opened("1003", t0.Add(-23*time.Hour))
	waiting := request("1004")
	waiting.Outbox = []core.Action{{Kind: core.ActNote, Note: core.NoteStatus, Ticket: waiting.Parent}}
	for _, inst := range []core.Instance{later, waiting, late, early} {
		if err := db.PutInstanceAudit(inst); err != nil {
			t.Fatal(err)
		}
	}
	due := func(now time.Time) []string {
		t.Helper()
		keys, err := db.Due(now)
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	want := []string{early.Key, late.Key, waiting.Key} // key order; 1003 an hour from now
	if got := due(t0); !slices.Equal(got, want) {
		t.Errorf("Due(t0) = %v, want %v", got, want)
	}
	if got := due(t0.Add(-7 * time.Hour)); !slices.Equal(got, []string{waiting.Key}) {
		t.Errorf("Due(t0-7h) = %v, want only the one with effects %v", got, waiting.Key)
	}
	// Reminded: the early one's timer moves past t0; the one with effects
	// carried them out.
	st := early.Steps["s71001"]
	st.OpenedAt = t0
	early.Steps["s71001"] = st
	waiting.Outbox = nil
	for _, inst := range []core.Instance{early, waiting} {
		if err := db.PutInstanceAudit(inst); err != nil {
			t.Fatal(err)
		}
	}
	if got := due(t0); !slices.Equal(got, []string{late.Key}) {
		t.Errorf("after the writes, Due(t0) = %v, want %v", got, []string{late.Key})
	}
	if got := due(t0.Add(time.Hour)); !slices.Equal(got, []string{late.Key, later.Key}) {
		t.Errorf("Due(t0+1h) = %v, want %v", got, []string{late.Key, later.Key})
	}
}
