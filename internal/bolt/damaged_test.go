package bolt_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/procbot/procbot/internal/bolt"
	"github.com/procbot/procbot/internal/core"
	"github.com/procbot/procbot/internal/testproc"
)

// openEnv names the database the child process of TestHelperOpenDatabase
// opens; openROEnv, set to 1, opens it read-only.
const (
	openEnv   = "PROCBOTTEST_BOLT_OPEN_DB"
	openROEnv = "PROCBOTTEST_BOLT_OPEN_RO"
)

// wayOut is what every damaged-database error tells the operator to do.
const wayOut = "procbot rebuild"

// populated writes a database of many pages: requests and their audit
// entries, as a procbot that has worked for a while leaves it.
func populated(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "procbot.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		inst := fullInstance(fmt.Sprintf("PROC19/ggus:%d", 1000+i))
		if err := db.PutInstanceAudit(inst, core.AuditEntry{What: "opened a child"}, core.AuditEntry{What: "posted a note"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func truncateTo(t *testing.T, path string, size func(int64) int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size(fi.Size())); err != nil {
		t.Fatal(err)
	}
}

// claimed is the size a database's pages take, as bbolt reads it.
func claimed(t *testing.T, path string) int64 {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var n int64
	_ = raw.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// freelistPage is the id of the database's freelist page.
func freelistPage(t *testing.T, path string) int64 {
	t.Helper()
	raw, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	id := int64(-1)
	_ = raw.View(func(tx *bbolt.Tx) error {
		for i := 2; id < 0; i++ {
			p, err := tx.Page(i) // nil past the last page
			if err != nil || p == nil {
				return err
			}
			if p.Type == "freelist" {
				id = int64(p.ID)
			}
		}
		return nil
	})
	if id < 0 {
		t.Fatal("no freelist page")
	}
	return id
}

// overwrite replaces n bytes at off with what fill returns.
func overwrite(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedDatabase opens damaged database files in a child process, so
// that a fault (SIGBUS on a truncated file) fails the test instead of
// ending the run. Each must fail with exit status 1 and a message that
// names the file and the way out, and leave the file as it was.
func TestDamagedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	page := int64(os.Getpagesize())
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   []string // besides the file, "damaged" and the way out
		opens  bool
	}{
		{
			name:   "an intact database opens",
			damage: func(*testing.T, string) {},
			opens:  true,
		},
		{
			name: "a file longer than its pages claim opens",
			damage: func(t *testing.T, path string) {
				truncateTo(t, path, func(n int64) int64 { return n + 3*page })
			},
			opens: true,
		},
		{
			name: "truncated to a third",
			damage: func(t *testing.T, path string) {
				truncateTo(t, path, func(n int64) int64 { return n / 3 / page * page })
			},
			want: []string{"bytes, its pages claim"},
		},
		{
			name: "the last page cut off",
			damage: func(t *testing.T, path string) {
				claim := claimed(t, path)
				truncateTo(t, path, func(int64) int64 { return claim - page })
			},
			want: []string{"bytes, its pages claim"},
		},
		{
			name:   "truncated to one page",
			damage: func(t *testing.T, path string) { truncateTo(t, path, func(int64) int64 { return page }) },
			want:   []string{fmt.Sprintf("file is %d bytes", page)},
		},
		{
			name:   "truncated mid-page",
			damage: func(t *testing.T, path string) { truncateTo(t, path, func(n int64) int64 { return n/2 + 100 }) },
			want:   []string{"bytes, its pages claim"},
		},
		{
			// bbolt keeps two metas so that a meta written only in part
			// (its checksum fails) loses one transaction, not the file.
			name:   "a first meta that fails its checksum opens from the second",
			damage: func(t *testing.T, path string) { overwrite(t, path, 16+48, []byte{0xff, 0xff}) },
			opens:  true,
		},
		{
			// Not what a crash leaves: something overwrote the page.
			name:   "the first meta page zeroed",
			damage: func(t *testing.T, path string) { overwrite(t, path, 0, make([]byte, page)) },
			want:   []string{"consistency check", "page 0"},
		},
		{
			name: "the middle third zeroed",
			damage: func(t *testing.T, path string) {
				claim := claimed(t, path)
				overwrite(t, path, claim/3/page*page, make([]byte, claim/3/page*page))
			},
			// bbolt's consistency check finds it, or bbolt itself
			// while opening, when the freelist page is among them.
		},
		{
			// bbolt reads the freelist while opening, and panics on a bad one.
			name: "the freelist page zeroed",
			damage: func(t *testing.T, path string) {
				overwrite(t, path, freelistPage(t, path)*page, make([]byte, page))
			},
		},
		{
			name:   "both meta pages zeroed",
			damage: func(t *testing.T, path string) { overwrite(t, path, 0, make([]byte, 2*page)) },
			want:   []string{"meta page"},
		},
		{
			name: "random bytes",
			damage: func(t *testing.T, path string) {
				b := make([]byte, 64*1024)
				r := rand.New(rand.NewPCG(8, 8))
				for i := range b {
					b[i] = byte(r.UintN(256))
				}
				if err := os.WriteFile(path, b, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"meta page"},
		},
		{
			// procbot creates a database whole and then links it into
			// place, so an empty file is never one procbot left: something
			// else cut it short, and starting afresh on it would forget
			// every request without a word.
			name: "an empty file",
			damage: func(t *testing.T, path string) {
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"file is empty"},
		},
	} {
		for _, ro := range []bool{false, true} {
			name := tc.name
			if ro {
				name += ", read-only"
			}
			t.Run(name, func(t *testing.T) {
				path := populated(t)
				tc.damage(t, path)
				before, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				code, out := openInChild(t, path, ro)
				if tc.opens {
					if code != 0 {
						t.Fatalf("exit status %d, want 0 (the database is intact); output:\n%s", code, out)
					}
					return
				}
				if code != 1 {
					t.Fatalf("exit status %d, want 1 with a clear error; output:\n%s", code, out)
				}
				if n := strings.Count(out, path); n != 1 {
					t.Errorf("output names the file %d times, want once:\n%s", n, out)
				}
				for _, s := range append([]string{path + " is damaged", wayOut}, tc.want...) {
					if !strings.Contains(out, s) {
						t.Errorf("output does not contain %q:\n%s", s, out)
					}
				}
				after, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(before, after) {
					t.Errorf("the damaged file was changed (%d bytes before, %d after)", len(before), len(after))
				}
			})
		}
	}
}

// openInChild runs TestHelperOpenDatabase on path and returns its exit
// status (-1 if a signal ended it) and its output.
func openInChild(t *testing.T, path string, readOnly bool) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperOpenDatabase$", "-test.count=1")
	ro := "0"
	if readOnly {
		ro = "1"
	}
	cmd.Env = append(os.Environ(), openEnv+"="+path, openROEnv+"="+ro)
	return testproc.Run(t, cmd)
}

// TestHelperOpenDatabase is not a test: run by TestDamagedDatabase in a
// child process, it opens the database, reads every request and exits 0,
// or prints the error and exits 1.
func TestHelperOpenDatabase(t *testing.T) {
	path := os.Getenv(openEnv)
	if path == "" {
		t.Skip("helper process for TestDamagedDatabase")
	}
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "procbot:", err)
		os.Exit(1)
	}
	db, err := bolt.Open(path, bolt.Options{ReadOnly: os.Getenv(openROEnv) == "1"})
	if err != nil {
		fail(err)
	}
	insts, err := db.Instances()
	if err != nil {
		fail(err)
	}
	if _, err := db.AuditLog(""); err != nil {
		fail(err)
	}
	if err := db.Close(); err != nil {
		fail(err)
	}
	fmt.Printf("opened, %d requests\n", len(insts))
	os.Exit(0)
}

func TestDamagedError(t *testing.T) {
	t.Run("an empty file is refused with an error wrapping ErrDamaged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "procbot.db")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := bolt.Open(path, bolt.Options{})
		if !errors.Is(err, bolt.ErrDamaged) || !bolt.IsDamaged(err) || bolt.IsLocked(err) {
			t.Fatalf("err = %v; want it to wrap ErrDamaged only", err)
		}
	})
	t.Run("a new database is created whole, leaving no other file", func(t *testing.T) {
		dir := t.TempDir()
		db, err := bolt.Open(filepath.Join(dir, "procbot.db"), bolt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if want := []string{"procbot.db", "procbot.db.owner"}; !slices.Equal(names, want) {
			t.Errorf("directory holds %v, want %v", names, want)
		}
	})
}

// BenchmarkOpen measures Open of a database far larger than procbot's
// usual one (2,000 requests and 200,000 audit entries), checks included.
func BenchmarkOpen(b *testing.B) {
	path := filepath.Join(b.TempDir(), "procbot.db")
	db, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		b.Fatal(err)
	}
	entries := make([]core.AuditEntry, 100)
	for i := range entries {
		entries[i] = core.AuditEntry{Time: ts("2026-04-17T10:00:00Z"), Step: "1a", Tracker: "ggus", Ticket: "10123", What: "opened child ggus #10123 for step 1a"}
	}
	for i := range 2000 {
		if err := db.PutInstanceAudit(fullInstance(fmt.Sprintf("PROC19/ggus:%d", i)), entries...); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		db, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(fi.Size())/(1<<20), "MiB")
}
