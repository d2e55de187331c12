package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"
)

// Loop is one of the daemon's background jobs: the sender, the inbox watcher,
// the scheduler, the calendar sync. Run returns when ctx is done (nil) or on an
// error it cannot recover from; transient errors are the loop's own business
// (log, back off, retry).
type Loop interface {
	Name() string
	Run(ctx context.Context) error
}

// LoopFunc adapts a function to Loop.
type LoopFunc struct {
	N string
	F func(ctx context.Context) error
}

// Name implements Loop.
func (l LoopFunc) Name() string { return l.N }

// Run implements Loop.
func (l LoopFunc) Run(ctx context.Context) error { return l.F(ctx) }

// Build makes the loops for one configuration generation. It is called at
// start and again on every reload (SIGHUP); an error keeps the loops running.
type Build func(ctx context.Context) ([]Loop, error)

// Daemon runs loops under one errgroup, restarts them with a fresh Build on
// SIGHUP, and stops in two phases: loops are asked to stop taking new work
// (their context is cancelled) and get Grace to finish what is in flight.
type Daemon struct {
	Log   *slog.Logger
	Build Build
	Grace time.Duration // default 4s: the whole stop stays under 5 s
	// Reload, when set, receives reload requests instead of SIGHUP (tests).
	Reload <-chan struct{}
	// Ready, when set, is closed once the first generation of loops runs.
	Ready chan<- struct{}
}

// Run blocks until ctx is done or a loop fails.
func (d *Daemon) Run(ctx context.Context) error {
	grace := d.Grace
	if grace <= 0 {
		grace = 4 * time.Second
	}
	reload := d.Reload
	if reload == nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		ch := make(chan struct{}, 1)
		go func() {
			for range hup {
				select {
				case ch <- struct{}{}:
				default:
				}
			}
		}()
		reload = ch
	}

	loops, err := d.Build(ctx)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	for gen := 1; ; gen++ {
		genCtx, stop := context.WithCancel(ctx)
		g, gctx := errgroup.WithContext(genCtx)
		for _, l := range loops {
			g.Go(func() error {
				if err := l.Run(gctx); err != nil && !errors.Is(err, context.Canceled) {
					return fmt.Errorf("%s: %w", l.Name(), err)
				}
				return nil
			})
		}
		done := make(chan error, 1)
		go func() { done <- g.Wait() }()
		d.Log.Info("daemon running", "generation", gen, "loops", len(loops))
		if gen == 1 && d.Ready != nil {
			close(d.Ready)
		}

		var next []Loop
	wait:
		for {
			select {
			case err := <-done:
				stop()
				if ctx.Err() != nil {
					return nil
				}
				if err == nil {
					err = errors.New("every loop stopped")
				}
				return err
			case <-ctx.Done():
				stop()
				d.finish(done, grace)
				return nil
			case <-reload:
				nl, err := d.Build(ctx)
				if err != nil {
					d.Log.Error("reload refused; the running configuration stays", "err", err)
					continue
				}
				next = nl
				break wait
			}
		}
		d.Log.Info("reloading")
		stop()
		if err := d.finish(done, grace); err != nil {
			d.Log.Warn("loop ended with an error during reload", "err", err)
		}
		loops = next
	}
}

// finish waits up to grace for the loops to return.
func (d *Daemon) finish(done <-chan error, grace time.Duration) error {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		d.Log.Warn("loops did not stop in time; leaving them", "grace", grace)
		return nil
	}
}
