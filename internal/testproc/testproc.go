// Package testproc runs child processes for procbot's tests: the test
// binary itself, as procbot or as a helper that must be able to crash
// without taking the test along.
package testproc

import (
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
)

// Run runs cmd to its end and returns its exit status and its combined
// output. A child that a signal ended has status -1, and its output starts
// with a line naming the signal. A child that could not be started fails
// the test.
func Run(t testing.TB, cmd *exec.Cmd) (int, string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, fmt.Sprintf("killed by %v\n%s", ws.Signal(), out)
		}
		return ee.ExitCode(), string(out)
	default:
		t.Fatal(err)
		return 0, ""
	}
}
