package bolt_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
)

func TestMailRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "procbot.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := "digest|2026-11-23T08:00:00+01:00|jane@foo.example"
	if _, ok, err := db.MailRecord(key); ok || err != nil {
		t.Fatalf("unset record: ok=%v err=%v", ok, err)
	}
	at := time.Date(2026, 11, 23, 7, 0, 1, 0, time.UTC)
	if err := db.PutMailRecord(key, core.MailRecord{State: core.MailSending, At: at, To: "jane@foo.example"}); err != nil {
		t.Fatal(err)
	}
	// The record survives a restart.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = bolt.Open(path, bolt.Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rec, ok, err := db.MailRecord(key)
	if err != nil || !ok || rec.State != core.MailSending || !rec.At.Equal(at) {
		t.Fatalf("after restart: %+v ok=%v err=%v", rec, ok, err)
	}
	if err := db.DeleteMailRecord(key); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.MailRecord(key); ok {
		t.Errorf("deleted record still there")
	}
}
