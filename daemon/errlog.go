package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

// ErrorFolder is a slog.Handler that keeps a crash loop readable: a warning
// or an error with the same message and the same error text as one already
// logged is logged once, then at most once every Every with a "repeated"
// count of the ones held back meanwhile (a quiet one is summed up by Flush).
// Errors are also kept for `coffeechat status`, folded the same way
// (daemon_errors: source, text, count, first and last time), written by the
// Recorder loop, never by the goroutine that logs.
type ErrorFolder struct {
	next slog.Handler
	st   *foldState
}

// FoldOptions tune an ErrorFolder. Zero values take the defaults.
type FoldOptions struct {
	Level slog.Level       // records at or above are folded; default slog.LevelWarn
	Every time.Duration    // at most one line per kind of error this often; default 1 minute
	Now   func() time.Time // default time.Now
}

// FoldedKey is the attribute holding how many like records were held back
// since the previous line of the same kind.
const FoldedKey = "repeated"

type foldKey struct{ source, text string }

type foldEntry struct {
	h          slog.Handler // the handler chain of the last record, to sum it up
	rec        slog.Record  // the last record held back
	lastLog    time.Time
	last       time.Time
	suppressed int
}

type foldNote struct {
	n           int
	first, last time.Time
}

type foldState struct {
	mu      sync.Mutex
	opts    FoldOptions
	entries map[foldKey]*foldEntry
	notes   map[foldKey]*foldNote // errors not yet written to daemon_errors
	order   []foldKey
}

// NewErrorFolder wraps next.
func NewErrorFolder(next slog.Handler, opts FoldOptions) *ErrorFolder {
	if opts.Level == 0 {
		opts.Level = slog.LevelWarn
	}
	if opts.Every <= 0 {
		opts.Every = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &ErrorFolder{next: next, st: &foldState{opts: opts, entries: map[foldKey]*foldEntry{}, notes: map[foldKey]*foldNote{}}}
}

// Enabled implements slog.Handler.
func (f *ErrorFolder) Enabled(ctx context.Context, l slog.Level) bool { return f.next.Enabled(ctx, l) }

// WithAttrs implements slog.Handler.
func (f *ErrorFolder) WithAttrs(as []slog.Attr) slog.Handler {
	return &ErrorFolder{next: f.next.WithAttrs(as), st: f.st}
}

// WithGroup implements slog.Handler.
func (f *ErrorFolder) WithGroup(name string) slog.Handler {
	return &ErrorFolder{next: f.next.WithGroup(name), st: f.st}
}

// errText is the record's "err" (or "error") attribute, as text.
func errText(r slog.Record) string {
	text := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" || a.Key == "error" {
			v := a.Value.Resolve()
			if e, ok := v.Any().(error); ok && e != nil {
				text = e.Error()
			} else {
				text = v.String()
			}
			return false
		}
		return true
	})
	return text
}

// Handle implements slog.Handler.
func (f *ErrorFolder) Handle(ctx context.Context, r slog.Record) error {
	st := f.st
	if r.Level < st.opts.Level {
		return f.next.Handle(ctx, r)
	}
	now := st.opts.Now()
	k := foldKey{source: r.Message, text: errText(r)}
	st.mu.Lock()
	if r.Level >= slog.LevelError {
		st.note(k, 1, now)
	}
	e := st.entries[k]
	if e == nil {
		st.entries[k] = &foldEntry{h: f.next, lastLog: now, last: now}
		st.gc(now)
		st.mu.Unlock()
		return f.next.Handle(ctx, r)
	}
	e.h, e.last = f.next, now
	if now.Sub(e.lastLog) < st.opts.Every {
		e.suppressed++
		e.rec = r.Clone()
		st.mu.Unlock()
		return nil
	}
	n := e.suppressed
	e.suppressed, e.lastLog, e.rec = 0, now, slog.Record{}
	st.mu.Unlock()
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int(FoldedKey, n))
	}
	return f.next.Handle(ctx, r)
}

// note counts n occurrences of k for daemon_errors. st.mu is held.
func (st *foldState) note(k foldKey, n int, at time.Time) {
	if nt := st.notes[k]; nt != nil {
		nt.n += n
		nt.last = at
		return
	}
	st.notes[k] = &foldNote{n: n, first: at, last: at}
	st.order = append(st.order, k)
}

// gc forgets kinds of error quiet for a long time (nothing held back), so
// that the map stays small. st.mu is held.
func (st *foldState) gc(now time.Time) {
	if len(st.entries) < 256 {
		return
	}
	for k, e := range st.entries {
		if e.suppressed == 0 && now.Sub(e.last) > 10*st.opts.Every {
			delete(st.entries, k)
		}
	}
}

// Flush logs a summary line for every kind of error held back whose last
// line is older than Every (or all of them with all), so that a count is
// never lost when the errors stop.
func (f *ErrorFolder) Flush(ctx context.Context, all bool) {
	st := f.st
	now := st.opts.Now()
	type out struct {
		h slog.Handler
		r slog.Record
	}
	var outs []out
	st.mu.Lock()
	for _, e := range st.entries {
		if e.suppressed == 0 || (!all && now.Sub(e.lastLog) < st.opts.Every) {
			continue
		}
		r := e.rec.Clone()
		r.AddAttrs(slog.Int(FoldedKey, e.suppressed), slog.Time("last", e.last))
		outs = append(outs, out{e.h, r})
		e.suppressed, e.lastLog, e.rec = 0, now, slog.Record{}
	}
	st.mu.Unlock()
	for _, o := range outs {
		_ = o.h.Handle(ctx, o.r)
	}
}

// takeNotes returns and forgets the errors not yet written down.
func (st *foldState) takeNotes() ([]foldKey, map[foldKey]*foldNote) {
	st.mu.Lock()
	defer st.mu.Unlock()
	order, notes := st.order, st.notes
	st.order, st.notes = nil, map[foldKey]*foldNote{}
	return order, notes
}

// putBack returns notes that could not be written, to try again.
func (st *foldState) putBack(order []foldKey, notes map[foldKey]*foldNote) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, k := range order {
		nt := notes[k]
		if cur := st.notes[k]; cur != nil {
			cur.n += nt.n
			cur.first = nt.first
			continue
		}
		st.notes[k] = nt
		st.order = append(st.order, k)
	}
}

// MaxDaemonErrors is how many kinds of error daemon_errors keeps.
const MaxDaemonErrors = 100

// Record writes the errors noted since the last call to daemon_errors, in
// one transaction. On failure they are kept for the next call.
func (f *ErrorFolder) Record(ctx context.Context, db *store.DB) error {
	order, notes := f.st.takeNotes()
	if len(order) == 0 {
		return nil
	}
	err := db.Update(ctx, func(tx *store.Tx) error {
		for _, k := range order {
			nt := notes[k]
			if err := tx.NoteDaemonErrorN(ctx, k.source, k.text, nt.n, nt.first, nt.last); err != nil {
				return err
			}
		}
		return tx.PruneDaemonErrors(ctx, MaxDaemonErrors)
	})
	if err != nil {
		f.st.putBack(order, notes)
		return fmt.Errorf("record daemon errors: %w", err)
	}
	return nil
}

// Recorder is the loop that writes noted errors to db and sums up quiet
// ones every interval (default 2 s), and, when it stops, every one still
// held back.
func (f *ErrorFolder) Recorder(db *store.DB, interval time.Duration) Loop {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	return LoopFunc{N: "errlog", F: func(ctx context.Context) error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
				defer cancel()
				f.Flush(bg, true) // the last counts held back: nothing later would log them
				// Written straight to the next handler: folding its own
				// failure would only hide it.
				if err := f.Record(bg, db); err != nil && !errors.Is(err, context.DeadlineExceeded) {
					f.next.Handle(bg, slog.NewRecord(time.Now(), slog.LevelWarn, "errors not recorded for status", 0))
				}
				return nil
			case <-t.C:
				f.Flush(ctx, false)
				if err := f.Record(ctx, db); err != nil && ctx.Err() == nil {
					r := slog.NewRecord(time.Now(), slog.LevelWarn, "errors not recorded for status; retrying", 0)
					r.AddAttrs(slog.Any("err", err))
					_ = f.Handle(ctx, r)
				}
			}
		}
	}}
}
