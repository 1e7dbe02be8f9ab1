package app

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrAborted is what Run returns when Abort cut it short.
var ErrAborted = errors.New("stopped at once: the cycle under way was cut short; the next start carries on from what was recorded")

// Run is procbot's daemon: it polls the trackers every PROCBOT_POLL_INTERVAL
// and sends the digests on schedule, until ctx ends. A cycle under way when
// ctx ends is finished, not cut short: it has PROCBOT_CYCLE_TIMEOUT at most,
// which the stop timeouts in deploy/ leave room for. Abort cuts it short.
func (a *App) Run(ctx context.Context) error {
	cfg, log := a.Config, a.Log
	log.Info().Str("db", cfg.DBPath).Dur("poll_interval", cfg.PollInterval).Dur("cycle_timeout", cfg.CycleTimeout).Bool("dry_run", cfg.DryRun).Msg("procbot started")
	stopping := context.AfterFunc(ctx, func() {
		log.Info().Dur("cycle_timeout", cfg.CycleTimeout).Msg("stopping: finishing the cycle under way; a second signal stops at once")
	})
	defer stopping()

	// The digests stop with ctx, finishing a run under way, and at once on
	// Abort.
	var mail sync.WaitGroup
	mail.Add(1)
	go func() {
		defer mail.Done()
		if err := a.Mail.Run(ctx, a.aborted); err != nil {
			log.Error().Err(err).Msg("weekly digest stopped")
		}
	}()
	defer mail.Wait()

	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if a.aborted.Err() != nil {
			return ErrAborted
		}
		select {
		case <-ctx.Done():
			log.Info().Msg("procbot stopped")
			return nil
		case <-a.aborted.Done():
			return ErrAborted
		case <-timer.C:
		}
		if ctx.Err() != nil {
			continue // stopped while the timer fired: no new cycle
		}
		a.cycle()
		timer.Reset(cfg.PollInterval)
	}
}

// cycle runs one poll cycle within PROCBOT_CYCLE_TIMEOUT.
func (a *App) cycle() {
	ctx, cancel := context.WithTimeout(a.aborted, a.Config.CycleTimeout)
	defer cancel()
	if err := a.connect(ctx); err != nil {
		a.Log.Warn().Err(err).Msg("a tracker is still not usable; the other carries on")
	}
	if err := a.Daemon.Cycle(ctx); err != nil {
		a.Log.Error().Err(err).Msg("cycle failed")
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		a.Log.Warn().Dur("cycle_timeout", a.Config.CycleTimeout).Msg("the cycle reached PROCBOT_CYCLE_TIMEOUT; what it did not finish is carried on by the next one")
	}
}

// Abort stops Run at once: the cycle under way is cancelled. Every write
// procbot makes is recorded before and after, so the next start carries on
// from where it stopped.
func (a *App) Abort() {
	a.Log.Warn().Msg("stopping at once: cutting the cycle under way short")
	a.abort()
}
