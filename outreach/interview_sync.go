package outreach

import (
	"context"
	"errors"
	"fmt"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/store"
)

// RemoteCalendar is a calendar server holding the user's events
// (*calendar.CalDAV).
type RemoteCalendar interface {
	Put(ctx context.Context, ev calendar.Event) error
	Delete(ctx context.Context, uid string) error
}

// UserEvent is the user's own copy of an interview, as the .ics folder and
// CalDAV keep it: a cancelled or declined interview is CANCELLED.
func (o *Outreach) UserEvent(ctx context.Context, tx *store.Tx, iv *store.Interview) (calendar.Event, error) {
	a, err := tx.Ask(ctx, iv.AskID)
	if err != nil {
		return calendar.Event{}, err
	}
	who, _, err := counterpartOf(ctx, tx, a)
	if err != nil {
		return calendar.Event{}, err
	}
	ev := o.eventOf(a, iv, who, iv.UpdatedAt)
	if iv.Status == store.InterviewDeclined {
		ev.Status = calendar.StatusCancelled
	}
	return ev, nil
}

// SyncInterviews writes every interview changed since its last sync to the
// user's calendar: one .ics file per UID in dir (updated in place; cancelled
// ones kept as CANCELLED), and on the remote calendar when there is one
// (PUT, or DELETE once cancelled or declined). A row is marked synced only
// after both succeeded, and only if it did not change meanwhile, so a
// failure or a concurrent change is written again on the next call. It
// returns how many were synced and the failures joined.
func (o *Outreach) SyncInterviews(ctx context.Context, dir calendar.Dir, remote RemoteCalendar) (int, error) {
	type job struct {
		iv *store.Interview
		ev calendar.Event
	}
	var jobs []job
	var errs []error
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		ivs, err := tx.UnsyncedInterviews(ctx)
		if err != nil {
			return err
		}
		for _, iv := range ivs {
			ev, err := o.UserEvent(ctx, tx, iv)
			if err != nil {
				errs = append(errs, fmt.Errorf("interview %d: %w", iv.ID, err))
				continue
			}
			jobs = append(jobs, job{iv, ev})
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if err := o.syncOne(ctx, dir, remote, j.iv, j.ev); err != nil {
			errs = append(errs, fmt.Errorf("interview %d: %w", j.iv.ID, err))
			continue
		}
		marked, err := updateTx(ctx, o.DB, func(tx *store.Tx) (bool, error) {
			return tx.MarkInterviewSynced(ctx, j.iv.ID, j.iv.Version)
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if marked {
			n++
			o.Log.Info("interview on your calendar", "interview", j.iv.ID, "uid", j.iv.UID, "status", j.iv.Status, "sequence", j.iv.Sequence)
		}
	}
	return n, errors.Join(errs...)
}

func (o *Outreach) syncOne(ctx context.Context, dir calendar.Dir, remote RemoteCalendar, iv *store.Interview, ev calendar.Event) error {
	if dir.Path != "" {
		if err := dir.Write(ev); err != nil {
			return err
		}
	}
	if remote == nil {
		return nil
	}
	if ev.Status == calendar.StatusCancelled {
		return remote.Delete(ctx, ev.UID)
	}
	return remote.Put(ctx, ev)
}
