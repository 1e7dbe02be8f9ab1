package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// ErrDamaged is wrapped by the error Open returns when the database file is
// damaged: cut short, overwritten, or not a bbolt file at all.
var ErrDamaged = errors.New("database is damaged")

// IsDamaged reports whether err says the database file is damaged.
func IsDamaged(err error) bool { return errors.Is(err, ErrDamaged) }

// damagedError names the file, what is wrong with it and the way out. It
// wraps ErrDamaged without repeating its text.
type damagedError struct{ msg string }

func (e *damagedError) Error() string { return e.msg }
func (e *damagedError) Unwrap() error { return ErrDamaged }

func newDamagedError(path, why string) error {
	return &damagedError{fmt.Sprintf("bolt: database %s is damaged (%s): move it aside and run `PROCBOT_DB_PATH=<new file> procbot rebuild`, "+
		"which rebuilds the database from the trackers; then run procbot on the new file", path, why)}
}

// The layout of a bbolt (v1.5, file format 2) meta page, which bbolt
// writes in the machine's byte order: a 16-byte page header, then the meta.
const (
	pageHeaderSize  = 16
	metaMagic       = 0xED0CDAED
	metaVersion     = 2
	offMagic        = pageHeaderSize + 0
	offVersion      = pageHeaderSize + 4
	offPageSize     = pageHeaderSize + 8
	offRoot         = pageHeaderSize + 16 // root bucket's page; its sequence follows
	offFreelist     = pageHeaderSize + 32
	offPgid         = pageHeaderSize + 40 // high water mark: pages 0..pgid-1 exist
	offTxid         = pageHeaderSize + 48
	offChecksum     = pageHeaderSize + 56 // FNV-1a 64 of the meta before it
	metaEnd         = offChecksum + 8
	noFreelist      = ^uint64(0)
	minPageSize     = 1 << 10
	maxPageSize     = 1 << 24
	checkErrorsKept = 3
)

// meta is what procbot reads of a meta page to check the file before
// bbolt maps it: bbolt reads pages through a memory map, so a page that
// the file lacks is a fault (SIGBUS) that no error handling can catch.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

// readMeta reads the meta page at off; the error says why it is not valid.
func readMeta(f io.ReaderAt, off int64) (meta, error) {
	var b [metaEnd]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		if errors.Is(err, io.EOF) {
			return meta{}, errors.New("the file ends before it")
		}
		return meta{}, err
	}
	e := binary.NativeEndian
	switch {
	case e.Uint32(b[offMagic:]) != metaMagic:
		return meta{}, errors.New("no bbolt magic number")
	case e.Uint32(b[offVersion:]) != metaVersion:
		return meta{}, fmt.Errorf("bbolt file format %d, not %d", e.Uint32(b[offVersion:]), metaVersion)
	}
	h := fnv.New64a()
	_, _ = h.Write(b[offMagic:offChecksum])
	if h.Sum64() != e.Uint64(b[offChecksum:]) {
		return meta{}, errors.New("checksum mismatch")
	}
	return meta{
		pageSize: e.Uint32(b[offPageSize:]),
		root:     e.Uint64(b[offRoot:]),
		freelist: e.Uint64(b[offFreelist:]),
		pgid:     e.Uint64(b[offPgid:]),
		txid:     e.Uint64(b[offTxid:]),
	}, nil
}

// checkFile checks, before bbolt maps it, that the file at path is a bbolt
// database whose pages are all there. It finds the meta page bbolt would
// use (the valid one of the two with the higher transaction id) and
// compares the size its pages take with the size of the file.
//
// The metas are read before the file's size: bbolt grows the file before
// it writes a meta naming the new pages, and never shrinks it, so a
// procbot writing the file meanwhile cannot make a sound file look short.
func checkFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("bolt: open database %s: %w", path, err)
	}
	defer f.Close()

	// The first meta page is at 0; the second one page further, and the
	// page size is in the metas. When the first is unreadable, look for the
	// second where bbolt looks for it.
	m0, err0 := readMeta(f, 0)
	pageSize := int64(m0.pageSize)
	if err0 != nil {
		pageSize = 0
		for ps := int64(minPageSize); ps <= maxPageSize; ps *= 2 {
			if m, err := readMeta(f, ps); err == nil && int64(m.pageSize) == ps {
				pageSize = ps
				break
			}
		}
	}
	var m1 meta
	err1 := errors.New("not found at any page size")
	if pageSize != 0 {
		m1, err1 = readMeta(f, pageSize)
	}
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("bolt: open database %s: %w", path, err)
	}
	size := fi.Size()
	if size == 0 {
		return newDamagedError(path, "file is empty; procbot never leaves an empty database behind")
	}
	if err0 != nil && err1 != nil {
		return newDamagedError(path, fmt.Sprintf("file is %d bytes and neither meta page is valid: first: %v; second: %v; is it a procbot database?", size, err0, err1))
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return newDamagedError(path, fmt.Sprintf("its meta page gives a page size of %d bytes", pageSize))
	}
	m := m0
	if err0 != nil || (err1 == nil && m1.txid > m0.txid) {
		m = m1
	}
	switch {
	case m.pgid < 2 || m.pgid > uint64(1<<62)/uint64(pageSize):
		return newDamagedError(path, fmt.Sprintf("its meta page claims %d pages", m.pgid))
	case m.root >= m.pgid:
		return newDamagedError(path, fmt.Sprintf("its meta page puts the root at page %d of %d", m.root, m.pgid))
	case m.freelist != noFreelist && m.freelist >= m.pgid:
		return newDamagedError(path, fmt.Sprintf("its meta page puts the freelist at page %d of %d", m.freelist, m.pgid))
	}
	if need := int64(m.pgid) * pageSize; size < need {
		return newDamagedError(path, fmt.Sprintf("file is %d bytes, its pages claim %d", size, need))
	}
	return nil
}

// checkOpen checks the database as bbolt opened it: the pages its meta
// claims are in the file, and bbolt's own consistency check finds every
// page reachable or free, each once, and of the right kind. It reads every
// page of the file: for a database of procbot's size that costs
// milliseconds, once at start-up (BenchmarkOpen), and it is the last chance
// to refuse a file that would otherwise fail, or fault, at some later read.
func checkOpen(db *bbolt.DB, path string) error {
	return db.View(func(tx *bbolt.Tx) error {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("bolt: open database %s: %w", path, err)
		}
		if fi.Size() < tx.Size() {
			return newDamagedError(path, fmt.Sprintf("file is %d bytes, its pages claim %d", fi.Size(), tx.Size()))
		}
		var problems []string
		n := 0
		for err := range tx.Check() {
			if n++; n <= checkErrorsKept {
				problems = append(problems, err.Error())
			}
		}
		if n > 0 {
			more := ""
			if n > checkErrorsKept {
				more = fmt.Sprintf(" and %d more", n-checkErrorsKept)
			}
			return newDamagedError(path, fmt.Sprintf("bbolt's consistency check: %s%s", strings.Join(problems, "; "), more))
		}
		return nil
	})
}
