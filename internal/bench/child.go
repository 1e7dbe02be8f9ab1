package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runCycles is how many poll cycles the `procbot run` process makes before
// its peak resident set is read.
const runCycles = 3

// runPeakRSS starts `procbot run` as its own process on the world's
// trackers and database (procbot in this process is closed by then), lets
// it make runCycles poll cycles, reads the peak resident set the kernel
// recorded for it and stops it with SIGTERM.
func (w *world) runPeakRSS(ctx context.Context) (int64, error) {
	cfg := w.env.Config
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PROCBOT_") {
			env = append(env, kv)
		}
	}
	env = append(env, w.opts.ProcbotEnv...)
	env = append(env,
		"PROCBOT_DB_PATH="+cfg.DBPath, "PROCBOT_LOG_FORMAT=json", "PROCBOT_LOG_LEVEL=warn",
		"PROCBOT_POLL_INTERVAL=1s",
		"PROCBOT_GGUS_URL="+cfg.GGUS.URL, "PROCBOT_GGUS_TOKEN="+cfg.GGUS.Token.Reveal(),
		"PROCBOT_RT_URL="+cfg.RT.URL, "PROCBOT_RT_TOKEN="+cfg.RT.Token.Reveal(), "PROCBOT_RT_USER="+cfg.RT.User,
		"PROCBOT_OPERATORS="+strings.Join(cfg.Operators, ","), "PROCBOT_ALLOW_HTTP=true")
	cmd := exec.Command(w.opts.Procbot, "run")
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	searches := func() int { return count(w.env.GGUS.Requests(), "POST /tickets/search") }
	before := searches()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start procbot run: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// Each cycle searches GGUS once, early on: when the search of the
	// cycle after the last one is seen, the cycles measured are over. The
	// simulator's count is the only sign of a cycle that the process
	// gives, so it is looked at often.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Minute)
	for searches()-before <= runCycles {
		select {
		case err := <-exited:
			return 0, fmt.Errorf("procbot run stopped by itself (%v):\n%s", err, out.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return 0, ctx.Err()
		case <-deadline:
			_ = cmd.Process.Kill()
			<-exited
			return 0, fmt.Errorf("procbot run made %d cycles in 5 minutes:\n%s", max(searches()-before-1, 0), out.String())
		case <-tick.C:
		}
	}
	// Not the rusage that Wait returns: Linux carries the parent's peak
	// over into a child through fork and exec, so that figure is at least
	// this process's own.
	peak, rerr := highWaterMark(cmd.Process.Pid)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	if err := <-exited; err != nil {
		return 0, fmt.Errorf("procbot run after SIGTERM: %w\n%s", err, out.String())
	}
	return peak, rerr
}

// errNoPeak is the error of a system that does not say a process's peak
// resident set: the figure is left out, the bench goes on.
var errNoPeak = errors.New("peak resident set of procbot run not measured: no /proc/PID/status VmHWM (Linux only)")

// highWaterMark is the peak resident set of a running process, as Linux
// reports it in /proc/PID/status (VmHWM).
func highWaterMark(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, errNoPeak
	}
	for _, line := range strings.Split(string(b), "\n") {
		v, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		if err != nil || kb <= 0 {
			return 0, fmt.Errorf("peak resident set of procbot run: %q in /proc/%d/status", line, pid)
		}
		return kb * 1024, nil
	}
	return 0, errNoPeak
}
