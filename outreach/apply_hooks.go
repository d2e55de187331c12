package outreach

import (
	"context"
	"fmt"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

// agreeTx hands an agreement with a definite time to the calendar side.
// Until its hook exists, the time is recorded on the ask, which moves to
// agreed.
func (o *Outreach) agreeTx(ctx context.Context, tx *store.Tx, a store.Ask, in store.Message, start time.Time, why string) error {
	a.AgreedStart = start.UTC()
	if err := tx.SaveAsk(ctx, &a); err != nil {
		return err
	}
	detail := fmt.Sprintf("%s agreed to %s: %s", in.From, start.In(o.Cfg.Location()).Format(time.RFC3339), why)
	return tx.SetAskStateFor(ctx, a.ID, store.AskAgreed, "agreed", detail, in.ID)
}

// calendarTx hands an iMIP message to the calendar side. Until its hook
// exists, the message is recorded on the timeline and set aside for the user.
func (o *Outreach) calendarTx(ctx context.Context, tx *store.Tx, a *store.Ask, in *store.Message, d *decision) error {
	detail := d.reason
	if err := tx.AddEvent(ctx, a.ID, "calendar_reply", detail, in.ID); err != nil {
		return err
	}
	return o.review(ctx, tx, a.ID, in.ID, "calendar", "Calendar "+in.CalendarMethod+" from "+d.msg.From.Address+": "+detail, d)
}
