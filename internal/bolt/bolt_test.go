package bolt_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/daemon"
)

// The store is what the daemon records and what the mail room records.
var (
	_ daemon.Store     = (*bolt.DB)(nil)
	_ daemon.MailStore = (*bolt.DB)(nil)
)

// helperEnv names the database the child process of TestHelperHoldLock holds.
const helperEnv = "PROCBOTTEST_BOLT_HOLD_DB"

func openTemp(t testing.TB) (*bolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "procbot.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// fullInstance returns an instance with every field, and every field of
// every step, map value and slice element, set to something other than its
// zero value, so that a field the store loses shows in a round trip. It is
// filled by reflection so that fields added to core.Instance are covered
// without touching this test.
func fullInstance(key string) core.Instance {
	var inst core.Instance
	fill(reflect.ValueOf(&inst).Elem(), "x")
	inst.Key = key
	return inst
}

var timeType = reflect.TypeFor[time.Time]()

// fill sets v, which must be settable, to a non-zero value derived from seed.
func fill(v reflect.Value, seed string) {
	switch {
	case v.Type() == timeType:
		// Nanoseconds and a UTC location survive JSON unchanged, so
		// reflect.DeepEqual can compare.
		sum := 0
		for _, c := range seed {
			sum = sum*31 + int(c)
		}
		v.Set(reflect.ValueOf(time.Date(2026, 4, 17, 10, 0, 0, 0, time.UTC).Add(time.Duration(sum%1e6) * 1234567 * time.Nanosecond)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(seed)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(int64(len(seed)) + 41)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(len(seed)) + 41)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(float64(len(seed)) + 0.5)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); f.CanSet() {
				fill(f, seed+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fill(s.Index(i), fmt.Sprintf("%s[%d]", seed, i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), 2)
		for i := range 2 {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, fmt.Sprintf("%s.k%d", seed, i))
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, fmt.Sprintf("%s[%d]", seed, i))
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), seed)
		v.Set(p)
	default:
		panic("fill: no rule for " + v.Type().String())
	}
}

// zeroFields lists the fields of v, recursively, that hold their zero value.
func zeroFields(v reflect.Value, path string) []string {
	if v.IsZero() {
		return []string{path}
	}
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == timeType {
			return nil
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			out = append(out, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			out = append(out, zeroFields(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()))...)
		}
	case reflect.Pointer:
		out = zeroFields(v.Elem(), path)
	}
	return out
}

func TestInstances(t *testing.T) {
	t.Run("an instance with every field set reads back unchanged", func(t *testing.T) {
		db, _ := openTemp(t)
		want := fullInstance("PROC19/ggus:1001")
		if zero := zeroFields(reflect.ValueOf(want), "Instance"); len(zero) > 0 {
			t.Fatalf("test instance leaves fields unset: %v", zero)
		}
		if err := db.PutInstance(want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.Instance(want.Key)
		if err != nil || !ok {
			t.Fatalf("Instance = ok %v, err %v", ok, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip differs:\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("a missing instance is ok=false without error", func(t *testing.T) {
		db, _ := openTemp(t)
		got, ok, err := db.Instance("PROC19/ggus:404")
		if err != nil || ok || !reflect.DeepEqual(got, core.Instance{}) {
			t.Fatalf("Instance = %+v, ok %v, err %v; want zero, false, nil", got, ok, err)
		}
	})
	t.Run("putting again replaces the instance", func(t *testing.T) {
		db, _ := openTemp(t)
		inst := fullInstance("PROC19/ggus:1001")
		if err := db.PutInstance(inst); err != nil {
			t.Fatal(err)
		}
		inst.Phase = core.PhaseCompleted
		inst.Title = "other title"
		if err := db.PutInstance(inst); err != nil {
			t.Fatal(err)
		}
		got, _, err := db.Instance(inst.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, inst) {
			t.Errorf("got %+v, want %+v", got, inst)
		}
		all, err := db.Instances()
		if err != nil || len(all) != 1 {
			t.Fatalf("Instances = %d, %v; want 1 instance", len(all), err)
		}
	})
	t.Run("listing returns every instance in key order", func(t *testing.T) {
		db, _ := openTemp(t)
		keys := []string{"PROC19/ggus:3", "PROC19/ggus:1", "PROC22/rt:2"}
		for _, k := range keys {
			if err := db.PutInstance(fullInstance(k)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := db.Instances()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, inst := range all {
			got = append(got, inst.Key)
			if !reflect.DeepEqual(inst, fullInstance(inst.Key)) {
				t.Errorf("listed %s differs from what was put", inst.Key)
			}
		}
		want := []string{"PROC19/ggus:1", "PROC19/ggus:3", "PROC22/rt:2"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("keys = %v, want %v", got, want)
		}
	})
	t.Run("listing an empty database returns nothing", func(t *testing.T) {
		db, _ := openTemp(t)
		all, err := db.Instances()
		if err != nil || len(all) != 0 {
			t.Fatalf("Instances = %v, %v; want none", all, err)
		}
	})
	t.Run("an instance without key is refused", func(t *testing.T) {
		db, _ := openTemp(t)
		err := db.PutInstance(core.Instance{Procedure: "PROC19"})
		if err == nil || !strings.Contains(err.Error(), "empty key") {
			t.Fatalf("err = %v, want an empty key error", err)
		}
	})
}

func TestCursors(t *testing.T) {
	db, _ := openTemp(t)
	ggus := ts("2026-04-17T10:00:00.123456789+02:00")
	rt := ts("2026-04-16T08:00:00Z")
	for _, tc := range []struct {
		name string
		set  map[string]time.Time
		get  string
		want time.Time
	}{
		{name: "an unset cursor is the zero time", get: core.TrackerGGUS},
		{name: "a set cursor reads back to the nanosecond", set: map[string]time.Time{core.TrackerGGUS: ggus}, get: core.TrackerGGUS, want: ggus},
		{name: "each tracker has its own cursor", set: map[string]time.Time{core.TrackerRT: rt}, get: core.TrackerGGUS, want: ggus},
		{name: "the other tracker's cursor is its own", get: core.TrackerRT, want: rt},
		{name: "setting again moves the cursor", set: map[string]time.Time{core.TrackerRT: rt.Add(time.Hour)}, get: core.TrackerRT, want: rt.Add(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for tr, at := range tc.set {
				if err := db.SetCursor(tr, at); err != nil {
					t.Fatal(err)
				}
			}
			got, err := db.Cursor(tc.get)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
				t.Errorf("Cursor(%q) = %v, want %v", tc.get, got, tc.want)
			}
		})
	}
}

func TestAudit(t *testing.T) {
	entry := func(inst, what string, sec int) core.AuditEntry {
		return core.AuditEntry{Time: ts("2026-04-17T10:00:00Z").Add(time.Duration(sec) * time.Second), Instance: inst, What: what}
	}
	t.Run("the log keeps write order and filters by instance", func(t *testing.T) {
		db, _ := openTemp(t)
		// Times run backwards so that order by time and order written differ.
		written := []core.AuditEntry{
			entry("A", "a1", 9), entry("B", "b1", 8), entry("A", "a2", 7),
			{Time: ts("2026-04-17T10:00:00Z"), Instance: "B", Step: "announce", Tracker: "rt", Ticket: "77", What: "b2", DryRun: true},
			entry("A", "a3", 5),
		}
		for _, e := range written {
			if err := db.Audit(e); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			name, instance string
			want           []core.AuditEntry
		}{
			{"empty key returns every entry", "", written},
			{"instance A only", "A", []core.AuditEntry{written[0], written[2], written[4]}},
			{"instance B only", "B", []core.AuditEntry{written[1], written[3]}},
			{"unknown instance returns nothing", "C", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := db.AuditLog(tc.instance)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("AuditLog(%q) =\n %+v\nwant\n %+v", tc.instance, got, tc.want)
				}
			})
		}
	})
	t.Run("order survives more than 256 entries", func(t *testing.T) {
		// Byte 0 of a little-endian key would sort entry 256 before entry 1.
		db, _ := openTemp(t)
		for i := range 300 {
			if err := db.Audit(entry("A", strconv.Itoa(i), 0)); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.AuditLog("A")
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range got {
			if e.What != strconv.Itoa(i) {
				t.Fatalf("entry %d is %q", i, e.What)
			}
		}
	})
	t.Run("PutInstanceAudit writes the instance and its entries together", func(t *testing.T) {
		db, _ := openTemp(t)
		inst := fullInstance("PROC19/ggus:1001")
		if err := db.PutInstanceAudit(inst,
			core.AuditEntry{Time: inst.UpdatedAt, Step: "announce", What: "opened rt #77"},
			core.AuditEntry{Time: inst.UpdatedAt, Instance: inst.Key, What: "posted note"},
		); err != nil {
			t.Fatal(err)
		}
		got, ok, err := db.Instance(inst.Key)
		if err != nil || !ok || !reflect.DeepEqual(got, inst) {
			t.Fatalf("instance not recorded: ok %v, err %v", ok, err)
		}
		log, err := db.AuditLog(inst.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) != 2 || log[0].What != "opened rt #77" || log[1].What != "posted note" {
			t.Fatalf("audit log = %+v; want both entries, the first given the instance key", log)
		}
	})
	t.Run("PutInstanceAudit writes neither when it fails", func(t *testing.T) {
		db, _ := openTemp(t)
		inst := fullInstance("PROC19/ggus:1001")
		inst.Key = ""
		if err := db.PutInstanceAudit(inst, entry("PROC19/ggus:1001", "x", 0)); err == nil {
			t.Fatal("PutInstanceAudit without key succeeded")
		}
		if all, _ := db.Instances(); len(all) != 0 {
			t.Errorf("instances recorded: %v", all)
		}
		if log, _ := db.AuditLog(""); len(log) != 0 {
			t.Errorf("audit entries recorded: %v", log)
		}
	})
	t.Run("PutInstanceAudit is seen whole by a concurrent reader", func(t *testing.T) {
		db, _ := openTemp(t)
		done := make(chan struct{})
		errc := make(chan error, 1)
		go func() {
			defer close(errc)
			for {
				select {
				case <-done:
					return
				default:
				}
				// Three reads in three transactions: with instance and
				// entry written together, the versions seen satisfy
				// before <= entries <= after.
				before, err := version(db)
				if err != nil {
					errc <- err
					return
				}
				log, err := db.AuditLog("")
				if err != nil {
					errc <- err
					return
				}
				after, err := version(db)
				if err != nil {
					errc <- err
					return
				}
				if before > len(log) || len(log) > after {
					errc <- fmt.Errorf("saw instance version %d, then %d entries, then version %d", before, len(log), after)
					return
				}
			}
		}()
		for i := 1; i <= 50; i++ {
			inst := core.Instance{Key: "K", Title: strconv.Itoa(i)}
			if err := db.PutInstanceAudit(inst, core.AuditEntry{What: strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		close(done)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		log, err := db.AuditLog("K")
		if err != nil || len(log) != 50 {
			t.Fatalf("AuditLog = %d entries, %v; want 50", len(log), err)
		}
	})
}

func TestOpen(t *testing.T) {
	t.Run("reopening after Close keeps the data and removes the sidecar", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "procbot.db")
		db, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if db.Path() != path {
			t.Errorf("Path = %q, want %q", db.Path(), path)
		}
		owner, err := os.ReadFile(path + ".owner")
		if err != nil {
			t.Fatalf("no sidecar while open: %v", err)
		}
		if want := fmt.Sprintf("pid=%d ", os.Getpid()); !strings.HasPrefix(string(owner), want) {
			t.Errorf("sidecar = %q, want it to start with %q", owner, want)
		}
		if err := db.PutInstance(fullInstance("PROC19/ggus:1001")); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path + ".owner"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("sidecar still there after Close: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		db, err = bolt.Open(path, bolt.Options{Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer db.Close()
		if _, ok, err := db.Instance("PROC19/ggus:1001"); !ok || err != nil {
			t.Errorf("instance lost across reopen: ok %v, err %v", ok, err)
		}
	})
	t.Run("the file is created with mode 0600", func(t *testing.T) {
		_, path := openTemp(t)
		for _, p := range []string{path, path + ".owner"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if m := fi.Mode().Perm(); m != 0o600 {
				t.Errorf("%s has mode %o, want 600", filepath.Base(p), m)
			}
		}
	})
	t.Run("a missing directory is refused and not created", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "nope")
		path := filepath.Join(dir, "procbot.db")
		_, err := bolt.Open(path, bolt.Options{})
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("err = %v; want it to name %s and say the directory does not exist", err, path)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("directory was created")
		}
	})
	t.Run("a newer schema version is refused", func(t *testing.T) {
		db, path := openTemp(t)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("meta")).Put([]byte("schema"), []byte(strconv.Itoa(bolt.SchemaVersion+1)))
		}); err != nil {
			t.Fatal(err)
		}
		if err := raw.Close(); err != nil {
			t.Fatal(err)
		}
		for _, ro := range []bool{false, true} {
			db, err = bolt.Open(path, bolt.Options{ReadOnly: ro})
			if err == nil {
				db.Close()
				t.Fatalf("read-only %v: Open of a schema %d database succeeded", ro, bolt.SchemaVersion+1)
			}
			if want := fmt.Sprintf("schema version %d", bolt.SchemaVersion+1); !errors.Is(err, bolt.ErrSchema) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("read-only %v: err = %v; want ErrSchema naming the file and %s", ro, err, want)
			}
		}
		if _, err := os.Stat(path + ".owner"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failed Open left the sidecar behind")
		}
	})
	t.Run("the schema version is recorded", func(t *testing.T) {
		db, path := openTemp(t)
		db.Close()
		raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		_ = raw.View(func(tx *bbolt.Tx) error {
			if v := string(tx.Bucket([]byte("meta")).Get([]byte("schema"))); v != strconv.Itoa(bolt.SchemaVersion) {
				t.Errorf("schema = %q, want %d", v, bolt.SchemaVersion)
			}
			return nil
		})
	})
	t.Run("read-only open reads, refuses writes and leaves no sidecar", func(t *testing.T) {
		db, path := openTemp(t)
		if err := db.PutInstance(fullInstance("PROC19/ggus:1001")); err != nil {
			t.Fatal(err)
		}
		db.Close()
		ro, err := bolt.Open(path, bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer ro.Close()
		if _, err := os.Stat(path + ".owner"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read-only Open wrote a sidecar")
		}
		if _, ok, err := ro.Instance("PROC19/ggus:1001"); !ok || err != nil {
			t.Errorf("Instance: ok %v, err %v", ok, err)
		}
		err = ro.PutInstance(fullInstance("PROC19/ggus:1002"))
		if err == nil || !strings.Contains(err.Error(), `bolt: put instance "PROC19/ggus:1002"`) {
			t.Errorf("PutInstance on read-only = %v; want a wrapped error", err)
		}
	})
	t.Run("read-only open of a missing file is refused", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "procbot.db")
		if _, err := bolt.Open(path, bolt.Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v; want it to name %s", err, path)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("read-only Open created the file")
		}
	})
}

// TestLockedByAnotherProcess runs TestHelperHoldLock in a child process that
// holds the database, and checks that Open here gives up in time with a
// message naming the file and, where the sidecar allows, the holder.
func TestLockedByAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "procbot.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- nil
				_, _ = io.Copy(io.Discard, stdout)
				return
			}
		}
		ready <- fmt.Errorf("child ended before it was ready: %v", sc.Err())
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	host, _ := os.Hostname()

	const timeout = 500 * time.Millisecond
	for _, tc := range []struct {
		name    string
		sidecar *string // nil: leave the child's sidecar as it is
		want    []string
		notWant []string
	}{
		{
			name: "the holder named in the sidecar is reported",
			want: []string{path, fmt.Sprintf("pid %d", pid), "on host " + host, "PROCBOT_DB_PATH"},
		},
		{
			name:    "a sidecar naming a dead process is ignored",
			sidecar: ptr(fmt.Sprintf("pid=%d host=%s since=2026-01-01T00:00:00Z\n", 1<<31-1, host)),
			want:    []string{path, "held by another process", "PROCBOT_DB_PATH"},
			notWant: []string{"held by another procbot"},
		},
		{
			name:    "without a sidecar the file is still named",
			sidecar: ptr(""),
			want:    []string{path, "held by another process", "PROCBOT_DB_PATH"},
			notWant: []string{"held by another procbot"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sidecar != nil {
				if *tc.sidecar == "" {
					if err := os.Remove(path + ".owner"); err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
				} else if err := os.WriteFile(path+".owner", []byte(*tc.sidecar), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			// Open returning at all is what shows it gives up: one that
			// waited for the lock would hang until the child lets go,
			// which it does only when this test closes its stdin.
			db, err := bolt.Open(path, bolt.Options{Timeout: timeout})
			if err == nil {
				db.Close()
				t.Fatal("Open of a held database succeeded")
			}
			t.Logf("Open: %v", err)
			if !errors.Is(err, bolt.ErrLocked) || !bolt.IsLocked(err) {
				t.Errorf("err = %v; want it to wrap ErrLocked", err)
			}
			for _, s := range tc.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q; want it to contain %q", err, s)
				}
			}
			for _, s := range tc.notWant {
				if strings.Contains(err.Error(), s) {
					t.Errorf("err = %q; want it not to contain %q", err, s)
				}
			}
		})
	}
}

// TestHelperHoldLock is not a test: run by TestLockedByAnotherProcess in a
// child process, it holds the database until its stdin closes.
func TestHelperHoldLock(t *testing.T) {
	path := os.Getenv(helperEnv)
	if path == "" {
		t.Skip("helper process for TestLockedByAnotherProcess")
	}
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	defer db.Close()
	fmt.Println("ready")
	// The parent closes stdin when done with it, or by ending.
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// version is the Title of instance "K" as a number, 0 if none.
func version(db *bolt.DB) (int, error) {
	inst, ok, err := db.Instance("K")
	if err != nil || !ok {
		return 0, err
	}
	return strconv.Atoi(inst.Title)
}

func ptr[T any](v T) *T { return &v }

func BenchmarkPutInstance(b *testing.B) {
	db, _ := openTemp(b)
	inst := fullInstance("PROC19/ggus:1001")
	b.ReportAllocs()
	for b.Loop() {
		if err := db.PutInstance(inst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInstances(b *testing.B) {
	db, _ := openTemp(b)
	for i := range 1000 {
		if err := db.PutInstance(fullInstance(fmt.Sprintf("PROC19/ggus:%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		all, err := db.Instances()
		if err != nil || len(all) != 1000 {
			b.Fatalf("Instances = %d, %v", len(all), err)
		}
	}
}

// BenchmarkLiveIndex is what a poll cycle reads of 1,000 live requests
// when 10 tickets changed: the index entries, the requests those tickets
// concern, and their records.
func BenchmarkLiveIndex(b *testing.B) {
	db, _ := openTemp(b)
	for i := range 1000 {
		inst := fullInstance(fmt.Sprintf("PROC19/ggus:%d", i))
		inst.Parent = core.TicketRef{Tracker: "ggus", ID: strconv.Itoa(i)}
		if err := db.PutInstance(inst); err != nil {
			b.Fatal(err)
		}
	}
	tickets := make([]string, 10)
	for i := range tickets {
		tickets[i] = fmt.Sprintf("ggus:%d", i*97)
	}
	b.ReportAllocs()
	for b.Loop() {
		live, err := db.Live()
		if err != nil || len(live) != 1000 {
			b.Fatalf("Live = %d, %v", len(live), err)
		}
		c, err := db.Concerned(tickets)
		if err != nil || len(c) != 10 {
			b.Fatalf("Concerned = %v, %v", c, err)
		}
		var keys []string
		for _, ks := range c {
			keys = append(keys, ks...)
		}
		insts, _, err := db.RecordsOf(keys)
		if err != nil || len(insts) != 10 {
			b.Fatalf("RecordsOf = %d, %v", len(insts), err)
		}
	}
}
