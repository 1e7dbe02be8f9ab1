// Package testlog is a log sink for procbot's tests: procbot writes to it
// from its goroutines (or a child process's output), the test reads it and
// can wait for a text to appear instead of sleeping.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is a bytes.Buffer that may be written and read at the same time,
// and that tells when a text has been written. The zero Buffer is ready.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	waiting map[string]chan struct{}
}

// Write appends p and closes the channels of the texts it completes.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.b.Write(p)
	for s, ch := range l.waiting {
		if strings.Contains(l.b.String(), s) {
			close(ch)
			delete(l.waiting, s)
		}
	}
	return n, err
}

// Written is closed once what was written contains s.
func (l *Buffer) Written(s string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan struct{})
	if strings.Contains(l.b.String(), s) {
		close(ch)
		return ch
	}
	if l.waiting == nil {
		l.waiting = map[string]chan struct{}{}
	}
	l.waiting[s] = ch
	return ch
}

// String is what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Bytes is a copy of what was written so far.
func (l *Buffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}
