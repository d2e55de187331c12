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
	"github.com/coffeechat/coffeechat/store"
)

// InterviewRow is one line of `coffeechat interviews`.
type InterviewRow struct {
	ID        int64     `json:"id"`
	AskID     int64     `json:"ask"`
	Who       string    `json:"who"`
	Email     string    `json:"email,omitempty"`
	Start     time.Time `json:"start"` // in the account's zone
	End       time.Time `json:"end"`
	Status    string    `json:"status"`
	Sequence  int       `json:"sequence"`
	Organizer string    `json:"organizer"`
	UID       string    `json:"uid"`
	Past      bool      `json:"past"`
	Synced    bool      `json:"synced"`
}

// Interviews lists every interview: upcoming first (soonest first), then
// past ones (most recent first).
func (o *Outreach) Interviews(ctx context.Context) ([]InterviewRow, error) {
	loc := o.Cfg.Location()
	now := o.now()
	var up, past []InterviewRow
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		ivs, err := tx.Interviews(ctx)
		if err != nil {
			return err
		}
		for _, iv := range ivs {
			r := InterviewRow{ID: iv.ID, AskID: iv.AskID, Start: iv.Start.In(loc), End: iv.End.In(loc), Status: iv.Status,
				Sequence: iv.Sequence, Organizer: iv.Organizer, UID: iv.UID, Past: !iv.End.After(now), Synced: iv.SyncedVersion >= iv.Version}
			if a, err := tx.Ask(ctx, iv.AskID); err == nil && a.TargetID != 0 {
				if c, err := tx.Contact(ctx, a.TargetID); err == nil {
					r.Who, r.Email = c.Name, c.Email()
				}
			}
			if r.Past {
				past = append([]InterviewRow{r}, past...)
			} else {
				up = append(up, r)
			}
		}
		return nil
	})
	return append(up, past...), err
}

// ParseTime reads a time given on the command line: RFC 3339, or
// "2026-12-08 14:00" (also with a T, or seconds) in the account's zone.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			// A wall time skipped by a DST change is refused, not shifted.
			if t.Format(layout) != s {
				return time.Time{}, fmt.Errorf("%q does not exist in %s (a daylight-saving change skips it)", s, loc)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-12-08T14:00:00-08:00) or \"2026-12-08 14:00\" in %s", s, loc)
}

// Scheduled is the outcome of a move, cancel or schedule.
type Scheduled struct {
	Interview *store.Interview
	Message   *store.Message // the invite, update or cancel queued
	Warning   string         // e.g. outside availability (the user's own choice)
}

func interviewNotFound(err error, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no interview %d (see `coffeechat interviews`)", id)
	}
	return err
}

// counterpartOf is the person of an interview as an event participant: the
// address our newest calendar message went to (for ours), else theirs.
func counterpartOf(ctx context.Context, tx *store.Tx, a *store.Ask) (calendar.Person, string, error) {
	c, err := tx.Contact(ctx, a.TargetID)
	if err != nil {
		return calendar.Person{}, "", err
	}
	p := calendar.Person{Name: c.Name, Email: c.Email()}
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: a.ID})
	if err != nil {
		return p, "", err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		addr := m.To
		if m.Direction == store.In {
			addr = m.From
		} else if !isCalendarPurpose(m.Purpose) {
			continue
		}
		if as, err := mail.ParseAddressList(addr); err == nil && len(as) > 0 && containsFold(c.Emails, as[0].Address) {
			p.Email = strings.ToLower(as[0].Address)
			break
		}
	}
	if p.Email == "" {
		return p, "", fmt.Errorf("%s has no email address", c.Name)
	}
	return p, FormatAddress(c.Name, p.Email), nil
}

// MoveInterview moves interview id to a new start (same length): the same
// UID with SEQUENCE+1 and a fresh DTSTAMP, sent as an update (METHOD:REQUEST)
// with a short note, automatically or queued as calendar.auto_invite says.
// A clash with another interview is refused; a time outside availability is
// allowed (the user chose it) with a warning. An invite that has not left
// yet is rewritten for the new time instead (movedTx).
func (o *Outreach) MoveInterview(ctx context.Context, id int64, to time.Time) (*Scheduled, error) {
	// Busy time is read before the transaction (never inside it); problems are logged.
	_ = o.RefreshBusyIfStale(ctx, store.Slot{Start: to, End: to.Add(24 * time.Hour)})
	return updateTx(ctx, o.DB, func(tx *store.Tx) (*Scheduled, error) { return o.moveTx(ctx, tx, id, to, 0) })
}

// moveTx moves interview id to start at to, lasting length (0: as long as
// it did).
func (o *Outreach) moveTx(ctx context.Context, tx *store.Tx, id int64, to time.Time, length time.Duration) (*Scheduled, error) {
	var out Scheduled
	err := func() error {
		iv, err := tx.Interview(ctx, id)
		if err != nil {
			return interviewNotFound(err, id)
		}
		if iv.Status == store.InterviewCancelled {
			return fmt.Errorf("interview %d is cancelled: schedule a new one with `coffeechat interview schedule %d --at TIME`", id, iv.AskID)
		}
		if iv.Organizer == store.OrganizerThem {
			return fmt.Errorf("interview %d was organized by them: ask them to move it (reply to their invitation)", id)
		}
		a, err := tx.Ask(ctx, iv.AskID)
		if err != nil {
			return err
		}
		if length <= 0 {
			length = iv.End.Sub(iv.Start)
		}
		slot := store.Slot{Start: to.UTC(), End: to.Add(length).UTC()}
		if slot.Start.Equal(iv.Start) && slot.End.Equal(iv.End) {
			return fmt.Errorf("interview %d is already at %s", id, FormatSlot(slot, o.Cfg.Location()))
		}
		if out.Warning, err = o.checkPick(ctx, tx, a.ID, slot); err != nil {
			return err
		}
		m, detail, err := o.movedTx(ctx, tx, a, iv, slot)
		if err != nil {
			return err
		}
		a.AgreedStart = slot.Start
		if err := tx.SaveAsk(ctx, a); err != nil {
			return err
		}
		if err := tx.AddEvent(ctx, a.ID, "interview moved", detail, m.ID); err != nil {
			return err
		}
		out.Interview, out.Message = iv, m
		return nil
	}()
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// checkPick checks a time the user picked: the past and clashes are refused;
// outside availability or busy gives a warning only.
func (o *Outreach) checkPick(ctx context.Context, tx *store.Tx, askID int64, s store.Slot) (string, error) {
	reason, err := o.unfitTx(ctx, tx, askID, s, false)
	if err != nil {
		return "", err
	}
	if strings.Contains(reason, "in the past") || strings.Contains(reason, "clashes") {
		return "", errors.New(reason)
	}
	if reason != "" {
		return reason, nil
	}
	av, err := Availability(o.Cfg)
	if err != nil {
		return "", err
	}
	if !calendar.Fits(av, calendar.Interval{Start: s.Start, End: s.End}) {
		return fmt.Sprintf("%s is outside your availability (%s %s)", FormatSlot(s, av.Loc), o.Cfg.Availability.Days, o.Cfg.Availability.Hours), nil
	}
	return "", nil
}

// CancelInterview cancels interview id: METHOD:CANCEL with STATUS:CANCELLED,
// the same UID and SEQUENCE+1 (for ours), sent automatically or queued as
// calendar.auto_invite says; the ask is closed. An interview they organized
// is only cancelled here (tell them yourself, or decline it in your calendar).
func (o *Outreach) CancelInterview(ctx context.Context, id int64, reason string) (*Scheduled, error) {
	return updateTx(ctx, o.DB, func(tx *store.Tx) (*Scheduled, error) { return o.cancelTx(ctx, tx, id, reason) })
}

func (o *Outreach) cancelTx(ctx context.Context, tx *store.Tx, id int64, reason string) (*Scheduled, error) {
	reason = strings.TrimSpace(reason)
	var out Scheduled
	err := func() error {
		iv, err := tx.Interview(ctx, id)
		if err != nil {
			return interviewNotFound(err, id)
		}
		if iv.Status == store.InterviewCancelled {
			return fmt.Errorf("interview %d is already cancelled", id)
		}
		a, err := tx.Ask(ctx, iv.AskID)
		if err != nil {
			return err
		}
		loc := o.Cfg.Location()
		iv.Status = store.InterviewCancelled
		if iv.Organizer == store.OrganizerThem {
			if err := tx.SaveInterview(ctx, iv); err != nil {
				return err
			}
			out.Warning = "they organized it: no cancellation was sent; tell them, or decline it in your calendar"
		} else {
			sent, err := calendarSent(ctx, tx, a.ID)
			if err != nil {
				return err
			}
			if !sent {
				// Never sent: drop the queued invite, send nothing.
				if err := o.staleCalendarTx(ctx, tx, a.ID, "interview cancelled before the invite left"); err != nil {
					return err
				}
				if err := tx.SaveInterview(ctx, iv); err != nil {
					return err
				}
				out.Warning = "the invite had not left yet: nothing was sent"
			} else {
				iv.Sequence++
				if err := tx.SaveInterview(ctx, iv); err != nil {
					return err
				}
				who, toAddr, err := counterpartOf(ctx, tx, a)
				if err != nil {
					return err
				}
				ev := o.eventOf(a, iv, who, tx.Now())
				note := fmt.Sprintf("Hi %s,\n\nI'm sorry, I have to cancel our conversation on %s.", firstName(who.Name), FormatSlot(slotOf(iv), loc))
				if reason != "" {
					note += " " + reason
				}
				note += "\n\n" + o.Cfg.Account.Name
				subject := "Cancelled: " + ev.Summary + " @ " + FormatSlot(slotOf(iv), loc)
				m, err := o.calendarMessageTx(ctx, tx, a, nil, iv, ev, calendar.MethodCancel, store.PurposeInviteCancel, subject, note, toAddr)
				if err != nil {
					return err
				}
				out.Message = m
			}
		}
		detail := fmt.Sprintf("interview %d on %s cancelled", iv.ID, FormatSlot(slotOf(iv), loc))
		if reason != "" {
			detail += ": " + reason
		}
		var msgID int64
		if out.Message != nil {
			msgID = out.Message.ID
			detail += ", cancellation " + sentOrQueued(out.Message)
		}
		_, other := tx.InterviewOfAsk(ctx, a.ID)
		if other != nil && !errors.Is(other, store.ErrNotFound) {
			return other
		}
		if a.Open() && other != nil { // no other live interview: the ask ends here
			if err := tx.SetAskStateFor(ctx, a.ID, store.AskClosed, "interview cancelled", detail, msgID); err != nil {
				return err
			}
		} else if err := tx.AddEvent(ctx, a.ID, "interview cancelled", detail, msgID); err != nil {
			return err
		}
		out.Interview = iv
		return nil
	}()
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ScheduleAsk picks the time of an agreed ask and sends the invite: the one
// command that resolves its pick_time review item. The past and clashes are
// refused; outside availability gives a warning only.
func (o *Outreach) ScheduleAsk(ctx context.Context, askID int64, at time.Time) (*Scheduled, error) {
	_ = o.RefreshBusyIfStale(ctx, store.Slot{Start: at, End: at.Add(24 * time.Hour)}) // before the transaction
	out, err := updateTx(ctx, o.DB, func(tx *store.Tx) (Scheduled, error) {
		return o.scheduleTx(ctx, tx, askID, at, "picked by you")
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func (o *Outreach) scheduleTx(ctx context.Context, tx *store.Tx, askID int64, at time.Time, why string) (Scheduled, error) {
	var out Scheduled
	a, err := tx.Ask(ctx, askID)
	if errors.Is(err, store.ErrNotFound) {
		return out, fmt.Errorf("no ask %d (see `coffeechat asks`)", askID)
	}
	if err != nil {
		return out, err
	}
	if a.Kind != store.KindInterview {
		return out, fmt.Errorf("ask %d is an intro ask: schedule its interview ask instead (see `coffeechat asks`)", askID)
	}
	if !a.Open() {
		return out, fmt.Errorf("ask %d is %s: nothing to schedule", askID, a.State)
	}
	if iv, err := tx.InterviewOfAsk(ctx, askID); err == nil {
		return out, fmt.Errorf("ask %d already has interview %d at %s: use `coffeechat interview move %d --to TIME`",
			askID, iv.ID, FormatSlot(slotOf(iv), o.Cfg.Location()), iv.ID)
	} else if !errors.Is(err, store.ErrNotFound) {
		return out, err
	}
	av, err := Availability(o.Cfg)
	if err != nil {
		return out, err
	}
	slot := o.slotAt(a, at, av.Slot)
	if out.Warning, err = o.checkPick(ctx, tx, a.ID, slot); err != nil {
		return out, err
	}
	in, err := lastIncoming(ctx, tx, a.ID)
	if err != nil {
		return out, err
	}
	iv, err := o.inviteTx(ctx, tx, a, in, slot, why)
	if err != nil {
		return out, err
	}
	if err := resolveOpenItems(ctx, tx, a.ID, "scheduled "+FormatSlot(slot, o.Cfg.Location()), ReviewPickTime); err != nil {
		return out, err
	}
	out.Interview = iv
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: a.ID, Direction: store.Out})
	if err != nil {
		return out, err
	}
	if len(ms) > 0 {
		out.Message = ms[len(ms)-1]
	}
	return out, nil
}

// lastIncoming is the ask's newest incoming message, or nil.
func lastIncoming(ctx context.Context, tx *store.Tx, askID int64) (*store.Message, error) {
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: askID, Direction: store.In})
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[len(ms)-1], nil
}

// RegisterCalendarReviews sets what `approve rN` and `reject rN` do with
// the calendar's review items: approving a pick_time item with a single
// candidate schedules it (several: pick one with `interview schedule`);
// approving a counter item moves the interview to the proposed time (or,
// when they sent their own invitation after ours, cancels ours).
func (o *Outreach) RegisterCalendarReviews() {
	if o.Review == nil {
		o.Review = map[string]ReviewAction{}
	}
	o.Review[ReviewPickTime] = ReviewAction{Approve: func(ctx context.Context, tx *store.Tx, item *store.ReviewItem) error {
		var d PickTime
		if err := json.Unmarshal([]byte(item.Detail), &d); err != nil {
			return fmt.Errorf("review item r%d: %w", item.ID, err)
		}
		if len(d.Candidates) != 1 {
			return fmt.Errorf("review item r%d has %d candidate times: pick one with `coffeechat interview schedule %d --at TIME`", item.ID, len(d.Candidates), item.AskID)
		}
		if _, err := o.scheduleTx(ctx, tx, item.AskID, d.Candidates[0].Start, "approved from review r"+fmt.Sprint(item.ID)); err != nil {
			return err
		}
		// scheduleTx resolved the ask's pick_time items, this one with them.
		return nil
	}}
	o.Review[ReviewCounter] = ReviewAction{Approve: func(ctx context.Context, tx *store.Tx, item *store.ReviewItem) error {
		var d PickTime
		if err := json.Unmarshal([]byte(item.Detail), &d); err != nil {
			return fmt.Errorf("review item r%d: %w", item.ID, err)
		}
		if d.Interview == 0 || len(d.Candidates) != 1 {
			return fmt.Errorf("review item r%d names no interview and time: act with `coffeechat interview move|cancel`", item.ID)
		}
		if d.Reason == theirInviteAfterOurs {
			_, err := o.cancelTx(ctx, tx, d.Interview, "You sent your own invitation; I'll use that one.")
			if err != nil {
				return err
			}
		} else if _, err := o.moveTx(ctx, tx, d.Interview, d.Candidates[0].Start, d.Candidates[0].End.Sub(d.Candidates[0].Start)); err != nil {
			return err
		}
		return tx.ResolveReviewItem(ctx, item.ID, store.ReviewResolved, "approved")
	}}
}
