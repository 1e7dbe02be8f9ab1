package bench

import (
	"runtime/metrics"
	"slices"
	"syscall"
	"time"
)

// sample is what one measured stretch of work cost.
type sample struct {
	wall, cpu time.Duration
	alloc     uint64 // bytes allocated on the heap
}

// measure runs f and returns its wall time, the CPU time of the whole
// process (user and system, every goroutine: the simulators serving the
// requests included) and the heap bytes allocated meanwhile.
func measure(f func() error) (sample, error) {
	cpu0, alloc0 := processCPU(), heapAllocated()
	start := time.Now()
	err := f()
	wall := time.Since(start)
	return sample{wall: wall, cpu: processCPU() - cpu0, alloc: heapAllocated() - alloc0}, err
}

// processCPU is the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is the largest resident set the process had so far, in bytes
// (Linux reports ru_maxrss in KiB). It covers the whole process.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}

var allocMetric = []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}

// heapAllocated is the cumulative count of bytes allocated on the heap.
func heapAllocated() uint64 {
	s := slices.Clone(allocMetric)
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// median is the median of the samples, field by field.
func median(ss []sample) sample {
	if len(ss) == 0 {
		return sample{}
	}
	pick := func(get func(sample) int64) int64 {
		v := make([]int64, len(ss))
		for i, s := range ss {
			v[i] = get(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return sample{
		wall:  time.Duration(pick(func(s sample) int64 { return int64(s.wall) })),
		cpu:   time.Duration(pick(func(s sample) int64 { return int64(s.cpu) })),
		alloc: uint64(pick(func(s sample) int64 { return int64(s.alloc) })),
	}
}
