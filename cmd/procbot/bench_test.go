package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/procbot/procbot/internal/bench"
)

// TestBenchPrintsEveryColumn runs `procbot bench` at one live procedure
// and reads its table: every column is there, and every row has a figure
// in each of them.
func TestBenchPrintsEveryColumn(t *testing.T) {
	// The bench measures procbot run with this binary, which is procbot
	// with PROCBOTTEST_MAIN set (TestMain).
	benchEnv = []string{"PROCBOTTEST_MAIN=1"}
	t.Cleanup(func() { benchEnv = nil })
	var out, errOut bytes.Buffer
	if code := Main([]string{"bench", "-n", "1", "-cycles", "3"}, &out, &errOut); code != 0 {
		t.Fatalf("bench exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	var rows [][]string
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "| "), " | ") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if len(rows) != 3 {
		t.Fatalf("want a heading, a rule and one row, got %d table lines:\n%s", len(rows), out.String())
	}
	if got, want := strings.Join(rows[0], " | "), strings.Join(bench.Columns, " | "); got != want {
		t.Errorf("heading\n got %s\nwant %s", got, want)
	}
	row := rows[2]
	if len(row) != len(bench.Columns) {
		t.Fatalf("the row has %d cells for %d columns: %v", len(row), len(bench.Columns), row)
	}
	if row[0] != "1" {
		t.Errorf("live procedures: %q, want 1", row[0])
	}
	for i, c := range row {
		if c == "" || c == "not measured" {
			t.Errorf("column %q has no figure: %q", bench.Columns[i], c)
		}
	}
}

// TestBenchRefusesBadSizes: -n takes positive numbers only, and says so.
func TestBenchRefusesBadSizes(t *testing.T) {
	for _, n := range []string{"0", "ten", "1,,10", "-5"} {
		t.Run(n, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Main([]string{"bench", "-n", n}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "is not a number of live procedures") {
				t.Errorf("exit %d, want 1 and the bad size named\nstderr: %s", code, errOut.String())
			}
			if out.Len() > 0 {
				t.Errorf("printed a table: %s", out.String())
			}
		})
	}
}
