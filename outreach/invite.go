package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// Review item kinds of the calendar side.
const (
	ReviewPickTime    = "pick_time"    // a time must be picked before the invite can go
	ReviewCounter     = "counter"      // the person proposed another time (iMIP COUNTER) or sent their own invite
	ReviewBadCalendar = "bad_calendar" // a calendar message that could not be read or applied
)

// PickTime is the detail (JSON) of a pick_time or counter review item.
type PickTime struct {
	Reason     string       `json:"reason"`
	Asked      time.Time    `json:"asked,omitempty"` // the time they agreed to or proposed, if any
	Why        string       `json:"why,omitempty"`   // how the inbox read it
	Candidates []store.Slot `json:"candidates"`
	ReplyTo    int64        `json:"reply_to,omitempty"`  // the incoming message to answer
	Interview  int64        `json:"interview,omitempty"` // counter: the interview to move
}

// AgreeTx is the inbox's hook for a reply that agrees on a start time. The
// time is checked again (inside availability, free of other interviews and
// of busy calendars); then the interview is created with a fresh UID and an
// invitation (METHOD:REQUEST) is queued as a reply to in: approved and sent
// by coffeechat itself when calendar.auto_invite is on, else a draft in the
// queue. The ask moves to scheduled. A zero start, a time in the past,
// outside availability or clashing becomes a pick_time review item with the
// free candidates, and the ask moves to agreed.
func (o *Outreach) AgreeTx(ctx context.Context, tx *store.Tx, ask store.Ask, in store.Message, start time.Time, why string) error {
	av, err := Availability(o.Cfg)
	if err != nil {
		return err
	}
	if existing, err := tx.InterviewOfAsk(ctx, ask.ID); err == nil {
		if existing.Start.Equal(start) {
			return tx.AddEvent(ctx, ask.ID, "agreed", "again, to the interview already scheduled", in.ID)
		}
		return o.pickTimeTx(ctx, tx, &ask, &in, start, why,
			fmt.Sprintf("interview %d is already scheduled for %s; they now agree to another time", existing.ID, FormatSlot(slotOf(existing), av.Loc)))
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if start.IsZero() {
		return o.pickTimeTx(ctx, tx, &ask, &in, start, why, "they agreed without a definite time")
	}
	slot := o.slotAt(&ask, start, av.Slot)
	if reason, err := o.unfitTx(ctx, tx, ask.ID, slot, true); err != nil {
		return err
	} else if reason != "" {
		return o.pickTimeTx(ctx, tx, &ask, &in, start, why, reason)
	}
	_, err = o.inviteTx(ctx, tx, &ask, &in, slot, why)
	return err
}

// EarliestFreeSlotTx returns the earliest of the ask's proposed slots that
// is still ahead, inside availability and free: what "any of those work"
// agrees to. ok is false when none is.
func (o *Outreach) EarliestFreeSlotTx(ctx context.Context, tx *store.Tx, ask store.Ask) (slot store.Slot, ok bool, err error) {
	for _, s := range ask.Slots {
		reason, err := o.unfitTx(ctx, tx, ask.ID, s, true)
		if err != nil {
			return store.Slot{}, false, err
		}
		if reason == "" && (!ok || s.Start.Before(slot.Start)) {
			slot, ok = s, true
		}
	}
	return slot, ok, nil
}

// slotAt is the slot starting at start: a proposed one when it matches, else
// one of the configured length.
func (o *Outreach) slotAt(ask *store.Ask, start time.Time, length time.Duration) store.Slot {
	for _, s := range ask.Slots {
		if s.Start.Equal(start) {
			return store.Slot{Start: s.Start.UTC(), End: s.End.UTC()}
		}
	}
	if length <= 0 {
		length = 30 * time.Minute
	}
	return store.Slot{Start: start.UTC(), End: start.Add(length).UTC()}
}

func slotOf(iv *store.Interview) store.Slot { return store.Slot{Start: iv.Start, End: iv.End} }

// unfitTx says why a slot cannot be booked ("" when it can): in the past,
// outside availability (when checkAvail), overlapping another interview or
// busy time.
func (o *Outreach) unfitTx(ctx context.Context, tx *store.Tx, askID int64, s store.Slot, checkAvail bool) (string, error) {
	av, err := Availability(o.Cfg)
	if err != nil {
		return "", err
	}
	when := FormatSlot(s, av.Loc)
	if !s.Start.After(tx.Now()) {
		return when + " is in the past", nil
	}
	iv := calendar.Interval{Start: s.Start, End: s.End}
	if checkAvail && !calendar.Fits(av, iv) {
		return fmt.Sprintf("%s is outside your availability (%s %s)", when, o.Cfg.Availability.Days, o.Cfg.Availability.Hours), nil
	}
	clash, err := tx.ClashingInterviews(ctx, s.Start, s.End, askID)
	if err != nil {
		return "", err
	}
	if len(clash) > 0 {
		return fmt.Sprintf("%s clashes with interview %d (ask %d) at %s", when, clash[0].ID, clash[0].AskID, FormatSlot(slotOf(clash[0]), av.Loc)), nil
	}
	busy, known, why := o.busyTimes(s.Start, s.End)
	if !known {
		return fmt.Sprintf("%s %s: the busy calendar (availability.busy) could not be checked (%s)", when, busyUncheckedMark, why), nil
	}
	if calendar.Overlaps(busy, iv) {
		return when + " is busy in your calendar (availability.busy)", nil
	}
	return "", nil
}

// busyUncheckedMark is in unfitTx's reason when only the busy calendar
// could not be checked.
const busyUncheckedMark = "may be busy"

// candidatesTx lists times to pick from: the ask's proposed slots still
// free, else fresh free slots.
func (o *Outreach) candidatesTx(ctx context.Context, tx *store.Tx, ask *store.Ask) ([]store.Slot, error) {
	var out []store.Slot
	for _, s := range ask.Slots {
		reason, err := o.unfitTx(ctx, tx, ask.ID, s, true)
		if err != nil {
			return nil, err
		}
		// Unknown busy time does not rule a proposed slot out: the user
		// picks from these, and the item says the calendar was not checked.
		if reason == "" || strings.Contains(reason, busyUncheckedMark) {
			out = append(out, s)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	av, err := Availability(o.Cfg)
	if err != nil {
		return nil, err
	}
	now := tx.Now()
	busy, _, _ := o.busyTimes(now, now.Add(av.Horizon+24*time.Hour)) // unknown: none (see pickTimeTx)
	booked, err := tx.BookedSlots(ctx, now)
	if err != nil {
		return nil, err
	}
	for _, b := range booked {
		busy = append(busy, calendar.Interval{Start: b.Start, End: b.End})
	}
	for _, iv := range calendar.FreeSlots(av, now, busy) {
		out = append(out, store.Slot{Start: iv.Start.UTC(), End: iv.End.UTC()})
	}
	return out, nil
}

// pickTimeTx records that a time must be picked: a pick_time review item
// with the candidates, the ask → agreed.
func (o *Outreach) pickTimeTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, asked time.Time, why, reason string) error {
	cands, err := o.candidatesTx(ctx, tx, ask)
	if err != nil {
		return err
	}
	d := PickTime{Reason: reason, Asked: asked, Why: why, Candidates: cands}
	if in != nil {
		d.ReplyTo = in.ID
	}
	detail, err := json.Marshal(d)
	if err != nil {
		return err
	}
	loc := o.Cfg.Location()
	summary := "pick a time: " + reason
	if len(cands) > 0 {
		var cs []string
		for _, c := range cands {
			cs = append(cs, FormatSlot(c, loc))
		}
		summary += "; candidates: " + strings.Join(cs, "; ")
	}
	if _, known, _ := o.busyTimes(tx.Now(), tx.Now().Add(o.Cfg.Horizon()+24*time.Hour)); !known && len(cands) > 0 {
		summary += " (not checked against your busy calendar)"
	}
	summary += fmt.Sprintf(" (coffeechat interview schedule %d --at TIME)", ask.ID)
	item := &store.ReviewItem{AskID: ask.ID, Kind: ReviewPickTime, Summary: summary, Detail: string(detail)}
	if in != nil {
		item.MessageID = in.ID
	}
	if err := tx.InsertReviewItem(ctx, item); err != nil {
		return err
	}
	if !asked.IsZero() {
		ask.AgreedStart = asked.UTC()
		if err := tx.SaveAsk(ctx, ask); err != nil {
			return err
		}
	}
	o.Log.Info("agreement needs a time picked", "ask", ask.ID, "reason", reason)
	return tx.SetAskStateFor(ctx, ask.ID, store.AskAgreed, "agreed", reason+": pick a time (review r"+fmt.Sprint(item.ID)+")", item.MessageID)
}

// inviteTx creates the interview for slot and queues the invitation as a
// reply to in (nil: to the ask's thread). The ask moves to scheduled.
func (o *Outreach) inviteTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, slot store.Slot, why string) (*store.Interview, error) {
	target, err := tx.Contact(ctx, ask.TargetID)
	if err != nil {
		return nil, fmt.Errorf("invite for ask %d: %w", ask.ID, err)
	}
	to := target.Email()
	if in != nil {
		if a, err := mail.ParseAddress(in.From); err == nil && containsFold(target.Emails, a.Address) {
			to = strings.ToLower(a.Address) // answer from the address they wrote from
		}
	}
	if to == "" {
		return nil, fmt.Errorf("invite for ask %d: %s has no email address", ask.ID, target.Name)
	}
	iv := &store.Interview{
		AskID: ask.ID, UID: calendar.NewUID(mailer.DomainOf(o.Cfg.Account.Email)),
		Start: slot.Start.UTC(), End: slot.End.UTC(), Status: store.InterviewInvited,
		Organizer: store.OrganizerUs, Location: strings.TrimSpace(o.Cfg.Calendar.Location),
	}
	if err := tx.InsertInterview(ctx, iv); err != nil {
		return nil, err
	}
	who := calendar.Person{Name: target.Name, Email: to}
	ev := o.eventOf(ask, iv, who, tx.Now())
	loc := o.Cfg.Location()
	d := Data{Me: o.me(), To: personOf(target), Target: personOf(target), Topic: ask.Topic,
		Meeting: FormatSlot(slot, loc), Location: iv.Location, Zone: slot.Start.In(loc).Format("MST")}
	subject, note, err := o.Tmpl.Render(TmplInviteNote, d)
	if err != nil {
		return nil, err
	}
	m, err := o.calendarMessageTx(ctx, tx, ask, in, iv, ev, calendar.MethodRequest, store.PurposeInvite, subject, note, FormatAddress(target.Name, to))
	if err != nil {
		return nil, err
	}
	ask.AgreedStart = slot.Start.UTC()
	if err := tx.SaveAsk(ctx, ask); err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("invite for %s %s (interview %d)", FormatSlot(slot, loc), sentOrQueued(m), iv.ID)
	if why != "" {
		detail += ": " + why
	}
	if err := tx.SetAskStateFor(ctx, ask.ID, store.AskScheduled, "invite", detail, m.ID); err != nil {
		return nil, err
	}
	o.Log.Info("invite created", "ask", ask.ID, "interview", iv.ID, "uid", iv.UID, "start", slot.Start, "auto", m.Auto)
	return iv, nil
}

func sentOrQueued(m *store.Message) string {
	if m.Auto {
		return "sent automatically"
	}
	return "queued for approval"
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// eventOf is the calendar event of an interview: organizer and attendee by
// who organized it (other is the person), SUMMARY naming both, the topic,
// location and a link when the location is one.
func (o *Outreach) eventOf(ask *store.Ask, iv *store.Interview, other calendar.Person, stamp time.Time) calendar.Event {
	me := calendar.Person{Name: o.Cfg.Account.Name, Email: strings.ToLower(strings.TrimSpace(o.Cfg.Account.Email))}
	ev := calendar.Event{
		UID: iv.UID, Sequence: iv.Sequence, Stamp: stamp, Start: iv.Start, End: iv.End,
		Summary:  fmt.Sprintf("%s / %s", o.Cfg.Account.Name, other.Name),
		Location: iv.Location, Status: calendar.StatusConfirmed,
	}
	if other.Name == "" {
		ev.Summary = fmt.Sprintf("%s / %s", o.Cfg.Account.Name, other.Email)
	}
	if ask.Topic != "" {
		ev.Description = "Informational interview about " + ask.Topic + "."
	} else {
		ev.Description = "Informational interview."
	}
	if l := strings.ToLower(iv.Location); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
		ev.URL = iv.Location
	}
	switch iv.Status {
	case store.InterviewCancelled:
		ev.Status = calendar.StatusCancelled
	case store.InterviewTentative:
		other.PartStat = calendar.PartTentative
	case store.InterviewAccepted:
		other.PartStat = calendar.PartAccepted
	case store.InterviewDeclined:
		other.PartStat = calendar.PartDeclined
	default:
		other.PartStat = calendar.PartNeedsAction
	}
	if iv.Organizer == store.OrganizerThem {
		me.PartStat = calendar.PartNeedsAction
		ev.Organizer, ev.Attendees = calendar.Person{Name: other.Name, Email: other.Email}, []calendar.Person{me}
	} else {
		ev.Organizer, ev.Attendees = me, []calendar.Person{other}
	}
	return ev
}

// calendarMessageTx stores an outgoing iMIP message (invite, update or
// cancel) in the ask's thread: approved with auto=1 when
// calendar.auto_invite is on, else a draft. Unsent older calendar messages of
// the same interview become stale (a newer SEQUENCE replaces them).
func (o *Outreach) calendarMessageTx(ctx context.Context, tx *store.Tx, ask *store.Ask, in *store.Message, iv *store.Interview,
	ev calendar.Event, method, purpose, subject, note, to string) (*store.Message, error) {
	var ics []byte
	var err error
	if method == calendar.MethodCancel {
		ics, err = calendar.Cancel(ev)
	} else {
		ics, err = calendar.Request(ev)
	}
	if err != nil {
		return nil, fmt.Errorf("build %s for interview %d: %w", strings.ToLower(method), iv.ID, err)
	}
	if err := o.staleCalendarTx(ctx, tx, ask.ID, "replaced by a newer calendar message"); err != nil {
		return nil, err
	}
	inReplyTo, refs, err := threadOf(ctx, tx, ask.ID, in)
	if err != nil {
		return nil, err
	}
	m := &store.Message{
		AskID: ask.ID, Direction: store.Out, Purpose: purpose, State: store.MsgDraft,
		MessageID: mailer.NewMessageID(mailer.DomainOf(o.Cfg.Account.Email)),
		InReplyTo: inReplyTo, References: refs,
		From: FormatAddress(o.Cfg.Account.Name, o.Cfg.Account.Email),
		To:   to, Subject: subject,
		Body:     calendar.InviteText(ev, o.Cfg.Location(), note),
		Calendar: ics, CalendarMethod: method,
	}
	if o.Cfg.Calendar.AutoInvite {
		m.State, m.Auto, m.ApprovedAt = store.MsgApproved, true, tx.Now()
	}
	if err := tx.InsertMessage(ctx, m); err != nil {
		return nil, err
	}
	ev2 := "drafted"
	if m.Auto {
		ev2 = "approved"
	}
	if err := tx.AddEvent(ctx, ask.ID, ev2, fmt.Sprintf("%s to %s (interview %d, SEQUENCE %d)", purpose, to, iv.ID, iv.Sequence), m.ID); err != nil {
		return nil, err
	}
	return m, nil
}

// staleCalendarTx marks the ask's unsent calendar messages (draft or
// approved) stale.
func (o *Outreach) staleCalendarTx(ctx context.Context, tx *store.Tx, askID int64, why string) error {
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: askID, Direction: store.Out, States: []string{store.MsgDraft, store.MsgApproved}})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if len(m.Calendar) == 0 && !isCalendarPurpose(m.Purpose) {
			continue
		}
		if err := tx.SetMessageState(ctx, m.ID, store.MsgStale, store.MsgDraft, store.MsgApproved); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, askID, "stale", m.Purpose+" not sent: "+why, m.ID); err != nil {
			return err
		}
	}
	return nil
}

func isCalendarPurpose(p string) bool {
	return p == store.PurposeInvite || p == store.PurposeInviteUpdate || p == store.PurposeInviteCancel
}

// threadOf returns In-Reply-To and References for a new message in the
// ask's thread: a reply to in, or else to the ask's newest message that has
// left or arrived.
func threadOf(ctx context.Context, tx *store.Tx, askID int64, in *store.Message) (string, string, error) {
	parent := in
	if parent == nil || parent.MessageID == "" {
		ms, err := tx.Messages(ctx, store.MessageFilter{AskID: askID})
		if err != nil {
			return "", "", err
		}
		parent = nil
		for i := len(ms) - 1; i >= 0; i-- {
			m := ms[i]
			if m.MessageID != "" && (m.Direction == store.In || m.State == store.MsgSent || m.State == store.MsgUncertain) {
				parent = m
				break
			}
		}
	}
	if parent == nil {
		return "", "", nil
	}
	inReplyTo, refs := replyHeaders(parent)
	return inReplyTo, refs, nil
}
