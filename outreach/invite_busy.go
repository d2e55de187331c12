package outreach

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
)

// busyCache keeps the busy time of availability.busy, so that a check made
// inside a transaction (AgreeTx) does not fetch a URL while holding it when
// the daemon refreshed it recently (RefreshBusy).
type busyCache struct {
	mu       sync.Mutex
	loadedAt time.Time
	from, to time.Time
	ivs      []calendar.Interval
	errs     []error
}

// busyFresh is how long a loaded busy calendar is trusted.
const busyFresh = 15 * time.Minute

// busyFetchTimeout bounds a fetch made when the cache is cold.
const busyFetchTimeout = 5 * time.Second

// RefreshBusy reads availability.busy again over the scheduling horizon. A
// broken source is logged and skipped; the errors are returned joined (the
// calendar sync loop records them for `status`).
func (o *Outreach) RefreshBusy(ctx context.Context) error {
	c := o.busyCache()
	now := o.now()
	from, to := now.Add(-24*time.Hour), now.Add(o.Cfg.Horizon()+48*time.Hour)
	ivs, errs := calendar.LoadBusy(ctx, nil, o.Cfg.Availability.Busy, from, to)
	for _, err := range errs {
		o.Log.Warn("busy calendar skipped", "err", err)
	}
	c.mu.Lock()
	c.loadedAt, c.from, c.to, c.ivs, c.errs = now, from, to, ivs, errs
	c.mu.Unlock()
	return errors.Join(errs...)
}

// busyTimes returns the busy intervals overlapping [from, to): from the
// cache when it is fresh and covers them, else loaded now (bounded by
// busyFetchTimeout). Broken sources are skipped.
func (o *Outreach) busyTimes(ctx context.Context, from, to time.Time) []calendar.Interval {
	if len(o.Cfg.Availability.Busy) == 0 {
		return nil
	}
	c := o.busyCache()
	c.mu.Lock()
	fresh := !c.loadedAt.IsZero() && o.now().Sub(c.loadedAt) < busyFresh && !from.Before(c.from) && !to.After(c.to)
	ivs := c.ivs
	c.mu.Unlock()
	if fresh {
		return ivs
	}
	lctx, cancel := context.WithTimeout(ctx, busyFetchTimeout)
	defer cancel()
	if err := o.RefreshBusy(lctx); err != nil {
		o.Log.Warn("busy time is partial", "err", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if from.Before(c.from) || to.After(c.to) {
		// Outside the horizon: read just this span.
		ivs, _ := calendar.LoadBusy(lctx, nil, o.Cfg.Availability.Busy, from, to)
		return ivs
	}
	return c.ivs
}

// BusyErrors returns the problems of the last busy refresh.
func (o *Outreach) BusyErrors() []error {
	c := o.busyCache()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

func (o *Outreach) busyCache() *busyCache {
	return &o.busy
}
