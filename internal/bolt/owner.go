package bolt

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// owner is what the sidecar "<path>.owner" says of the procbot holding the
// database: "pid=<pid> host=<hostname> since=<RFC 3339>".
type owner struct {
	PID   int
	Host  string
	Since time.Time
}

func ownerPath(dbPath string) string { return dbPath + ".owner" }

func (o owner) String() string {
	return fmt.Sprintf("pid=%d host=%s since=%s", o.PID, o.Host, o.Since.Format(time.RFC3339))
}

// writeOwner records this process as the holder of the database.
func writeOwner(path string, now time.Time) error {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	o := owner{PID: os.Getpid(), Host: host, Since: now}
	return os.WriteFile(path, []byte(o.String()+"\n"), 0o600)
}

// readOwner parses the sidecar; ok is false when it is missing or unreadable.
func readOwner(path string) (o owner, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return owner{}, false
	}
	for _, f := range strings.Fields(string(b)) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "pid":
			o.PID, _ = strconv.Atoi(v)
		case "host":
			o.Host = v
		case "since":
			o.Since, _ = time.Parse(time.RFC3339, v)
		}
	}
	return o, o.PID > 0 && o.Host != ""
}

// stale reports whether the sidecar certainly does not describe the holder:
// it names a process on this host that no longer runs. A process on another
// host (a shared volume) cannot be checked and is taken at its word.
func (o owner) stale() bool {
	if host, err := os.Hostname(); err != nil || host != o.Host {
		return false
	}
	p, err := os.FindProcess(o.PID)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return errors.Is(err, os.ErrProcessDone) || errors.Is(err, syscall.ESRCH)
}

// lockedError is the error Open returns when the file lock is held elsewhere.
// It wraps ErrLocked without repeating its text.
type lockedError struct{ msg string }

func (e *lockedError) Error() string { return e.msg }
func (e *lockedError) Unwrap() error { return ErrLocked }

func newLockedError(path string, waited time.Duration) error {
	o, ok := readOwner(ownerPath(path))
	if ok && !o.stale() {
		since := "an unknown time"
		if !o.Since.IsZero() {
			since = o.Since.Format(time.RFC3339)
		}
		return &lockedError{fmt.Sprintf("bolt: database %s is held by another procbot (pid %d on host %s since %s; waited %s); stop it or use another PROCBOT_DB_PATH",
			path, o.PID, o.Host, since, waited)}
	}
	return &lockedError{fmt.Sprintf("bolt: database %s is held by another process (waited %s; no running procbot is recorded as its holder); stop it or use another PROCBOT_DB_PATH",
		path, waited)}
}
