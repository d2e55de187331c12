package outreach

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// How an incoming message was matched to its ask (the reading's matched_by).
const (
	MatchInReplyTo   = "in-reply-to"
	MatchReferences  = "references"
	MatchSenderSubj  = "sender-subject"
	MatchBounce      = "bounce-original" // the original Message-ID inside a DSN
	MatchCalendarUID = "calendar-uid"    // an iMIP reply's UID and attendee
	// MatchOrganizer: their own invitation (iMIP REQUEST), organized by the
	// sender with the user invited, with a subject and UID of its own.
	MatchOrganizer    = "calendar-organizer"
	askLifeAfterClose = 30 * 24 * time.Hour
)

// replyPrefix matches one reply or forward marker at the start of a subject:
// Re:, RE :, AW:, Fwd:, FW:, WG:, Réf:, SV:, VS:, Antw:, Odp:, 回复:, and a
// "[n]" counter some clients add ("Re[2]:").
var replyPrefix = regexp.MustCompile(`(?i)^\s*(?:re|aw|fwd?|wg|r[ée]f|sv|vs|antw|odp|tr|rv|回复|回覆|答复|转发)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*`)

// NormalizeSubject strips reply and forward markers, list tags such as
// "[club]" before them, and folds case and spaces, so that a reply's subject
// compares equal to the subject it answers.
func NormalizeSubject(s string) string {
	s = strings.TrimSpace(s)
	for {
		t := s
		if strings.HasPrefix(t, "[") {
			if i := strings.Index(t, "]"); i > 0 && replyPrefix.MatchString(t[i+1:]) {
				t = strings.TrimSpace(t[i+1:])
			}
		}
		t = replyPrefix.ReplaceAllString(t, "")
		if t == s {
			break
		}
		s = t
	}
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// threadSubject strips the reply markers but keeps the case: the subject to
// write "Re: " before.
func threadSubject(s string) string {
	s = strings.TrimSpace(s)
	for {
		t := replyPrefix.ReplaceAllString(s, "")
		if t == s {
			return s
		}
		s = strings.TrimSpace(t)
	}
}

// match is the ask an incoming message belongs to, and how it was found.
type match struct {
	ask *store.Ask
	by  string
	out *store.Message // the outgoing message it answers, when threading found it
	iv  *store.Interview
}

// matchMessage finds the ask of msg: the calendar UID for iMIP, the original
// Message-ID for a bounce, then In-Reply-To, every References id, then the
// counterpart's address and the subject within the ask's life. nil: none.
func (o *Outreach) matchMessage(ctx context.Context, tx *store.Tx, msg *inbox.Message, cal *calendar.Message) (*match, error) {
	from := strings.ToLower(msg.From.Address)
	if cal != nil {
		for _, ev := range cal.Events {
			iv, err := tx.FindInterview(ctx, ev.UID)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if _, ok := ev.Attendee(from); !ok && !strings.EqualFold(ev.Organizer.Email, from) {
				continue
			}
			a, err := tx.Ask(ctx, iv.AskID)
			if err != nil {
				return nil, err
			}
			return &match{ask: a, by: MatchCalendarUID, iv: iv}, nil
		}
	}
	if b := msg.Bounce; b != nil && b.OriginalMessageID != "" {
		m, err := o.byOutgoing(ctx, tx, b.OriginalMessageID, MatchBounce)
		if m != nil || err != nil {
			return m, err
		}
	}
	if msg.InReplyTo != "" {
		m, err := o.byOutgoing(ctx, tx, msg.InReplyTo, MatchInReplyTo)
		if m != nil || err != nil {
			return o.redirectToChild(ctx, tx, m, from, err)
		}
	}
	for i := len(msg.References) - 1; i >= 0; i-- {
		m, err := o.byOutgoing(ctx, tx, msg.References[i], MatchReferences)
		if m != nil || err != nil {
			return o.redirectToChild(ctx, tx, m, from, err)
		}
	}
	date := msg.Date
	if date.IsZero() {
		date = o.now()
	}
	if msg.Bounce != nil {
		// A bounce that lost the original's headers: the failed recipient
		// and the original subject.
		for _, r := range msg.Bounce.Recipients {
			m, err := o.bySenderSubject(ctx, tx, r.Address, msg.Bounce.OriginalSubject, date)
			if m != nil || err != nil {
				return m, err
			}
		}
		return nil, nil
	}
	m, err := o.bySenderSubject(ctx, tx, from, msg.Subject, date)
	if m == nil && err == nil && cal != nil && cal.Method == calendar.MethodRequest {
		m, err = o.byOrganizer(ctx, tx, from, date, cal)
	}
	return o.redirectToChild(ctx, tx, m, from, err)
}

// byOrganizer matches their own invitation (a REQUEST whose organizer is
// the sender, with the user among the attendees: Google's "Invitation: …"
// has a subject and a UID of its own) to an interview ask of the sender,
// only where it can be nothing else: a meeting of the two of them, sent
// within the ask's life, for a time after the message; the ask waiting,
// answered or agreed with no interview yet, or else the invitation is for
// the very time agreed. Anything else stays untouched (an unrelated
// invitation must not replace or cancel an interview).
func (o *Outreach) byOrganizer(ctx context.Context, tx *store.Tx, from string, date time.Time, cal *calendar.Message) (*match, error) {
	var ev *calendar.Event
	for i := range cal.Events {
		e := &cal.Events[i]
		if _, invited := e.Attendee(o.Cfg.Account.Email); !invited || !strings.EqualFold(e.Organizer.Email, from) || !e.Start.After(date) {
			continue
		}
		twoOfUs := true
		for _, a := range e.Attendees {
			if !strings.EqualFold(a.Email, from) && !strings.EqualFold(a.Email, o.Cfg.Account.Email) {
				twoOfUs = false
			}
		}
		if twoOfUs {
			ev = e
			break
		}
	}
	if ev == nil {
		return nil, nil
	}
	asks, err := tx.AsksOfAddress(ctx, from)
	if err != nil {
		return nil, err
	}
	for i := len(asks) - 1; i >= 0; i-- {
		a := asks[i]
		if a.Kind != store.KindInterview || date.Before(a.CreatedAt.Add(-time.Hour)) {
			continue
		}
		if theirs, err := o.isTheirs(ctx, tx, a, from); err != nil {
			return nil, err
		} else if !theirs {
			continue // they introduce, they are not the one to meet
		}
		sameTime := !a.AgreedStart.IsZero() && a.AgreedStart.Equal(ev.Start)
		switch a.State {
		case store.AskWaiting, store.AskReplied, store.AskAgreed:
			_, err := tx.InterviewOfAsk(ctx, a.ID)
			if errors.Is(err, store.ErrNotFound) || (err == nil && sameTime) {
				return &match{ask: a, by: MatchOrganizer}, nil
			}
			if err != nil {
				return nil, err
			}
		case store.AskScheduled:
			if sameTime {
				return &match{ask: a, by: MatchOrganizer}, nil
			}
		}
		return nil, nil // only their newest interview ask is considered
	}
	return nil, nil
}

// byOutgoing matches through one of our Message-IDs.
func (o *Outreach) byOutgoing(ctx context.Context, tx *store.Tx, id, by string) (*match, error) {
	out, err := tx.OutgoingByMessageID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if out.AskID == 0 {
		return nil, nil
	}
	a, err := tx.Ask(ctx, out.AskID)
	if err != nil {
		return nil, err
	}
	return &match{ask: a, by: by, out: out}, nil
}

// bySenderSubject matches a message from a counterpart of an ask whose
// subject, normalized, is the subject of one of the ask's outgoing messages,
// dated within the ask's life. The newest such ask wins.
func (o *Outreach) bySenderSubject(ctx context.Context, tx *store.Tx, addr, subject string, date time.Time) (*match, error) {
	norm := NormalizeSubject(subject)
	if addr == "" || norm == "" {
		return nil, nil
	}
	asks, err := tx.AsksOfAddress(ctx, addr)
	if err != nil {
		return nil, err
	}
	for i := len(asks) - 1; i >= 0; i-- {
		a := asks[i]
		if date.Before(a.CreatedAt.Add(-time.Hour)) || (!a.Open() && date.After(a.UpdatedAt.Add(askLifeAfterClose))) {
			continue
		}
		outs, err := tx.Messages(ctx, store.MessageFilter{AskID: a.ID, Direction: store.Out})
		if err != nil {
			return nil, err
		}
		for j := len(outs) - 1; j >= 0; j-- {
			m := outs[j]
			if m.State == store.MsgDraft || m.State == store.MsgRejected || m.State == store.MsgApproved {
				continue
			}
			if NormalizeSubject(m.Subject) == norm {
				return &match{ask: a, by: MatchSenderSubj, out: m}, nil
			}
		}
	}
	return nil, nil
}

// redirectToChild sends a message matched to an intro ask, but written by the
// target of one of its child interview asks (the target answering the
// connector's introduction), to that child ask.
func (o *Outreach) redirectToChild(ctx context.Context, tx *store.Tx, m *match, from string, err error) (*match, error) {
	if err != nil || m == nil || m.ask.Kind != store.KindIntro {
		return m, err
	}
	kids, err := tx.Asks(ctx, store.AskFilter{ParentID: m.ask.ID})
	if err != nil {
		return nil, err
	}
	for i := len(kids) - 1; i >= 0; i-- {
		k := kids[i]
		if k.TargetID == 0 {
			continue
		}
		c, err := tx.Contact(ctx, k.TargetID)
		if err != nil {
			return nil, fmt.Errorf("target of ask %d: %w", k.ID, err)
		}
		for _, e := range c.Emails {
			if e == from {
				return &match{ask: k, by: m.by, out: m.out}, nil
			}
		}
	}
	return m, nil
}
