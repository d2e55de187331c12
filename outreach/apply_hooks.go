package outreach

import (
	"context"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

// agreeTx hands an agreement with a definite time to the calendar side
// (AgreeTx: the interview, the invite, or a pick_time review item).
func (o *Outreach) agreeTx(ctx context.Context, tx *store.Tx, a store.Ask, in store.Message, start time.Time, why string) error {
	return o.AgreeTx(ctx, tx, a, in, start, why)
}

// calendarTx hands an iMIP message to the calendar side (ApplyCalendarTx),
// with the calendar already parsed, or nil when it did not parse (the hook
// then sets it aside as a bad_calendar review item).
func (o *Outreach) calendarTx(ctx context.Context, tx *store.Tx, a *store.Ask, in *store.Message, d *decision) error {
	if err := tx.AddEvent(ctx, a.ID, "calendar_reply", d.reason, in.ID); err != nil {
		return err
	}
	cal := d.cal
	if d.calErr != nil {
		cal = nil
	}
	return o.ApplyCalendarTx(ctx, tx, *a, *in, cal)
}

// earliestFreeSlot is the first proposed slot of a still ahead, inside
// availability and free (zero when none is): what "any of those" means.
func (o *Outreach) earliestFreeSlot(ctx context.Context, tx *store.Tx, a *store.Ask) (time.Time, error) {
	s, ok, err := o.EarliestFreeSlotTx(ctx, tx, *a)
	if err != nil || !ok {
		return time.Time{}, err
	}
	return s.Start, nil
}
