package core

import "fmt"

// A BadRecord is a recorded request that procbot cannot read: its record
// does not decode. The store returns it apart from the others, which go on;
// procbot leaves its request alone (no child, no note, and it is not taken
// for a new request) until the database is rebuilt from the trackers.
type BadRecord struct {
	Key string // the key the record is stored under
	Err error  // why it does not decode
}

func (b BadRecord) Error() string {
	return fmt.Sprintf("record %q does not decode: %v", b.Key, b.Err)
}

func (b BadRecord) Unwrap() error { return b.Err }
