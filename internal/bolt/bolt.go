// Package bolt is procbot's store: the recorded requests, the poll cursor of
// each tracker and the audit log, kept in one bbolt file.
//
// One procbot process at a time may hold the file for writing. Open waits at
// most Options.Timeout for the file lock and, while holding it, keeps a small
// sidecar file "<path>.owner" naming the holder, so that a second procbot
// started on the same file says who is in the way instead of hanging.
//
// Open refuses a damaged file (cut short, overwritten, not a bbolt file,
// empty) with an error wrapping ErrDamaged that names the file and the way
// out, instead of letting bbolt fault on a page the file lacks. A request
// record that does not decode is returned apart (Records, BadRecords), so
// that it does not hide the others.
//
// Layout:
//
//	instances  request key → JSON of core.Instance
//	cursors    tracker name → poll cursor, RFC 3339 with nanoseconds, UTC
//	audit      big-endian uint64 sequence → JSON of core.AuditEntry
//	mail       mail key → JSON of core.MailRecord (what was sent, or is being)
//	meta       "schema" → schema version, decimal
//	live       request key → JSON of core.Live, for live requests (index.go)
//	tickets    ticket key NUL request key → empty, for live requests
//
// A database of schema version 1 has no index; Open builds it from the
// records and records version 2, which an older procbot refuses to write.
package bolt

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/procbot/procbot/internal/core"
)

// SchemaVersion is the layout version this procbot writes and understands.
const SchemaVersion = 2

// DefaultTimeout is how long Open waits for the file lock unless told otherwise.
const DefaultTimeout = 3 * time.Second

var (
	bucketInstances = []byte("instances")
	bucketCursors   = []byte("cursors")
	bucketAudit     = []byte("audit")
	bucketMail      = []byte("mail")
	bucketMeta      = []byte("meta")
	keySchema       = []byte("schema")
)

var (
	// ErrLocked is wrapped by the error Open returns when another process
	// holds the database file.
	ErrLocked = errors.New("database is locked by another process")
	// ErrSchema is wrapped by the error Open returns when the database was
	// written with a schema this procbot does not understand.
	ErrSchema = errors.New("unsupported database schema")
)

// IsLocked reports whether err says the database is held by another process.
func IsLocked(err error) bool { return errors.Is(err, ErrLocked) }

// Options tune Open.
type Options struct {
	// Timeout is how long to wait for the file lock; zero or less means
	// DefaultTimeout. procbot never waits indefinitely.
	Timeout time.Duration
	// ReadOnly opens an existing database with a shared lock, for inspection.
	// A read-only DB writes no sidecar and refuses every write.
	ReadOnly bool
}

// DB is the bbolt store. It satisfies daemon.Store. Its methods are safe for
// concurrent use; each runs in one bbolt transaction.
type DB struct {
	db       *bbolt.DB
	path     string
	readOnly bool

	mu     sync.Mutex
	closed bool

	// live is the index of live requests as last committed, kept in
	// memory too so that a poll cycle reads it without decoding it. The
	// mutex is held across each write of a record, so that the order in
	// which writes change it is the order in which they commit.
	liveMu sync.Mutex
	live   map[string]core.Live
	sorted []core.Live // live in key order; nil after a write
	wake   func(core.Live) (time.Time, bool)
	waking []wakeAt // the live requests that have a time to be due, by it; nil after a write
}

// Open opens (creating it unless opts.ReadOnly) the database at path. The
// directory must exist: procbot does not create it. A database held by
// another process fails with an error wrapping ErrLocked after opts.Timeout.
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dir := filepath.Dir(path)
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("bolt: open database %s: directory %s does not exist (procbot does not create it)", path, dir)
	case err != nil:
		return nil, fmt.Errorf("bolt: open database %s: %w", path, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("bolt: open database %s: %s is not a directory", path, dir)
	}
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist) && opts.ReadOnly:
		return nil, fmt.Errorf("bolt: open database %s read-only: file does not exist", path)
	case errors.Is(err, fs.ErrNotExist):
		if err := create(path, timeout); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("bolt: open database %s: %w", path, err)
	default:
		if err := checkFile(path); err != nil {
			return nil, err
		}
	}

	bdb, err := openMapped(path, &bbolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return nil, newLockedError(path, timeout)
	case IsDamaged(err):
		return nil, err
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
		return nil, newDamagedError(path, err.Error())
	case err != nil:
		return nil, fmt.Errorf("bolt: open database %s: %w", path, err)
	}
	if err := checkOpen(bdb, path); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	d := &DB{db: bdb, path: path, readOnly: opts.ReadOnly}
	if !opts.ReadOnly {
		// The sidecar is advisory: without it a second procbot still fails
		// clearly, only without naming the holder. So a failed write is no
		// reason to refuse to start.
		_ = writeOwner(ownerPath(path), time.Now())
	}
	if err := d.init(); err != nil {
		_ = d.Close()
		return nil, err
	}
	if err := d.loadLive(); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

// create makes a new, empty database at path. bbolt writes a new file's
// first pages only after creating it, so a crash in between would leave an
// empty file; procbot builds the database under another name and links it
// into place whole. An empty file at path is therefore never procbot's
// doing, and Open refuses it as damaged rather than start afresh on it.
func create(path string, timeout time.Duration) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("bolt: create database %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Close(); err != nil {
		return fmt.Errorf("bolt: create database %s: %w", path, err)
	}
	bdb, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: timeout})
	if err != nil {
		return fmt.Errorf("bolt: create database %s: %w", path, err)
	}
	if err := bdb.Close(); err != nil {
		return fmt.Errorf("bolt: create database %s: %w", path, err)
	}
	// Link, unlike rename, never replaces a file: of two procbots creating
	// the database at once, one links it and the other opens that one.
	err = os.Link(tmp, path)
	switch {
	case err == nil, errors.Is(err, fs.ErrExist):
		return nil
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EXDEV):
		// A file system without hard links.
		if err := os.Rename(tmp, path); err != nil {
			return fmt.Errorf("bolt: create database %s: %w", path, err)
		}
		return nil
	default:
		return fmt.Errorf("bolt: create database %s: %w", path, err)
	}
}

// openMapped opens the database with bbolt. bbolt reads through a memory
// map and panics on pages it cannot make sense of; a file that passed
// checkFile has every page, and a fault or panic that still happens here is
// reported as damage, not a crash.
func openMapped(path string, opts *bbolt.Options) (db *bbolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, newDamagedError(path, fmt.Sprintf("bbolt failed to read it: %v", r))
		}
	}()
	return bbolt.Open(path, 0o600, opts)
}

// init checks the schema version and, when writable, creates the buckets.
func (d *DB) init() error {
	// check returns the schema version recorded, 0 if none.
	check := func(tx *bbolt.Tx) (version int, err error) {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return 0, nil
		}
		v := meta.Get(keySchema)
		if v == nil {
			return 0, nil
		}
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			return 0, fmt.Errorf("bolt: database %s has an unreadable schema version %q: %w", d.path, v, ErrSchema)
		}
		if n > SchemaVersion {
			return 0, fmt.Errorf("bolt: database %s has schema version %d, newer than the %d this procbot understands; run a newer procbot: %w",
				d.path, n, SchemaVersion, ErrSchema)
		}
		return n, nil
	}
	if d.readOnly {
		return d.db.View(func(tx *bbolt.Tx) error {
			_, err := check(tx)
			return err
		})
	}
	err := d.db.Update(func(tx *bbolt.Tx) error {
		version, err := check(tx)
		if err != nil {
			return err
		}
		indexed := version >= indexSchema && tx.Bucket(bucketLive) != nil && tx.Bucket(bucketTickets) != nil
		for _, name := range [][]byte{bucketInstances, bucketCursors, bucketAudit, bucketMail, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("bolt: create bucket %q in %s: %w", name, d.path, err)
			}
		}
		if !indexed {
			if err := buildIndex(tx); err != nil {
				return fmt.Errorf("bolt: build the index of live requests in %s: %w", d.path, err)
			}
		}
		if version < SchemaVersion {
			if err := tx.Bucket(bucketMeta).Put(keySchema, []byte(strconv.Itoa(SchemaVersion))); err != nil {
				return fmt.Errorf("bolt: record schema version in %s: %w", d.path, err)
			}
		}
		return nil
	})
	return err
}

// Path is the database file as given to Open.
func (d *DB) Path() string { return d.path }

// Close removes the sidecar and releases the database. Closing twice is
// harmless.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	// Remove the sidecar while the lock is still held, so that it can never
	// remove the sidecar of a procbot that took the file over.
	if !d.readOnly {
		if err := os.Remove(ownerPath(d.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			_ = d.db.Close()
			return fmt.Errorf("bolt: remove %s: %w", ownerPath(d.path), err)
		}
	}
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("bolt: close database %s: %w", d.path, err)
	}
	return nil
}

// Records returns every recorded request that decodes, in key order, and
// apart from them the records that do not, each with its key and why. One
// damaged record does not hide the others.
func (d *DB) Records() (insts []core.Instance, bad []core.BadRecord, err error) {
	err = d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketInstances)
		if b == nil {
			return nil
		}
		insts = make([]core.Instance, 0, b.Stats().KeyN)
		return b.ForEach(func(k, v []byte) error {
			inst, err := decodeInstance(k, v)
			if err != nil {
				bad = append(bad, core.BadRecord{Key: string(k), Err: err})
				return nil
			}
			insts = append(insts, inst)
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("bolt: list instances: %w", err)
	}
	return insts, bad, nil
}

// Instances returns every recorded request that decodes, in key order;
// BadRecords lists those that do not.
func (d *DB) Instances() ([]core.Instance, error) {
	insts, _, err := d.Records()
	return insts, err
}

// BadRecords lists the recorded requests that do not decode.
func (d *DB) BadRecords() ([]core.BadRecord, error) {
	_, bad, err := d.Records()
	return bad, err
}

// decodeInstance decodes the record stored under key. A record that names
// another key than its own is not to be trusted either: the store always
// writes a request under its key.
func decodeInstance(key, v []byte) (core.Instance, error) {
	var inst core.Instance
	if err := json.Unmarshal(v, &inst); err != nil {
		return core.Instance{}, err
	}
	if inst.Key != string(key) {
		return core.Instance{}, fmt.Errorf("the record names %q", inst.Key)
	}
	return inst, nil
}

// Instance returns the request with the given key; ok is false if none. A
// record that does not decode is an error.
func (d *DB) Instance(key string) (inst core.Instance, ok bool, err error) {
	err = d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketInstances)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		inst, err = decodeInstance([]byte(key), v)
		ok = err == nil
		return err
	})
	if err != nil {
		return core.Instance{}, false, fmt.Errorf("bolt: get instance %q: %w", key, err)
	}
	return inst, ok, nil
}

// PutInstance records the request under inst.Key, replacing what was there.
func (d *DB) PutInstance(inst core.Instance) error {
	return d.PutInstanceAudit(inst)
}

// PutInstanceAudit records the request and appends entries to the audit log
// in one transaction: either all of it is written or none. An entry whose
// Instance is empty is recorded with inst.Key.
func (d *DB) PutInstanceAudit(inst core.Instance, entries ...core.AuditEntry) error {
	if inst.Key == "" {
		return fmt.Errorf("bolt: put instance: empty key (procedure %q, parent %s)", inst.Procedure, inst.Parent)
	}
	v, err := json.Marshal(inst)
	if err != nil {
		return fmt.Errorf("bolt: put instance %q: %w", inst.Key, err)
	}
	d.liveMu.Lock()
	defer d.liveMu.Unlock()
	err = d.db.Update(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bucketInstances).Put([]byte(inst.Key), v); err != nil {
			return err
		}
		if err := index(tx, inst); err != nil {
			return err
		}
		for _, e := range entries {
			if e.Instance == "" {
				e.Instance = inst.Key
			}
			if err := appendAudit(tx, e); err != nil {
				return fmt.Errorf("audit: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt: put instance %q: %w", inst.Key, err)
	}
	d.sorted, d.waking = nil, nil
	if inst.Pending() {
		d.live[inst.Key] = inst.Live()
	} else {
		delete(d.live, inst.Key)
	}
	return nil
}

// Cursor returns the poll cursor of a tracker (zero time if none).
func (d *DB) Cursor(tracker string) (time.Time, error) {
	var t time.Time
	err := d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketCursors)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(tracker))
		if v == nil {
			return nil
		}
		var err error
		t, err = time.Parse(time.RFC3339Nano, string(v))
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("bolt: get cursor of %q: %w", tracker, err)
	}
	return t, nil
}

// SetCursor records the poll cursor of a tracker, in UTC.
func (d *DB) SetCursor(tracker string, t time.Time) error {
	if tracker == "" {
		return errors.New("bolt: set cursor: empty tracker name")
	}
	v := []byte(t.UTC().Format(time.RFC3339Nano))
	err := d.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketCursors).Put([]byte(tracker), v)
	})
	if err != nil {
		return fmt.Errorf("bolt: set cursor of %q: %w", tracker, err)
	}
	return nil
}

// Audit appends an entry to the audit log.
func (d *DB) Audit(e core.AuditEntry) error {
	err := d.db.Update(func(tx *bbolt.Tx) error { return appendAudit(tx, e) })
	if err != nil {
		return fmt.Errorf("bolt: append audit entry for %q: %w", e.Instance, err)
	}
	return nil
}

// AuditLog returns the audit entries of one request in the order written;
// an empty key returns every entry.
func (d *DB) AuditLog(instance string) ([]core.AuditEntry, error) {
	var out []core.AuditEntry
	err := d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var e core.AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode entry %d: %w", binary.BigEndian.Uint64(k), err)
			}
			if instance == "" || e.Instance == instance {
				out = append(out, e)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: read audit log of %q: %w", instance, err)
	}
	return out, nil
}

// appendAudit writes e under the bucket's next sequence number, big-endian so
// that key order is write order.
func appendAudit(tx *bbolt.Tx, e core.AuditEntry) error {
	b := tx.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], seq)
	return b.Put(k[:], v)
}

// MailRecord returns what is recorded of the mail with the given key
// (e.g. a digest period and recipient); ok is false if nothing is.
func (d *DB) MailRecord(key string) (rec core.MailRecord, ok bool, err error) {
	err = d.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMail)
		if b == nil {
			return nil // a database from before mail was recorded
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &rec)
	})
	if err != nil {
		return rec, false, fmt.Errorf("bolt: read mail record %q: %w", key, err)
	}
	return rec, ok, nil
}

// PutMailRecord records the state of the mail with the given key.
func (d *DB) PutMailRecord(key string, rec core.MailRecord) error {
	if key == "" {
		return errors.New("bolt: put mail record: empty key")
	}
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("bolt: put mail record %q: %w", key, err)
	}
	if err := d.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMail).Put([]byte(key), v) }); err != nil {
		return fmt.Errorf("bolt: put mail record %q: %w", key, err)
	}
	return nil
}

// DeleteMailRecord forgets the mail with the given key, so it is sent again.
func (d *DB) DeleteMailRecord(key string) error {
	if err := d.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMail).Delete([]byte(key)) }); err != nil {
		return fmt.Errorf("bolt: delete mail record %q: %w", key, err)
	}
	return nil
}
