// Package e2e holds procbot's end-to-end tests against real trackers that
// the project's own harness starts (deploy/dev/rt), some of them also run
// against the simulators so that they never skip entirely. It has no code
// of its own.
package e2e
