package outreach

import (
	"context"
	"fmt"
	"strings"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/store"
)

// movedTx saves iv (ours, checked) at slot and queues what tells the person.
// When no calendar message of the ask has left yet, the pending invite is
// rewritten: a fresh invitation for the new time, same SEQUENCE, replacing
// the unsent one (calendarMessageTx makes it stale); the old time, which
// the person never saw, is not mentioned. Otherwise an update goes with
// SEQUENCE+1, naming the time of the last invitation that left (not a time
// only ever queued). It returns the message and the timeline detail.
func (o *Outreach) movedTx(ctx context.Context, tx *store.Tx, a *store.Ask, iv *store.Interview, slot store.Slot) (*store.Message, string, error) {
	loc := o.Cfg.Location()
	old := slotOf(iv)
	sent, err := calendarSent(ctx, tx, a.ID)
	if err != nil {
		return nil, "", err
	}
	seen, seenOK, err := lastSentSlot(ctx, tx, a.ID)
	if err != nil {
		return nil, "", err
	}
	iv.Start, iv.End, iv.Status = slot.Start, slot.End, store.InterviewInvited
	if sent {
		iv.Sequence++
	}
	if err := tx.SaveInterview(ctx, iv); err != nil {
		return nil, "", err
	}
	target, err := tx.Contact(ctx, a.TargetID)
	if err != nil {
		return nil, "", err
	}
	who, toAddr, err := counterpartOf(ctx, tx, a)
	if err != nil {
		return nil, "", err
	}
	ev := o.eventOf(a, iv, who, tx.Now())
	d := Data{Me: o.me(), To: personOf(target), Target: personOf(target), Topic: a.Topic,
		Meeting: FormatSlot(slot, loc), Location: iv.Location, Zone: slot.Start.In(loc).Format("MST")}
	invSubject, invNote, err := o.Tmpl.Render(TmplInviteNote, d)
	if err != nil {
		return nil, "", err
	}
	if !sent {
		m, err := o.calendarMessageTx(ctx, tx, a, nil, iv, ev, calendar.MethodRequest, store.PurposeInvite, invSubject, invNote, toAddr)
		if err != nil {
			return nil, "", err
		}
		return m, fmt.Sprintf("interview %d moved from %s to %s before the invite left: invite rewritten (SEQUENCE %d), %s",
			iv.ID, FormatSlot(old, loc), FormatSlot(slot, loc), iv.Sequence, sentOrQueued(m)), nil
	}
	was := ""
	if seenOK && (!seen.Start.Equal(slot.Start) || !seen.End.Equal(slot.End)) {
		was = fmt.Sprintf(" (it was %s)", FormatSlot(seen, loc))
	}
	note := fmt.Sprintf("Hi %s,\n\nI've moved our conversation to %s%s. The updated invitation is attached; I hope the new time works for you.\n\n%s",
		firstName(who.Name), FormatSlot(slot, loc), was, o.Cfg.Account.Name)
	m, err := o.calendarMessageTx(ctx, tx, a, nil, iv, ev, calendar.MethodRequest, store.PurposeInviteUpdate, updateSubject(invSubject), note, toAddr)
	if err != nil {
		return nil, "", err
	}
	return m, fmt.Sprintf("interview %d moved from %s to %s (SEQUENCE %d), update %s",
		iv.ID, FormatSlot(old, loc), FormatSlot(slot, loc), iv.Sequence, sentOrQueued(m)), nil
}

// updateSubject is the subject of an update, from the invite template's
// subject for the new time: "Invitation: Sam / Priya, <when>" becomes
// "Updated invitation: Sam / Priya, <when>".
func updateSubject(inviteSubject string) string {
	if rest, ok := strings.CutPrefix(inviteSubject, "Invitation:"); ok {
		return "Updated invitation:" + rest
	}
	return "Updated: " + inviteSubject
}

// lastSentSlot is the time of the ask's newest invitation or update that
// left (or may have: sending, uncertain): the time the person last saw.
func lastSentSlot(ctx context.Context, tx *store.Tx, askID int64) (store.Slot, bool, error) {
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: askID, Direction: store.Out,
		States: []string{store.MsgSending, store.MsgSent, store.MsgUncertain}})
	if err != nil {
		return store.Slot{}, false, err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		if m.Purpose != store.PurposeInvite && m.Purpose != store.PurposeInviteUpdate || len(m.Calendar) == 0 {
			continue
		}
		cal, err := calendar.Parse(m.Calendar)
		if err != nil || len(cal.Events) == 0 {
			continue // our own calendar, unreadable: say no old time
		}
		return store.Slot{Start: cal.Events[0].Start, End: cal.Events[0].End}, true, nil
	}
	return store.Slot{}, false, nil
}
