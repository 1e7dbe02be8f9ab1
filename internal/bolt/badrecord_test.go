package bolt_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
)

// putRaw writes value under key in the instances bucket, bypassing the
// store, as damage or an old procbot writing another layout would.
func putRaw(t *testing.T, path, key string, value []byte) {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Update(func(tx *bbolt.Tx) error { return tx.Bucket([]byte("instances")).Put([]byte(key), value) }); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBadRecords(t *testing.T) {
	const badKey = "PROC19/ggus:1002"
	for _, tc := range []struct {
		name  string
		value string
		why   string // in the error
	}{
		{"bytes that are not JSON", "\x00\xffnot json", "invalid character"},
		{"a field of the wrong type", `{"key":"` + badKey + `","steps":"not a map"}`, "cannot unmarshal"},
		{"JSON cut short", `{"key":"` + badKey + `","steps":{`, "unexpected end of JSON input"},
		{"an empty value", "", "unexpected end of JSON input"},
		{"a record naming another key", `{"key":"PROC19/ggus:9999","procedure":"PROC19"}`, `names "PROC19/ggus:9999"`},
		{"a record without key", `{}`, `names ""`},
	} {
		t.Run(tc.name+" is set aside and the good records are returned", func(t *testing.T) {
			db, path := openTemp(t)
			good := []string{"PROC19/ggus:1001", "PROC19/ggus:1003", "PROC22/rt:7"}
			for _, k := range good {
				if err := db.PutInstance(fullInstance(k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			putRaw(t, path, badKey, []byte(tc.value))
			db, err := bolt.Open(path, bolt.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()

			insts, bad, err := db.Records()
			if err != nil {
				t.Fatalf("Records: %v", err)
			}
			var keys []string
			for _, inst := range insts {
				keys = append(keys, inst.Key)
				if !reflect.DeepEqual(inst, fullInstance(inst.Key)) {
					t.Errorf("%s differs from what was put", inst.Key)
				}
			}
			if !reflect.DeepEqual(keys, good) {
				t.Errorf("Records returned %v, want %v", keys, good)
			}
			if len(bad) != 1 || bad[0].Key != badKey || bad[0].Err == nil || !strings.Contains(bad[0].Err.Error(), tc.why) {
				t.Fatalf("set aside %v; want %s, with an error containing %q", bad, badKey, tc.why)
			}
			if msg := bad[0].Error(); !strings.Contains(msg, badKey) || !strings.Contains(msg, tc.why) {
				t.Errorf("BadRecord.Error() = %q; want the key and why", msg)
			}

			all, err := db.Instances()
			if err != nil {
				t.Fatalf("Instances: %v", err)
			}
			if len(all) != len(good) {
				t.Errorf("Instances returned %d records, want the %d good ones", len(all), len(good))
			}
			listed, err := db.BadRecords()
			if err != nil || !reflect.DeepEqual(listed, bad) {
				t.Errorf("BadRecords = %v, %v; want %v", listed, err, bad)
			}
			if _, ok, err := db.Instance(badKey); ok || err == nil || !strings.Contains(err.Error(), badKey) {
				t.Errorf("Instance(%q) = ok %v, err %v; want an error naming it", badKey, ok, err)
			}
		})
	}
	t.Run("a database without bad records sets nothing aside", func(t *testing.T) {
		db, _ := openTemp(t)
		if err := db.PutInstance(fullInstance("PROC19/ggus:1001")); err != nil {
			t.Fatal(err)
		}
		insts, bad, err := db.Records()
		if err != nil || len(insts) != 1 || len(bad) != 0 {
			t.Fatalf("Records = %d records, %v set aside, %v", len(insts), bad, err)
		}
	})
}

// The type the daemon's list of set-aside records is made of.
var _ error = core.BadRecord{}
