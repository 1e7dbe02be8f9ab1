package bench

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/procbot/procbot/internal/core"
)

// Columns are the table's headings, in order.
var Columns = []string{
	"live procedures",
	"GGUS requests per idle cycle",
	"RT requests per idle cycle",
	"GGUS requests, 2 cycles after filing N",
	"idle cycle, wall",
	"idle cycle, CPU",
	"allocated per idle cycle",
	"children closed",
	"cycle with children closed, wall",
	"cycle with children closed, CPU",
	"new request → first children",
	"cold rebuild",
	"database per procedure",
	"peak RSS, procbot run",
	"peak RSS, bench process",
}

// Print writes the rows as one Markdown table: each figure is procbot's,
// then the naive poller's and the ratio naive ÷ procbot where the naive
// poller has one; a legend follows.
func Print(w io.Writer, rows []Row) error {
	var b strings.Builder
	line := func(cells []string) { fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | ")) }
	line(Columns)
	sep := make([]string, len(Columns))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(Cells(r))
	}
	b.WriteString(legend)
	_, err := io.WriteString(w, b.String())
	return err
}

const legend = `
Each cell: procbot / naive poller (naive ÷ procbot). The naive poller re-reads
every tracked ticket each cycle (each request and its conversation, each open
child) through the same GGUS and RT clients; it only observes and decides
nothing, so its figures are a floor for such a poller.
- live procedures: N PROC19 requests filed in the GGUS simulator, approved with
  /approve and taken up by procbot in its own cycles until each has its first
  wave of children open; one more is filed to measure the latency, so the idle
  cycles run with N+1. A poll interval passes before each of procbot's cycles.
- idle cycle: nothing changed and the poll overlap past; the median of the
  cycles measured. CPU time and allocations are the whole process's
  (getrusage, runtime/metrics), the simulators serving the requests included.
- GGUS requests, 2 cycles after filing N: the next two cycles after the N
  procedures got their children, all of them still inside the poll overlap;
  the first reads procbot's own last changes on every request once more.
- cycle with children closed: both first-wave children of some requests
  closed; procbot notes each and opens the successors, in the cycles shown.
- new request → first children: cycles run back to back; in service add the
  poll interval between them.
- cold rebuild: procbot rebuild on an empty database (a lost database) until
  every live request is recorded again; naive: its first cycle with nothing
  remembered.
- database per procedure: the database file's size ÷ live procedures.
- peak RSS, procbot run: a procbot run process of its own on that size's
  database, over its first 3 cycles (VmHWM); bench process: the whole bench
  process so far, simulators, naive poller and the smaller sizes included.
`

// Cells are one row's cells, in the order of Columns.
func Cells(r Row) []string {
	p, n := r.Procbot, r.Naive
	return []string{
		fmt.Sprint(r.N),
		vs(float64(p.IdleRequests[core.TrackerGGUS]), float64(n.IdleRequests[core.TrackerGGUS]), count0),
		vs(float64(p.IdleRequests[core.TrackerRT]), float64(n.IdleRequests[core.TrackerRT]), count0),
		fmt.Sprintf("%d, %d", r.BurstRequests[0], r.BurstRequests[1]),
		vs(float64(p.Idle.wall), float64(n.Idle.wall), dur),
		vs(float64(p.Idle.cpu), float64(n.Idle.cpu), dur),
		vs(float64(p.Idle.alloc), float64(n.Idle.alloc), size),
		fmt.Sprint(r.Closed),
		vs(float64(p.Changed.wall), float64(n.Changed.wall), dur) + " in " + cycles(p.ChangedCycles),
		vs(float64(p.Changed.cpu), float64(n.Changed.cpu), dur),
		cycles(r.FirstCycles) + ", " + dur(float64(r.FirstWall)),
		vs(float64(p.Rebuild), float64(n.Rebuild), dur),
		size(float64(r.DBBytes)),
		runRSS(r.RunPeakRSS),
		size(float64(r.PeakRSS)),
	}
}

// vs is "procbot / naive (×ratio)"; the ratio is left out where either
// figure is zero.
func vs(procbot, naive float64, f func(float64) string) string {
	s := f(procbot) + " / " + f(naive)
	if procbot > 0 && naive > 0 {
		s += " (" + ratio(naive/procbot) + ")"
	}
	return s
}

func ratio(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("×%.0f", r)
	default:
		return fmt.Sprintf("×%.2g", r)
	}
}

func runRSS(v int64) string {
	if v <= 0 {
		return "not measured"
	}
	return size(float64(v))
}

func cycles(n int) string {
	if n == 1 {
		return "1 cycle"
	}
	return fmt.Sprintf("%d cycles", n)
}

func count0(v float64) string { return fmt.Sprintf("%.0f", v) }

func dur(v float64) string {
	d := time.Duration(v)
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
}

func size(v float64) string {
	switch {
	case v >= 10<<20:
		return fmt.Sprintf("%.0f MB", v/(1<<20))
	case v >= 1<<20:
		return fmt.Sprintf("%.1f MB", v/(1<<20))
	case v >= 10<<10:
		return fmt.Sprintf("%.0f kB", v/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", v)
	}
}
