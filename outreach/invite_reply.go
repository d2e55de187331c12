package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// ApplyCalendarTx is the inbox's hook for an iMIP message from the person
// of an ask. REPLY (ACCEPTED, DECLINED, TENTATIVE) updates the interview
// found by UID and attendee (a SEQUENCE older than ours is noted, not
// applied); COUNTER becomes a counter review item; a REQUEST organized by
// them is linked as the ask's interview (a queued invite of ours is not
// sent); CANCEL cancels the interview here. cal may be nil when the inbox
// could not parse the calendar: it is read again from in.Raw (or
// in.Calendar), and a malformed one becomes a bad_calendar review item with
// the reason. Nothing is lost: the incoming message stays stored.
func (o *Outreach) ApplyCalendarTx(ctx context.Context, tx *store.Tx, ask store.Ask, in store.Message, cal *calendar.Message) error {
	if cal == nil {
		var err error
		if cal, err = calendarOfMessage(&in); err != nil {
			return o.badCalendarTx(ctx, tx, &ask, &in, err.Error())
		}
	}
	if len(cal.Events) == 0 {
		return o.badCalendarTx(ctx, tx, &ask, &in, "the calendar has no event")
	}
	from := ""
	if a, err := mail.ParseAddress(in.From); err == nil {
		from = strings.ToLower(a.Address)
	}
	for i := range cal.Events {
		ev := cal.Events[i]
		var err error
		switch cal.Method {
		case calendar.MethodReply:
			err = o.calReplyTx(ctx, tx, &ask, &in, ev, from)
		case calendar.MethodCounter:
			err = o.calCounterTx(ctx, tx, &ask, &in, ev)
		case calendar.MethodRequest:
			err = o.calRequestTx(ctx, tx, &ask, &in, ev, from)
		case calendar.MethodCancel:
			err = o.calCancelTx(ctx, tx, &ask, &in, ev)
		default:
			err = o.badCalendarTx(ctx, tx, &ask, &in, fmt.Sprintf("unexpected calendar METHOD %q", cal.Method))
		}
		if err != nil {
			return err
		}
		if cal.Method != calendar.MethodReply && cal.Method != calendar.MethodCancel {
			break // one event decides a COUNTER or a REQUEST
		}
	}
	return nil
}

// calendarOfMessage reads the calendar of a stored incoming message.
func calendarOfMessage(in *store.Message) (*calendar.Message, error) {
	data := in.Calendar
	if len(data) == 0 && len(in.Raw) > 0 {
		m, err := inbox.Read(in.Raw, inbox.ReadOptions{})
		if err != nil {
			return nil, err
		}
		data = m.Calendar
	}
	if len(data) == 0 {
		return nil, errors.New("the message carries no calendar")
	}
	return calendar.Parse(data)
}

// badCalendarTx sets a calendar message aside as a bad_calendar review item.
func (o *Outreach) badCalendarTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, reason string) error {
	detail, _ := json.Marshal(map[string]string{"reason": reason, "from": in.From, "subject": in.Subject})
	item := &store.ReviewItem{AskID: ask.ID, MessageID: in.ID, Kind: ReviewBadCalendar,
		Summary: "calendar message not applied: " + reason, Detail: string(detail)}
	if err := tx.InsertReviewItem(ctx, item); err != nil {
		return err
	}
	o.Log.Warn("calendar message set aside", "ask", ask.ID, "reason", reason)
	return tx.AddEvent(ctx, ask.ID, "calendar", "not applied: "+reason+fmt.Sprintf(" (review r%d)", item.ID), in.ID)
}

// personFor is the ask's person as an attendee (the address in.From when it
// is theirs).
func (o *Outreach) isTheirs(ctx context.Context, tx *store.Tx, ask *store.Ask, addr string) (bool, error) {
	if ask.TargetID == 0 || addr == "" {
		return false, nil
	}
	c, err := tx.Contact(ctx, ask.TargetID)
	if err != nil {
		return false, err
	}
	return containsFold(c.Emails, addr), nil
}

func (o *Outreach) calReplyTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, ev calendar.Event, from string) error {
	iv, err := tx.FindInterview(ctx, ev.UID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && iv.AskID != ask.ID) {
		return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("a reply to an event coffeechat did not send (UID %s)", ev.UID))
	}
	if err != nil {
		return err
	}
	var who *calendar.Person
	for i := range ev.Attendees {
		a := &ev.Attendees[i]
		ok, err := o.isTheirs(ctx, tx, ask, a.Email)
		if err != nil {
			return err
		}
		if ok || strings.EqualFold(a.Email, from) {
			who = a
			break
		}
	}
	if who == nil {
		return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("a reply for interview %d from an attendee who was not invited (%s)", iv.ID, attendeesText(ev)))
	}
	if ev.Sequence < iv.Sequence {
		return tx.AddEvent(ctx, ask.ID, "calendar", fmt.Sprintf("%s replied %s to an older version of interview %d (SEQUENCE %d < %d): not applied",
			who.Email, who.PartStat, iv.ID, ev.Sequence, iv.Sequence), in.ID)
	}
	if iv.Status == store.InterviewCancelled {
		return tx.AddEvent(ctx, ask.ID, "calendar", fmt.Sprintf("%s replied %s to cancelled interview %d: not applied", who.Email, who.PartStat, iv.ID), in.ID)
	}
	var status string
	switch who.PartStat {
	case calendar.PartAccepted:
		status = store.InterviewAccepted
	case calendar.PartTentative:
		status = store.InterviewTentative
	case calendar.PartDeclined:
		status = store.InterviewDeclined
	default:
		return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("a reply with PARTSTAT %q for interview %d", who.PartStat, iv.ID))
	}
	iv.Status = status
	if err := tx.SaveInterview(ctx, iv); err != nil {
		return err
	}
	o.Log.Info("invite answered", "ask", ask.ID, "interview", iv.ID, "status", status)
	loc := o.Cfg.Location()
	what := fmt.Sprintf("%s %s the invitation for %s (interview %d)", who.Email, status, FormatSlot(slotOf(iv), loc), iv.ID)
	if status != store.InterviewDeclined {
		return tx.AddEvent(ctx, ask.ID, "invite "+status, what, in.ID)
	}
	if err := tx.AddEvent(ctx, ask.ID, "invite declined", what, in.ID); err != nil {
		return err
	}
	return o.pickTimeTx(ctx, tx, ask, in, iv.Start, "", "they declined the invitation for "+FormatSlot(slotOf(iv), loc)+": pick another time, or reject this item")
}

func attendeesText(ev calendar.Event) string {
	var out []string
	for _, a := range ev.Attendees {
		out = append(out, a.Email)
	}
	if len(out) == 0 {
		return "no attendee"
	}
	return strings.Join(out, ", ")
}

// calCounterTx turns a COUNTER into a counter review item; approving it
// moves the interview to the proposed time.
func (o *Outreach) calCounterTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, ev calendar.Event) error {
	iv, err := tx.FindInterview(ctx, ev.UID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && iv.AskID != ask.ID) {
		return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("a counter-proposal for an event coffeechat did not send (UID %s)", ev.UID))
	}
	if err != nil {
		return err
	}
	loc := o.Cfg.Location()
	s := store.Slot{Start: ev.Start.UTC(), End: ev.End.UTC()}
	if !s.End.After(s.Start) {
		s.End = s.Start.Add(iv.End.Sub(iv.Start))
	}
	reason := fmt.Sprintf("they propose %s instead of %s", FormatSlot(s, loc), FormatSlot(slotOf(iv), loc))
	if why, err := o.unfitTx(ctx, tx, ask.ID, s, true); err != nil {
		return err
	} else if why != "" {
		reason += " (" + why + ")"
	}
	if ev.Comment != "" {
		reason += `: "` + strings.TrimSpace(ev.Comment) + `"`
	}
	d := PickTime{Reason: reason, Asked: s.Start, Candidates: []store.Slot{s}, ReplyTo: in.ID, Interview: iv.ID}
	detail, _ := json.Marshal(d)
	item := &store.ReviewItem{AskID: ask.ID, MessageID: in.ID, Kind: ReviewCounter, Detail: string(detail),
		Summary: reason + fmt.Sprintf(" — approve to move interview %d there, or reject to keep it", iv.ID)}
	if err := tx.InsertReviewItem(ctx, item); err != nil {
		return err
	}
	return tx.AddEvent(ctx, ask.ID, "counter", reason+fmt.Sprintf(" (review r%d)", item.ID), in.ID)
}

// calRequestTx links their own invitation as the ask's interview.
func (o *Outreach) calRequestTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, ev calendar.Event, from string) error {
	if strings.EqualFold(ev.Organizer.Email, o.Cfg.Account.Email) {
		return tx.AddEvent(ctx, ask.ID, "calendar", "a copy of our own invitation came back: nothing to do", in.ID)
	}
	theirs, err := o.isTheirs(ctx, tx, ask, ev.Organizer.Email)
	if err != nil {
		return err
	}
	if !theirs && !strings.EqualFold(ev.Organizer.Email, from) {
		return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("an invitation organized by %s, not by the person of this ask", ev.Organizer.Email))
	}
	if ev.Start.IsZero() || !ev.End.After(ev.Start) {
		return o.badCalendarTx(ctx, tx, ask, in, "an invitation without a start and an end")
	}
	loc := o.Cfg.Location()
	s := store.Slot{Start: ev.Start.UTC(), End: ev.End.UTC()}
	if iv, err := tx.FindInterview(ctx, ev.UID); err == nil {
		if iv.AskID != ask.ID || iv.Organizer != store.OrganizerThem {
			return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("an invitation reusing the UID of interview %d", iv.ID))
		}
		if ev.Sequence < iv.Sequence {
			return tx.AddEvent(ctx, ask.ID, "calendar", fmt.Sprintf("an older version of their invitation (SEQUENCE %d < %d): not applied", ev.Sequence, iv.Sequence), in.ID)
		}
		iv.Sequence, iv.Start, iv.End, iv.Location = ev.Sequence, s.Start, s.End, strings.TrimSpace(ev.Location)
		if iv.Status == store.InterviewCancelled || iv.Status == store.InterviewDeclined {
			iv.Status = store.InterviewInvited
		}
		if err := tx.SaveInterview(ctx, iv); err != nil {
			return err
		}
		return tx.AddEvent(ctx, ask.ID, "invite updated", fmt.Sprintf("their invitation moved to %s (interview %d)", FormatSlot(s, loc), iv.ID), in.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Ours, if any: an unsent one is dropped; a sent one stays for the user.
	note := ""
	if ours, err := tx.InterviewOfAsk(ctx, ask.ID); err == nil {
		sent, err := calendarSent(ctx, tx, ask.ID)
		if err != nil {
			return err
		}
		if !sent {
			if err := o.staleCalendarTx(ctx, tx, ask.ID, "they sent their own invitation"); err != nil {
				return err
			}
			ours.Status = store.InterviewCancelled
			if err := tx.SaveInterview(ctx, ours); err != nil {
				return err
			}
			note = fmt.Sprintf("; our unsent invite (interview %d) dropped", ours.ID)
		} else {
			note = fmt.Sprintf("; our invite (interview %d) had already gone", ours.ID)
			d, _ := json.Marshal(PickTime{Reason: theirInviteAfterOurs, Asked: s.Start, Candidates: []store.Slot{s}, ReplyTo: in.ID, Interview: ours.ID})
			item := &store.ReviewItem{AskID: ask.ID, MessageID: in.ID, Kind: ReviewCounter, Detail: string(d),
				Summary: fmt.Sprintf("they sent their own invitation for %s after ours for %s: cancel ours with `coffeechat interview cancel %d` (approve does that), or reject to keep both",
					FormatSlot(s, loc), FormatSlot(slotOf(ours), loc), ours.ID)}
			if err := tx.InsertReviewItem(ctx, item); err != nil {
				return err
			}
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	iv := &store.Interview{AskID: ask.ID, UID: ev.UID, Sequence: ev.Sequence, Start: s.Start, End: s.End,
		Status: store.InterviewInvited, Organizer: store.OrganizerThem, Location: strings.TrimSpace(ev.Location)}
	if err := tx.InsertInterview(ctx, iv); err != nil {
		return err
	}
	ask.AgreedStart = s.Start
	if err := tx.SaveAsk(ctx, ask); err != nil {
		return err
	}
	// Answered questions of this ask are settled by their invitation.
	if err := resolveOpenItems(ctx, tx, ask.ID, "their invitation arrived", ReviewPickTime); err != nil {
		return err
	}
	o.Log.Info("their invitation linked", "ask", ask.ID, "interview", iv.ID, "uid", iv.UID)
	return tx.SetAskStateFor(ctx, ask.ID, store.AskScheduled, "invite received",
		fmt.Sprintf("their invitation for %s linked as interview %d%s", FormatSlot(s, loc), iv.ID, note), in.ID)
}

// theirInviteAfterOurs is the reason of a counter item for their own
// invitation arriving after ours had left: approving it cancels ours.
const theirInviteAfterOurs = "they sent their own invitation after ours"

// calendarSent reports whether a calendar message of the ask has left (or
// may have).
func calendarSent(ctx context.Context, tx *store.Tx, askID int64) (bool, error) {
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: askID, Direction: store.Out,
		States: []string{store.MsgSending, store.MsgSent, store.MsgUncertain}})
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if isCalendarPurpose(m.Purpose) {
			return true, nil
		}
	}
	return false, nil
}

// calCancelTx cancels the interview here.
func (o *Outreach) calCancelTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, ev calendar.Event) error {
	iv, err := tx.FindInterview(ctx, ev.UID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && iv.AskID != ask.ID) {
		return o.badCalendarTx(ctx, tx, ask, in, fmt.Sprintf("a cancellation of an unknown event (UID %s)", ev.UID))
	}
	if err != nil {
		return err
	}
	if ev.Sequence < iv.Sequence {
		return tx.AddEvent(ctx, ask.ID, "calendar", fmt.Sprintf("a cancellation of an older version of interview %d (SEQUENCE %d < %d): not applied", iv.ID, ev.Sequence, iv.Sequence), in.ID)
	}
	if iv.Status == store.InterviewCancelled {
		return tx.AddEvent(ctx, ask.ID, "calendar", fmt.Sprintf("interview %d was already cancelled", iv.ID), in.ID)
	}
	iv.Status = store.InterviewCancelled
	if ev.Sequence > iv.Sequence {
		iv.Sequence = ev.Sequence
	}
	if err := tx.SaveInterview(ctx, iv); err != nil {
		return err
	}
	if err := o.staleCalendarTx(ctx, tx, ask.ID, "they cancelled"); err != nil {
		return err
	}
	o.Log.Info("interview cancelled by them", "ask", ask.ID, "interview", iv.ID)
	return tx.SetAskStateFor(ctx, ask.ID, store.AskClosed, "interview cancelled",
		fmt.Sprintf("they cancelled interview %d (%s)", iv.ID, FormatSlot(slotOf(iv), o.Cfg.Location())), in.ID)
}

// resolveOpenItems resolves the ask's open review items of the given kinds.
func resolveOpenItems(ctx context.Context, tx *store.Tx, askID int64, resolution string, kinds ...string) error {
	items, err := tx.OpenReviewItems(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.AskID == askID && containsFold(kinds, it.Kind) {
			if err := tx.ResolveReviewItem(ctx, it.ID, store.ReviewResolved, resolution); err != nil {
				return err
			}
		}
	}
	return nil
}
