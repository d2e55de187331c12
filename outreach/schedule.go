package outreach

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// The schedule keeps asks moving without the user:
//
//   - a waiting ask with no human reply followup.after after its last send
//     gets a short follow-up draft in the same thread (at most followup.max);
//     an out-of-office return date pushes it past that day;
//   - after the last follow-up and the same wait again, it closes as no_answer;
//   - thanks.after after an interview ends, a thank-you draft to the person
//     (the ask is done) and, when the interview came from an introduction, a
//     close-the-loop draft to the connector;
//   - an unsent draft or approved message whose ask has moved on (a human
//     reply arrived after it was drafted, or the ask is closed, declined,
//     bounced or without answer) is marked stale, with a review item saying why.
//
// Every step is recorded in the steps table in the transaction that takes
// it, so a restart or a concurrent pass never takes it twice; each ask gets
// its own short transaction.

// ReviewStale is the review item kind of a message that went stale.
const ReviewStale = "stale"

// PassResult counts what one schedule pass did.
type PassResult struct {
	Followups  int `json:"followups"`
	Thanks     int `json:"thanks"`
	CloseLoops int `json:"close_loops"`
	NoAnswer   int `json:"no_answer"`
	Stale      int `json:"stale"`
}

// Changed reports whether the pass did anything.
func (r PassResult) Changed() bool { return r != PassResult{} }

// SchedulePass takes every step that is due now. It is safe to run several
// at once, in one process or several.
func (o *Outreach) SchedulePass(ctx context.Context) (PassResult, error) {
	var res PassResult
	now := o.now()
	var ids []int64
	var unsent []*store.Message
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if ids, err = tx.ScheduleCandidates(ctx, now.Add(-o.Cfg.FollowupAfter()), now.Add(-o.Cfg.ThanksAfter())); err != nil {
			return err
		}
		all, err := tx.UnsentWithAsk(ctx)
		if err != nil {
			return err
		}
		// Judged here, read-only; only the stale ones get a write transaction.
		for _, m := range all {
			why, err := o.staleReasonTx(ctx, tx, m)
			if err != nil {
				return err
			}
			if why != "" {
				unsent = append(unsent, m)
			}
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	var errs []error
	for _, m := range unsent {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		err := o.DB.Update(ctx, func(tx *store.Tx) error {
			cur, err := tx.Message(ctx, m.ID)
			if err != nil {
				return err
			}
			if cur.State != store.MsgDraft && cur.State != store.MsgApproved {
				return nil
			}
			why, err := o.StaleTx(ctx, tx, cur)
			if why != "" {
				res.Stale++
			}
			return err
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", m.ID, err))
		}
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		var step PassResult
		err := o.DB.Update(ctx, func(tx *store.Tx) error {
			step = PassResult{}
			return o.scheduleAskTx(ctx, tx, id, &step)
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("ask %d: %w", id, err))
			continue
		}
		res.Followups += step.Followups
		res.Thanks += step.Thanks
		res.CloseLoops += step.CloseLoops
		res.NoAnswer += step.NoAnswer
	}
	if res.Changed() {
		o.Log.Info("schedule", "followups", res.Followups, "thanks", res.Thanks, "close_loops", res.CloseLoops,
			"no_answer", res.NoAnswer, "stale", res.Stale)
	}
	return res, errors.Join(errs...)
}

// scheduleAskTx takes the step due for one ask, if any.
func (o *Outreach) scheduleAskTx(ctx context.Context, tx *store.Tx, id int64, res *PassResult) error {
	a, err := tx.Ask(ctx, id)
	if err != nil {
		return err
	}
	now := tx.Now()
	switch a.State {
	case store.AskWaiting:
		return o.followupTx(ctx, tx, a, now, res)
	case store.AskScheduled, store.AskAgreed:
		return o.thanksTx(ctx, tx, a, now, res)
	}
	return nil
}

// followState is where an ask stands with its follow-ups.
type followState struct {
	taken    int       // follow-up steps taken (drafted, whatever became of them)
	lastStep time.Time // when the newest step was taken
	pending  bool      // a follow-up is drafted, approved or being sent
	replied  bool      // a human answered after the last send
	lastSent *store.Message
}

// followupPendingStates are the states of a follow-up that is still in the
// queue (followState.pending).
var followupPendingStates = []string{store.MsgDraft, store.MsgApproved, store.MsgSending}

func (o *Outreach) followStateTx(ctx context.Context, tx *store.Tx, a *store.Ask) (followState, error) {
	var fs followState
	steps, err := tx.Steps(ctx, a.ID)
	if err != nil {
		return fs, err
	}
	for _, s := range steps {
		if strings.HasPrefix(s, "followup-") {
			fs.taken++
		}
	}
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: a.ID})
	if err != nil {
		return fs, err
	}
	for _, m := range ms {
		switch {
		case m.Direction == store.Out && m.Purpose == store.PurposeFollowup:
			if slices.Contains(followupPendingStates, m.State) {
				fs.pending = true
			}
			if m.CreatedAt.After(fs.lastStep) {
				fs.lastStep = m.CreatedAt
			}
		case m.Direction == store.In && (m.Purpose == "reply" || m.Purpose == "introduction"):
			if !m.CreatedAt.Before(a.LastSentAt) {
				fs.replied = true
			}
		}
		if m.Direction == store.Out && m.MessageID != "" && (m.State == store.MsgSent || m.State == store.MsgUncertain) {
			fs.lastSent = m
		}
	}
	if !a.LastReplyAt.IsZero() && !a.LastReplyAt.Before(a.LastSentAt) {
		fs.replied = true
	}
	return fs, nil
}

// FollowupDue says when the next schedule step of a waiting ask is due:
// a follow-up, or (when followup.max are taken) closing it as no_answer.
// ok is false when nothing is due for it (not waiting, answered, or a
// follow-up still in the queue).
func (o *Outreach) followupDue(a *store.Ask, fs followState) (due time.Time, followup bool, ok bool) {
	if a.State != store.AskWaiting || a.LastSentAt.IsZero() || fs.pending || fs.replied {
		return time.Time{}, false, false
	}
	after := o.Cfg.FollowupAfter()
	base := a.LastSentAt
	if fs.lastStep.After(base) {
		base = fs.lastStep // a follow-up drafted and rejected: wait again from then
	}
	due = base.Add(after)
	if !a.WaitUntil.IsZero() {
		// Out of office: the day they are back still counts as away.
		if back := a.WaitUntil.Add(24 * time.Hour); back.After(due) {
			due = back
		}
	}
	return due, fs.taken < o.Cfg.Followup.Max, true
}

// followupTx drafts the next follow-up of a waiting ask, or closes it as
// no_answer, when that is due.
func (o *Outreach) followupTx(ctx context.Context, tx *store.Tx, a *store.Ask, now time.Time, res *PassResult) error {
	fs, err := o.followStateTx(ctx, tx, a)
	if err != nil {
		return err
	}
	due, followup, ok := o.followupDue(a, fs)
	if !ok || now.Before(due) {
		return nil
	}
	if !followup {
		took, err := tx.TakeStep(ctx, a.ID, store.StepNoAnswer)
		if err != nil || !took {
			return err
		}
		detail := fmt.Sprintf("no answer %s after the last email", humanDuration(now.Sub(a.LastSentAt)))
		if err := tx.SetAskState(ctx, a.ID, store.AskNoAnswer, "no_answer", detail); err != nil {
			return err
		}
		res.NoAnswer++
		return nil
	}
	if fs.lastSent == nil {
		return nil // sent, but nothing to thread to (cannot happen with the sender's bookkeeping)
	}
	n := fs.taken + 1
	took, err := tx.TakeStep(ctx, a.ID, store.StepFollowup(n))
	if err != nil || !took {
		return err
	}
	to, err := o.counterpartTx(ctx, tx, a)
	if err != nil {
		return err
	}
	loc := o.Cfg.Location()
	d := Data{Me: o.me(), To: personOf(to), Target: personOf(to), Topic: a.Topic, LookingFor: a.LookingFor,
		Subject: threadSubject(fs.lastSent.Subject), Zone: now.In(loc).Format("MST")}
	if a.Kind == store.KindIntro {
		d.Connector = personOf(to)
		if a.TargetID != 0 {
			if t, err := tx.Contact(ctx, a.TargetID); err == nil {
				d.Target = personOf(t)
			}
		}
	}
	for _, s := range a.Slots {
		if s.Start.After(now) {
			d.Slots = append(d.Slots, FormatSlot(s, loc))
		}
	}
	subject, body, err := o.Tmpl.Render(TmplFollowup, d)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = "Re: " + threadSubject(subject)
	}
	m := &store.Message{
		AskID: a.ID, Direction: store.Out, Purpose: store.PurposeFollowup, State: store.MsgDraft,
		MessageID: mailer.NewMessageID(mailer.DomainOf(o.Cfg.Account.Email)),
		From:      FormatAddress(o.Cfg.Account.Name, o.Cfg.Account.Email),
		To:        firstAddress(fs.lastSent.To, to),
		Subject:   subject, Body: body,
	}
	m.InReplyTo, m.References = replyHeaders(fs.lastSent)
	if err := tx.InsertMessage(ctx, m); err != nil {
		return err
	}
	if err := tx.AddEvent(ctx, a.ID, "drafted", fmt.Sprintf("follow-up %d of %d to %s (no reply since %s)",
		n, o.Cfg.Followup.Max, to.Name, a.LastSentAt.In(loc).Format("Mon Jan 2")), m.ID); err != nil {
		return err
	}
	res.Followups++
	return nil
}

// counterpartTx is who an ask writes to: the target of an interview, the
// connector of an intro.
func (o *Outreach) counterpartTx(ctx context.Context, tx *store.Tx, a *store.Ask) (*store.Contact, error) {
	id := a.TargetID
	if a.Kind == store.KindIntro {
		id = a.ConnectorID
	}
	return tx.Contact(ctx, id)
}

// firstAddress is the first address of a stored To list, or the contact's.
func firstAddress(list string, c *store.Contact) string {
	if as, err := ParseAddressList("to", list); err == nil && len(as) > 0 {
		return FormatAddress(as[0].Name, as[0].Address)
	}
	return FormatAddress(c.Name, c.Email())
}

// replyHeaders are In-Reply-To and References for a reply to parent.
func replyHeaders(parent *store.Message) (string, string) {
	refs := strings.Fields(parent.References)
	if parent.InReplyTo != "" && !containsFold(refs, parent.InReplyTo) {
		refs = append(refs, parent.InReplyTo)
	}
	id := parent.MessageID
	if isSyntheticID(id) {
		id = "" // it came without one: nothing of it to point at
	}
	if id != "" {
		refs = append(refs, id)
	}
	// Keep the thread's root and the newest ids, as mail clients do.
	if len(refs) > 20 {
		refs = append(refs[:1], refs[len(refs)-19:]...)
	}
	return id, strings.Join(refs, " ")
}

// thanksTx drafts the thank-you (and the close-the-loop note) once the
// ask's interview ended thanks.after ago.
func (o *Outreach) thanksTx(ctx context.Context, tx *store.Tx, a *store.Ask, now time.Time, res *PassResult) error {
	if a.Kind != store.KindInterview || a.TargetID == 0 {
		return nil
	}
	iv, err := tx.InterviewOfAsk(ctx, a.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if now.Before(iv.End.Add(o.Cfg.ThanksAfter())) {
		return nil
	}
	took, err := tx.TakeStep(ctx, a.ID, store.StepThanks)
	if err != nil || !took {
		return err
	}
	target, err := tx.Contact(ctx, a.TargetID)
	if err != nil {
		return err
	}
	loc := o.Cfg.Location()
	meeting := FormatSlot(store.Slot{Start: iv.Start, End: iv.End}, loc)
	var parent *store.Ask
	var connector *store.Contact
	if a.ParentID != 0 {
		if parent, err = tx.Ask(ctx, a.ParentID); err != nil {
			return err
		}
		cid := parent.ConnectorID
		if cid == 0 {
			cid = a.ConnectorID
		}
		if cid != 0 {
			if connector, err = tx.Contact(ctx, cid); err != nil {
				return err
			}
		}
	}
	d := Data{Me: o.me(), To: personOf(target), Target: personOf(target), Connector: personOf(connector),
		Topic: a.Topic, Meeting: meeting, Location: iv.Location, Zone: now.In(loc).Format("MST")}
	m, err := o.draft(ctx, tx, a, store.PurposeThanks, TmplThanks, d, target)
	if err != nil {
		return err
	}
	if inReply, refs, err := threadOf(ctx, tx, a.ID, nil); err != nil {
		return err
	} else if inReply != "" {
		m.InReplyTo, m.References = inReply, refs
		if err := tx.SaveMessage(ctx, m); err != nil {
			return err
		}
	}
	if err := tx.SetAskStateFor(ctx, a.ID, store.AskDone, "done", "the interview ended "+meeting+"; thank-you drafted", m.ID); err != nil {
		return err
	}
	res.Thanks++
	if parent == nil || connector == nil || connector.Email() == "" {
		return nil
	}
	took, err = tx.TakeStep(ctx, a.ID, store.StepCloseLoop)
	if err != nil || !took {
		return err
	}
	cd := Data{Me: o.me(), To: personOf(connector), Connector: personOf(connector), Target: personOf(target),
		ConnectionNote: "", Topic: a.Topic, Meeting: meeting, Zone: d.Zone}
	if c, err := tx.Connection(ctx, connector.ID, target.ID); err == nil {
		cd.ConnectionNote = c.Note
	}
	cl, err := o.draft(ctx, tx, parent, store.PurposeCloseLoop, TmplCloseLoop, cd, connector)
	if err != nil {
		return err
	}
	if inReply, refs, err := threadOf(ctx, tx, parent.ID, nil); err != nil {
		return err
	} else if inReply != "" {
		cl.InReplyTo, cl.References = inReply, refs
		if err := tx.SaveMessage(ctx, cl); err != nil {
			return err
		}
	}
	if parent.Open() {
		detail := fmt.Sprintf("the introduction led to a conversation with %s; close-the-loop note drafted", target.Name)
		if err := tx.SetAskStateFor(ctx, parent.ID, store.AskDone, "done", detail, cl.ID); err != nil {
			return err
		}
	} else if err := tx.AddEvent(ctx, parent.ID, "drafted", "close-the-loop note to "+connector.Name, cl.ID); err != nil {
		return err
	}
	res.CloseLoops++
	return nil
}

// StaleTx decides whether unsent message m (a draft or approved) is still
// wanted. When its ask has moved on, m becomes stale, a review item says
// why, and the reason is returned; "" means it may go. The sender calls it
// in the transaction that starts sending, so a stale message never leaves.
func (o *Outreach) StaleTx(ctx context.Context, tx *store.Tx, m *store.Message) (string, error) {
	if m.Direction != store.Out || m.AskID == 0 || isCalendarPurpose(m.Purpose) || m.Auto {
		return "", nil
	}
	why, err := o.staleReasonTx(ctx, tx, m)
	if why == "" || err != nil {
		return "", err
	}
	if err := tx.SetMessageState(ctx, m.ID, store.MsgStale, store.MsgDraft, store.MsgApproved); err != nil {
		return "", err
	}
	m.Error = why
	if err := tx.SaveMessage(ctx, m); err != nil {
		return "", err
	}
	if err := tx.AddEvent(ctx, m.AskID, "stale", fmt.Sprintf("%s to %s not sent: %s", m.Purpose, m.To, why), m.ID); err != nil {
		return "", err
	}
	err = tx.InsertReviewItem(ctx, &store.ReviewItem{AskID: m.AskID, MessageID: m.ID, Kind: ReviewStale,
		Summary: fmt.Sprintf("not sent (%s): %s to %s, %q", why, m.Purpose, m.To, m.Subject),
		Detail:  fmt.Sprintf(`{"reason":%q,"was":%q,"hint":"approve rN puts it back as a new draft; reject rN drops it"}`, why, m.State)})
	if err != nil {
		return "", err
	}
	m.State = store.MsgStale
	o.Log.Info("stale message not sent", "msg", m.ID, "ask", m.AskID, "why", why)
	return why, nil
}

// staleReasonTx says why unsent message m is no longer wanted ("" when it
// is), changing nothing.
func (o *Outreach) staleReasonTx(ctx context.Context, tx *store.Tx, m *store.Message) (string, error) {
	if m.Direction != store.Out || m.AskID == 0 || isCalendarPurpose(m.Purpose) || m.Auto {
		return "", nil
	}
	if m.State != store.MsgDraft && m.State != store.MsgApproved {
		return "", nil
	}
	a, err := tx.Ask(ctx, m.AskID)
	if err != nil {
		return "", err
	}
	replied, err := tx.HumanReplySince(ctx, a.ID, m.CreatedAt)
	if err != nil {
		return "", err
	}
	why := ""
	switch {
	case a.State == store.AskClosed || a.State == store.AskDeclined || a.State == store.AskBounced || a.State == store.AskNoAnswer:
		why = "its ask is " + strings.ReplaceAll(a.State, "_", " ")
	case replied:
		why = "a reply arrived after it was drafted"
	case m.Purpose == store.PurposeFollowup && a.State != store.AskWaiting:
		why = "its ask moved on (" + a.State + "): no follow-up is needed"
	}
	return why, nil
}

// RegisterScheduleReviews sets what approve and reject do with a stale item:
// approve puts the message back in the queue as a new draft (a fresh
// Message-ID, so that it is judged again from now); reject drops it.
func (o *Outreach) RegisterScheduleReviews() {
	if o.Review == nil {
		o.Review = map[string]ReviewAction{}
	}
	o.Review[ReviewStale] = ReviewAction{
		Approve: func(ctx context.Context, tx *store.Tx, item *store.ReviewItem) error {
			old, err := tx.Message(ctx, item.MessageID)
			if err != nil {
				return err
			}
			if old.State != store.MsgStale {
				return fmt.Errorf("message %d is %s, not stale: %w", old.ID, old.State, store.ErrStateChanged)
			}
			m := &store.Message{AskID: old.AskID, Direction: store.Out, Purpose: old.Purpose, State: store.MsgDraft,
				MessageID: mailer.NewMessageID(mailer.DomainOf(o.Cfg.Account.Email)), InReplyTo: old.InReplyTo,
				References: old.References, From: old.From, To: old.To, Cc: old.Cc, Bcc: old.Bcc,
				Subject: old.Subject, Body: old.Body}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
			if err := tx.ResolveReviewItem(ctx, item.ID, store.ReviewResolved, fmt.Sprintf("back in the queue as draft %d", m.ID)); err != nil {
				return err
			}
			return tx.AddEvent(ctx, m.AskID, "drafted", fmt.Sprintf("%s to %s back in the queue (was stale message %d)", m.Purpose, m.To, old.ID), m.ID)
		},
	}
}

// NextFollowup is the earliest schedule step due for a waiting ask: when,
// which ask, and whether it is a follow-up (false: closing as no_answer).
// The zero time means none is coming.
func (o *Outreach) NextFollowup(ctx context.Context) (at time.Time, askID int64, followup bool, err error) {
	err = o.DB.View(ctx, func(tx *store.Tx) error {
		asks, err := tx.Asks(ctx, store.AskFilter{State: store.AskWaiting})
		if err != nil {
			return err
		}
		// A step is never due before followup.after past the last send: in
		// that order, the look ends at the first ask that cannot beat the
		// earliest found (status stays quick with thousands waiting).
		sort.SliceStable(asks, func(i, j int) bool { return asks[i].LastSentAt.Before(asks[j].LastSentAt) })
		// An ask with a follow-up still in the queue has nothing due (one
		// query for all, not one look per ask: after a pass, the oldest
		// asks are those with their follow-up drafted).
		pending, err := tx.AsksWithOutgoing(ctx, store.PurposeFollowup, followupPendingStates)
		if err != nil {
			return err
		}
		after := o.Cfg.FollowupAfter()
		for _, a := range asks {
			if !at.IsZero() && !a.LastSentAt.Add(after).Before(at) {
				break
			}
			if pending[a.ID] {
				continue
			}
			fs, err := o.followStateTx(ctx, tx, a)
			if err != nil {
				return err
			}
			due, f, ok := o.followupDue(a, fs)
			if ok && (at.IsZero() || due.Before(at)) {
				at, askID, followup = due, a.ID, f
			}
		}
		return nil
	})
	return at, askID, followup, err
}

// humanDuration writes d as whole days, or hours under two days.
func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour {
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	}
	if d >= 2*time.Hour {
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return d.Round(time.Minute).String()
}
