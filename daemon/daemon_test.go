package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// logTap is a slog handler that hands every record's message and attributes
// to a channel, so a test can wait for "reload refused" without sleeping.
type logTap struct {
	ch chan map[string]string
}

func newLogTap() *logTap { return &logTap{ch: make(chan map[string]string, 100)} }

func (h *logTap) Enabled(context.Context, slog.Level) bool { return true }
func (h *logTap) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logTap) WithGroup(string) slog.Handler            { return h }
func (h *logTap) Handle(_ context.Context, r slog.Record) error {
	m := map[string]string{"msg": r.Message}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
	h.ch <- m
	return nil
}

// wait returns the next record whose message is msg, failing after a
// generous bound; records before it are returned in skipped.
func (h *logTap) wait(t *testing.T, msg string) (rec map[string]string, skipped []string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case m := <-h.ch:
			if m["msg"] == msg {
				return m, skipped
			}
			skipped = append(skipped, m["msg"])
		case <-timeout:
			t.Fatalf("no %q in the log; saw %q", msg, skipped)
		}
	}
}

// genLoop is one generation's loop: it says when it runs and when its
// context ends.
type genLoop struct {
	started, stopped chan struct{}
}

func newGenLoop() *genLoop {
	return &genLoop{started: make(chan struct{}), stopped: make(chan struct{})}
}

func (l *genLoop) Name() string { return "test" }
func (l *genLoop) Run(ctx context.Context) error {
	close(l.started)
	<-ctx.Done()
	close(l.stopped)
	return nil
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("waited 20s for %s", what)
	}
}

// startRun runs d until its loops run; stop cancels Run's context, and
// waitRun(t, done) returns what Run returned.
func startRun(t *testing.T, d *Daemon) (stop func(), done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ready := make(chan struct{})
	d.Ready = ready
	ch := make(chan error, 1)
	go func() { ch <- d.Run(ctx) }()
	waitClosed(t, ready, "the loops to run")
	return cancel, ch
}

func waitRun(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Daemon.Run did not return")
		return nil
	}
}

// TestDaemonReloadRefusedKeepsLoops: a reload whose Build fails (a broken
// config) is logged and refused, and the running loops go on untouched; the
// next good reload stops the old generation before the new one starts; a
// cancelled context ends Run with nil.
func TestDaemonReloadRefusedKeepsLoops(t *testing.T) {
	gen1, gen2 := newGenLoop(), newGenLoop()
	var builds atomic.Int32
	tap := newLogTap()
	reload := make(chan struct{})
	d := &Daemon{
		Log: slog.New(tap),
		Build: func(context.Context) ([]Loop, error) {
			switch builds.Add(1) {
			case 1:
				return []Loop{gen1}, nil
			case 2:
				return nil, errors.New("config: followup.after: bad duration")
			default:
				return []Loop{gen2}, nil
			}
		},
		Reload: reload,
		Grace:  10 * time.Second,
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	waitClosed(t, gen1.started, "the first generation to start")

	reload <- struct{}{}
	rec, skipped := tap.wait(t, "reload refused; the running configuration stays")
	if !strings.Contains(rec["err"], "followup.after") {
		t.Errorf("refused reload logged err %q, want the Build error", rec["err"])
	}
	for _, m := range skipped {
		if m == "reloading" {
			t.Errorf("a refused reload logged %q", m)
		}
	}
	if closed(gen1.stopped) {
		t.Fatal("a refused reload stopped the running loops")
	}
	if closed(gen2.started) {
		t.Fatal("a refused reload started a new generation")
	}

	reload <- struct{}{}
	waitClosed(t, gen2.started, "the second generation to start after a good reload")
	if !closed(gen1.stopped) {
		t.Error("the new generation started while the old one still ran")
	}
	if rec, _ := tap.wait(t, "daemon running"); rec["generation"] != "2" {
		t.Errorf("after the good reload: generation %s, want 2", rec["generation"])
	}
	if n := builds.Load(); n != 3 {
		t.Errorf("Build called %d times, want 3", n)
	}

	cancel()
	if err := waitRun(t, done); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if !closed(gen2.stopped) {
		t.Error("Run returned before its loops stopped")
	}
}

// TestDaemonStopWithinGrace: on stop, a loop finishing work in flight gets
// the grace to finish it (Run waits for it); a loop that ignores the stop
// is left behind after the grace, so Run still returns.
func TestDaemonStopWithinGrace(t *testing.T) {
	t.Run("in flight finishes", func(t *testing.T) {
		var finished atomic.Bool
		seen := make(chan struct{})
		d := &Daemon{
			Log:   slog.New(slog.DiscardHandler),
			Grace: 20 * time.Second,
			Build: func(context.Context) ([]Loop, error) {
				return []Loop{LoopFunc{N: "sender", F: func(ctx context.Context) error {
					<-ctx.Done()
					close(seen)
					// The SMTP transaction in flight: longer than it takes Run
					// to return if it did not wait.
					time.Sleep(100 * time.Millisecond)
					finished.Store(true)
					return ctx.Err()
				}}}, nil
			},
			Reload: make(chan struct{}),
		}
		stop, done := startRun(t, d)
		stop()
		if err := waitRun(t, done); err != nil {
			t.Errorf("Run = %v, want nil (context.Canceled from a loop is a normal stop)", err)
		}
		if !finished.Load() {
			t.Error("Run returned before the loop finished its work in flight")
		}
	})

	t.Run("stuck loop left after the grace", func(t *testing.T) {
		release := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		defer func() { close(release); wg.Wait() }()
		tap := newLogTap()
		d := &Daemon{
			Log:   slog.New(tap),
			Grace: 50 * time.Millisecond,
			Build: func(context.Context) ([]Loop, error) {
				return []Loop{LoopFunc{N: "stuck", F: func(context.Context) error {
					defer wg.Done()
					<-release // ignores its context
					return nil
				}}}, nil
			},
			Reload: make(chan struct{}),
		}
		stop, done := startRun(t, d)
		stop()
		if err := waitRun(t, done); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		tap.wait(t, "loops did not stop in time; leaving them")
	})
}

// TestDaemonLoopFailure: a loop that fails ends Run with its error, named
// after the loop, and the other loops are stopped.
func TestDaemonLoopFailure(t *testing.T) {
	other := newGenLoop()
	d := &Daemon{
		Log: slog.New(slog.DiscardHandler),
		Build: func(context.Context) ([]Loop, error) {
			return []Loop{other, LoopFunc{N: "inbox", F: func(ctx context.Context) error {
				<-other.started
				return errors.New("login refused")
			}}}, nil
		},
		Reload: make(chan struct{}),
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(context.Background()) }()
	err := waitRun(t, done)
	if err == nil || !strings.Contains(err.Error(), "inbox: login refused") {
		t.Errorf("Run = %v, want the inbox loop's error", err)
	}
	if !closed(other.stopped) {
		t.Error("the other loop still runs after Run returned")
	}

	d.Build = func(context.Context) ([]Loop, error) { return nil, errors.New("no database") }
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "start: no database") {
		t.Errorf("Run with a failing first Build = %v, want start: no database", err)
	}
}
