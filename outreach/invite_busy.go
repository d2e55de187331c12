package outreach

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/store"
)

// busyCache keeps the busy time of availability.busy. It is filled only
// outside transactions (RefreshBusy, RefreshBusyIfStale: the calendar sync
// loop, the inbox sink before its Apply transaction, the interview
// commands); a check made inside a transaction (AgreeTx, move, schedule)
// reads it and never fetches. A span the cache does not cover is reported
// as unknown, not as free.
type busyCache struct {
	fetch sync.Mutex // one refresh at a time; never taken inside a transaction

	mu       sync.Mutex // guards the fields below; never held across I/O
	loadedAt time.Time
	from, to time.Time
	ivs      []calendar.Interval
	errs     []error
}

// busyFresh is how long a loaded busy calendar is trusted before
// RefreshBusyIfStale reads it again.
const busyFresh = 15 * time.Minute

// busyRetry is how soon RefreshBusyIfStale tries a failed source again.
const busyRetry = time.Minute

// busyFetchTimeout bounds a refresh made by RefreshBusyIfStale.
const busyFetchTimeout = 5 * time.Second

// busyWindow is the span RefreshBusy reads at now: the scheduling horizon
// with a day of margin each side (candidatesTx looks a day past it).
func (o *Outreach) busyWindow(now time.Time) (from, to time.Time) {
	return now.Add(-24 * time.Hour), now.Add(o.Cfg.Horizon() + 48*time.Hour)
}

// RefreshBusy reads availability.busy again over the scheduling horizon. A
// broken source is logged and skipped; the errors are returned joined (the
// calendar sync loop records them for `status`). It must not be called
// inside a transaction.
func (o *Outreach) RefreshBusy(ctx context.Context) error {
	return o.refreshBusy(ctx, nil)
}

// RefreshBusyIfStale reads availability.busy again, bounded by 5 s, unless
// the cache is fresh and covers the scheduling horizon and the extra slots
// (a time to be booked past the horizon). Callers run it before opening
// the transaction that books a time: inside it only the cache is read. A
// failed source is tried again after a minute; its error is returned.
func (o *Outreach) RefreshBusyIfStale(ctx context.Context, extra ...store.Slot) error {
	if len(o.Cfg.Availability.Busy) == 0 {
		return nil
	}
	if !o.busyStale(extra) {
		return nil
	}
	c := o.busyCache()
	c.fetch.Lock()
	defer c.fetch.Unlock()
	if !o.busyStale(extra) { // refreshed while we waited
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, busyFetchTimeout)
	defer cancel()
	return o.refreshBusyLocked(fctx, extra)
}

// busyStale reports whether the cache must be read again to cover the
// horizon and extra.
func (o *Outreach) busyStale(extra []store.Slot) bool {
	c := o.busyCache()
	now := o.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loadedAt.IsZero() {
		return true
	}
	age := now.Sub(c.loadedAt)
	if age >= busyFresh || age < 0 || (len(c.errs) > 0 && age >= busyRetry) {
		return true
	}
	from, to := now, now.Add(o.Cfg.Horizon()+24*time.Hour)
	for _, s := range extra {
		from, to = minTime(from, s.Start), maxTime(to, s.End)
	}
	return from.Before(c.from) || to.After(c.to)
}

func (o *Outreach) refreshBusy(ctx context.Context, extra []store.Slot) error {
	c := o.busyCache()
	c.fetch.Lock()
	defer c.fetch.Unlock()
	return o.refreshBusyLocked(ctx, extra)
}

// refreshBusyLocked loads the busy window widened to the extra slots; the
// caller holds c.fetch (not c.mu).
func (o *Outreach) refreshBusyLocked(ctx context.Context, extra []store.Slot) error {
	c := o.busyCache()
	now := o.now()
	from, to := o.busyWindow(now)
	for _, s := range extra {
		from, to = minTime(from, s.Start), maxTime(to, s.End)
	}
	ivs, errs := calendar.LoadBusy(ctx, nil, o.Cfg.Availability.Busy, from, to)
	for _, err := range errs {
		o.Log.Warn("busy calendar skipped", "err", err)
	}
	c.mu.Lock()
	c.loadedAt, c.from, c.to, c.ivs, c.errs = now, from, to, ivs, errs
	c.mu.Unlock()
	return errors.Join(errs...)
}

// busyTimes returns the cached busy intervals for [from, to). It does no
// I/O: it is called inside transactions. known is false when the cache
// cannot answer (never loaded, a source failed at the last refresh, or the
// span lies outside what was loaded); why then says so. With no
// availability.busy configured there is nothing to know: nil, true.
func (o *Outreach) busyTimes(from, to time.Time) (ivs []calendar.Interval, known bool, why string) {
	if len(o.Cfg.Availability.Busy) == 0 {
		return nil, true, ""
	}
	c := o.busyCache()
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.loadedAt.IsZero():
		return nil, false, "not read yet"
	case len(c.errs) > 0:
		return nil, false, errors.Join(c.errs...).Error()
	case from.Before(c.from) || to.After(c.to):
		return nil, false, fmt.Sprintf("read only for %s to %s", c.from.Format(time.DateOnly), c.to.Format(time.DateOnly))
	}
	var out []calendar.Interval
	for _, iv := range c.ivs {
		if iv.Start.Before(to) && iv.End.After(from) {
			out = append(out, iv)
		}
	}
	return out, true, ""
}

func (o *Outreach) busyCache() *busyCache {
	return &o.busy
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
