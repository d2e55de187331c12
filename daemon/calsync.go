package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// CalSync is the loop that puts interviews on the user's own calendar: each
// interview changed since its last sync is written as one .ics file per UID
// in Dir (and PUT to, or DELETEd from, the CalDAV calendar when Remote is
// set) after the transaction that changed it committed. Failures are logged
// once per backoff step, recorded for `status`, and retried. It also reads
// availability.busy again every BusyEvery, so that AgreeTx finds it fresh;
// a broken busy calendar is reported and skipped.
type CalSync struct {
	O      *outreach.Outreach
	Dir    calendar.Dir
	Remote outreach.RemoteCalendar // nil: no CalDAV
	Log    *slog.Logger

	Poll       time.Duration // how often to look for changes; default 1s
	MinBackoff time.Duration // first wait after a failure; default 5s
	MaxBackoff time.Duration // default 10 minutes
	BusyEvery  time.Duration // default 10 minutes
}

// NewCalSync builds the calendar sync from o's config: calendar.ics_dir (or
// its default) and, when calendar.caldav_url is set, CalDAV with
// caldav_username and the password from caldav_password_cmd or _env.
func NewCalSync(ctx context.Context, o *outreach.Outreach, log *slog.Logger) (*CalSync, error) {
	dir, err := o.Cfg.ICSDir()
	if err != nil {
		return nil, err // names calendar.ics_dir
	}
	s := &CalSync{O: o, Dir: calendar.Dir{Path: dir}, Log: log}
	if u := strings.TrimSpace(o.Cfg.Calendar.CalDAVURL); u != "" {
		pass := ""
		if o.Cfg.Calendar.CalDAVPasswordCmd != "" || o.Cfg.Calendar.CalDAVPasswordEnv != "" {
			if pass, err = o.Cfg.Calendar.CalDAVSecret(ctx); err != nil {
				return nil, err
			}
		}
		dav, err := calendar.NewCalDAV(u, o.Cfg.Calendar.CalDAVUsername, pass, &http.Client{Timeout: 30 * time.Second})
		if err != nil {
			return nil, fmt.Errorf("calendar.caldav_url: %w", err)
		}
		s.Remote = dav
	}
	return s, nil
}

// Name implements Loop.
func (s *CalSync) Name() string { return "calsync" }

// Run implements Loop.
func (s *CalSync) Run(ctx context.Context) error {
	poll := orDefault(s.Poll, time.Second)
	busyEvery := orDefault(s.BusyEvery, 10*time.Minute)
	b := backoff{min: orDefault(s.MinBackoff, 5*time.Second), max: orDefault(s.MaxBackoff, 10*time.Minute)}
	var nextBusy time.Time
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		now := time.Now()
		if len(s.O.Cfg.Availability.Busy) > 0 && !now.Before(nextBusy) {
			nextBusy = now.Add(busyEvery)
			if err := s.O.RefreshBusy(ctx); err != nil && ctx.Err() == nil {
				s.note(ctx, "busy calendar", err)
			}
		}
		if b.ready(now) {
			if _, err := s.O.SyncInterviews(ctx, s.Dir, s.Remote); err != nil && ctx.Err() == nil {
				wait := b.fail(now)
				s.Log.Error("calendar sync failed; retrying", "err", err, "retry_in", wait)
				s.note(ctx, "calendar sync", err)
			} else if err == nil {
				b.ok()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// note records a problem for `status` (its own short transaction).
func (s *CalSync) note(ctx context.Context, source string, err error) {
	if err := s.O.DB.Update(ctx, func(tx *store.Tx) error {
		return tx.NoteDaemonError(ctx, source, err.Error())
	}); err != nil && ctx.Err() == nil {
		s.Log.Warn("record daemon error", "err", err)
	}
}
