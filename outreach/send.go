package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/mail"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// Sending: every approved message goes through one state machine, each step
// its own short transaction, none held across SMTP or IMAP:
//
//	approved → sending (Raw and the attempt stored) → SMTP →
//	  sent (reply, sent_at; the ask waits for an answer)
//	  | approved again with next_attempt_at (4xx; after MaxSendAttempts: failed)
//	  | failed (5xx; a failed_send review item with the server's words)
//	  | uncertain (the connection broke after the data began, or the daemon
//	    died in sending): looked up in the Sent folder; found → sent, else an
//	    uncertain_send review item: approve = resend with the same Message-ID,
//	    reject = mark sent. Never resent on its own.

// Review item kinds of the sender.
const (
	ReviewFailedSend    = "failed_send"
	ReviewUncertainSend = "uncertain_send"
)

// MaxSendAttempts is how many temporary failures a message gets before it is
// marked failed.
const MaxSendAttempts = 5

// Transport delivers one composed message: *mailer.Session.
type Transport interface {
	Send(ctx context.Context, m *mailer.Composed) (string, error)
}

// SendResult is what became of one message.
type SendResult struct {
	ID        int64
	MessageID string
	State     string // the message's state afterwards; "" when it was no longer approved
	Reply     string // the server's reply when sent
	Next      time.Time
}

// IsInvite reports whether m is a calendar message coffeechat sends by
// itself: it skips the sending window and the gap (it still counts toward
// the daily cap).
func IsInvite(m *store.Message) bool {
	return m.Auto || strings.HasPrefix(m.Purpose, store.PurposeInvite)
}

// composeStored renders a stored outgoing message with its stored
// Message-ID. When Raw was stored by an earlier attempt, those exact bytes
// are sent again (same Message-ID, same Date).
func composeStored(m *store.Message, now time.Time) (*mailer.Composed, error) {
	from, err := mailer.ParseAddress("from", m.From)
	if err != nil {
		return nil, err
	}
	msg := &mailer.Message{
		From: *from, Subject: m.Subject, Text: m.Body, MessageID: m.MessageID,
		InReplyTo: m.InReplyTo, References: strings.Fields(m.References), Date: now,
	}
	for _, l := range []struct {
		field string
		val   string
		dst   *[]mail.Address
	}{{"to", m.To, &msg.To}, {"cc", m.Cc, &msg.Cc}, {"bcc", m.Bcc, &msg.Bcc}} {
		as, err := ParseAddressList(l.field, l.val)
		if err != nil {
			return nil, err
		}
		for _, a := range as {
			*l.dst = append(*l.dst, *a)
		}
	}
	if len(m.Calendar) > 0 {
		msg.Calendar = &mailer.CalendarPart{Method: m.CalendarMethod, Data: m.Calendar}
	}
	c, err := mailer.Compose(msg)
	if err != nil {
		return nil, err
	}
	if len(m.Raw) > 0 {
		c.Raw = m.Raw
	}
	return c, nil
}

// SendOne sends approved message id over t. It returns the mailer's error
// (a *mailer.SendError) as well as the result, so that the caller can tell a
// broken connection; the outcome is already stored either way. ctx bounds the
// SMTP transaction; the bookkeeping after it runs even when ctx has ended.
func (o *Outreach) SendOne(ctx context.Context, t Transport, id int64) (SendResult, error) {
	res := SendResult{ID: id}
	var c *mailer.Composed
	var m *store.Message
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if m, err = tx.Message(ctx, id); err != nil {
			return err
		}
		res.MessageID = m.MessageID
		if m.Direction != store.Out || m.State != store.MsgApproved {
			return nil
		}
		// An ask that moved on since this was drafted: not sent (schedule.go).
		if why, err := o.StaleTx(ctx, tx, m); err != nil || why != "" {
			res.State = store.MsgStale
			return err
		}
		if c, err = composeStored(m, tx.Now()); err != nil {
			// A stored message that cannot be composed will never go.
			res.State = store.MsgFailed
			return o.failTx(ctx, tx, m, "cannot compose: "+err.Error(), nil)
		}
		if err := tx.BeginSending(ctx, id, c.Raw); err != nil {
			return err
		}
		m.Attempts++
		res.State = store.MsgSending
		return nil
	})
	if err != nil || res.State != store.MsgSending {
		if res.State == store.MsgSending {
			res.State = ""
		}
		return res, err
	}

	reply, sendErr := t.Send(ctx, c)

	// Whatever happened on the wire is recorded, even after a stop request.
	bg := context.WithoutCancel(ctx)
	err = o.DB.Update(bg, func(tx *store.Tx) error {
		if sendErr == nil {
			res.State, res.Reply = store.MsgSent, reply
			return o.sentTx(bg, tx, m, reply)
		}
		var se *mailer.SendError
		if !errors.As(sendErr, &se) {
			se = &mailer.SendError{Fate: mailer.Temporary, Text: sendErr.Error(), Err: sendErr}
		}
		switch se.Fate {
		case mailer.Permanent:
			res.State = store.MsgFailed
			return o.failTx(bg, tx, m, se.Error(), se)
		case mailer.Uncertain:
			res.State = store.MsgUncertain
			if err := tx.MarkUncertain(bg, m.ID, se.Error()); err != nil {
				return err
			}
			return o.eventTx(bg, tx, m, "send uncertain", se.Error()+"; looking for it in the Sent folder")
		default:
			if m.Attempts >= MaxSendAttempts {
				res.State = store.MsgFailed
				return o.failTx(bg, tx, m, fmt.Sprintf("gave up after %d attempts: %s", m.Attempts, se.Error()), se)
			}
			res.State, res.Next = store.MsgApproved, tx.Now().Add(RetryDelay(m.Attempts))
			if err := tx.RetryLater(bg, m.ID, res.Next, se.Error()); err != nil {
				return err
			}
			return o.eventTx(bg, tx, m, "send deferred", fmt.Sprintf("attempt %d: %s; next try %s", m.Attempts, se.Error(), res.Next.Format(time.RFC3339)))
		}
	})
	if err != nil {
		return res, fmt.Errorf("record send of message %d: %w", id, err)
	}
	o.Log.Info("send", "msg", id, "message_id", m.MessageID, "state", res.State, "attempt", m.Attempts, "err", errText(sendErr))
	return res, sendErr
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// RetryDelay is the wait after the n-th temporary failure: one minute,
// doubling, at most an hour, with ±25% jitter so that retries spread.
func RetryDelay(n int) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return d + time.Duration((rand.Float64()-0.5)*0.5*float64(d))
}

// sentTx records a delivery: the message sent with the server's reply, the
// ask's last_sent_at, a first request moving the ask from draft to waiting,
// and a "sent" timeline row.
func (o *Outreach) sentTx(ctx context.Context, tx *store.Tx, m *store.Message, reply string) error {
	if err := tx.MarkSent(ctx, m.ID, reply); err != nil {
		return err
	}
	if m.AskID == 0 {
		return nil
	}
	a, err := tx.Ask(ctx, m.AskID)
	if err != nil {
		return err
	}
	a.LastSentAt = tx.Now()
	if err := tx.SaveAsk(ctx, a); err != nil {
		return err
	}
	detail := m.Purpose + " to " + m.To
	if reply != "" {
		detail += " (" + reply + ")"
	}
	if a.State == store.AskDraft {
		return tx.SetAskStateFor(ctx, a.ID, store.AskWaiting, "sent", detail, m.ID)
	}
	return tx.AddEvent(ctx, a.ID, "sent", detail, m.ID)
}

func (o *Outreach) eventTx(ctx context.Context, tx *store.Tx, m *store.Message, event, detail string) error {
	if m.AskID == 0 {
		return nil
	}
	return tx.AddEvent(ctx, m.AskID, event, detail, m.ID)
}

// sendDetail is the JSON of a send review item.
type sendDetail struct {
	MessageID string `json:"message_id"`
	To        string `json:"to"`
	Subject   string `json:"subject"`
	Error     string `json:"error"`
	Code      int    `json:"code,omitempty"`
	Enhanced  string `json:"enhanced,omitempty"`
	Server    string `json:"server_text,omitempty"`
	Rcpt      string `json:"recipient,omitempty"`
	Attempts  int    `json:"attempts"`
	Hint      string `json:"hint"`
}

// failTx marks m failed and opens a failed_send review item with the
// server's words.
func (o *Outreach) failTx(ctx context.Context, tx *store.Tx, m *store.Message, errText string, se *mailer.SendError) error {
	if err := tx.MarkSendFailed(ctx, m.ID, errText); err != nil {
		return err
	}
	d := sendDetail{MessageID: m.MessageID, To: m.To, Subject: m.Subject, Error: errText, Attempts: m.Attempts,
		Hint: "`coffeechat approve rN` tries again with the same message (once the server's problem is fixed); `coffeechat reject rN` gives up (for a wrong address: correct the contact, then draft anew)"}
	summary := fmt.Sprintf("not sent to %s: %s", m.To, errText)
	if se != nil {
		d.Code, d.Enhanced, d.Server, d.Rcpt = se.Code, se.Enhanced, se.Text, se.Rcpt
		if se.Code != 0 {
			summary = fmt.Sprintf("not sent to %s: the server said %d", m.To, se.Code)
			if se.Enhanced != "" {
				summary += " " + se.Enhanced
			}
			summary += " " + se.Text
		}
	}
	b, _ := json.Marshal(d)
	if err := tx.InsertReviewItem(ctx, &store.ReviewItem{AskID: m.AskID, MessageID: m.ID, Kind: ReviewFailedSend,
		Summary: summary, Detail: string(b)}); err != nil {
		return err
	}
	return o.eventTx(ctx, tx, m, "send failed", errText)
}

// RecoverSending runs at daemon start (and after a send whose outcome could
// not be written): a message left in sending was being sent when the last
// daemon died, and may have left. It becomes uncertain, to be resolved like
// any other. Call it only when no send of this process is in flight.
func (o *Outreach) RecoverSending(ctx context.Context) (int, error) {
	n := 0
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		ms, err := tx.OutMessagesIn(ctx, store.MsgSending)
		if err != nil {
			return err
		}
		for _, m := range ms {
			const why = "the daemon stopped while sending it; it may have been delivered"
			if err := tx.MarkUncertain(ctx, m.ID, why); err != nil {
				return err
			}
			if err := o.eventTx(ctx, tx, m, "send uncertain", why); err != nil {
				return err
			}
		}
		n = len(ms)
		return nil
	})
	if n > 0 {
		o.Log.Warn("messages left in sending (by a run that stopped, or a send whose outcome was not recorded) are uncertain now", "count", n)
	}
	return n, err
}

// SentFolder is the user's Sent folder, for resolving uncertain sends and
// filing copies (see DialSentFolder).
type SentFolder interface {
	// Name is the folder's name.
	Name() string
	// Has tells whether the folder holds a message with this Message-ID.
	Has(ctx context.Context, messageID string) (bool, error)
	// Append files raw, flagged \Seen, with date as its internal date.
	Append(ctx context.Context, raw []byte, date time.Time) error
	// FilesItself reports a provider that files sent mail in Sent by itself.
	FilesItself() bool
}

// UncertainToResolve lists uncertain messages that have no open review item
// yet: they still need a look in the Sent folder. Those that became
// uncertain less than settle ago wait (a provider may file its copy of what
// it received a few seconds late).
func (o *Outreach) UncertainToResolve(ctx context.Context, settle time.Duration) ([]*store.Message, error) {
	var out []*store.Message
	now := o.now()
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		ms, err := tx.OutMessagesIn(ctx, store.MsgUncertain)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if now.Sub(m.UpdatedAt) < settle {
				continue
			}
			r, err := tx.OpenReviewFor(ctx, m.ID, ReviewUncertainSend)
			if err != nil {
				return err
			}
			if r == nil {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

// ResolveUncertain looks for each unresolved uncertain message in the Sent
// folder: found, it was delivered (sent); not found, the user decides (an
// uncertain_send review item). sent may be nil when no IMAP server is
// configured: every one goes to the user. It stops at the first IMAP error.
// Messages that became uncertain less than settle ago are left for later.
func (o *Outreach) ResolveUncertain(ctx context.Context, sent SentFolder, settle time.Duration) (found, asked int, err error) {
	ms, err := o.UncertainToResolve(ctx, settle)
	if err != nil {
		return 0, 0, err
	}
	for _, m := range ms {
		has := false
		where := "no IMAP server is configured to look in the Sent folder"
		if sent != nil {
			if has, err = sent.Has(ctx, m.MessageID); err != nil {
				return found, asked, fmt.Errorf("look for <%s> in %s: %w", m.MessageID, sent.Name(), err)
			}
			where = "not found in " + sent.Name()
		}
		err = o.DB.Update(ctx, func(tx *store.Tx) error {
			cur, err := tx.Message(ctx, m.ID)
			if err != nil || cur.State != store.MsgUncertain {
				return err
			}
			if has {
				if err := o.sentTx(ctx, tx, cur, "found in the Sent folder "+sent.Name()); err != nil {
					return err
				}
				return tx.SetSentCopy(ctx, cur.ID, store.CopySkipped, "already in "+sent.Name())
			}
			if r, err := tx.OpenReviewFor(ctx, cur.ID, ReviewUncertainSend); err != nil || r != nil {
				return err
			}
			d := sendDetail{MessageID: cur.MessageID, To: cur.To, Subject: cur.Subject, Error: cur.Error + "; " + where,
				Attempts: cur.Attempts,
				Hint:     "check your mail client's Sent folder or ask the recipient: `coffeechat approve rN` sends it again (same Message-ID), `coffeechat reject rN` marks it sent"}
			b, _ := json.Marshal(d)
			return tx.InsertReviewItem(ctx, &store.ReviewItem{AskID: cur.AskID, MessageID: cur.ID, Kind: ReviewUncertainSend,
				Summary: fmt.Sprintf("maybe sent to %s (%s): approve to send again, reject to mark it sent", cur.To, where),
				Detail:  string(b)})
		})
		if err != nil {
			return found, asked, err
		}
		if has {
			found++
		} else {
			asked++
		}
	}
	return found, asked, nil
}

// RegisterSendReviews sets what `approve rN` and `reject rN` do with the
// sender's review items:
//   - uncertain_send: approve sends it again with the same Message-ID and
//     bytes; reject marks it sent (the user knows it went);
//   - failed_send: approve tries again from the first attempt; reject leaves
//     it failed.
func (o *Outreach) RegisterSendReviews() {
	if o.Review == nil {
		o.Review = map[string]ReviewAction{}
	}
	requeue := func(ctx context.Context, tx *store.Tx, item *store.ReviewItem) error {
		m, err := tx.Message(ctx, item.MessageID)
		if err != nil {
			return err
		}
		if err := tx.Requeue(ctx, m.ID); err != nil {
			return err
		}
		if err := tx.ResolveReviewItem(ctx, item.ID, store.ReviewResolved, "send again"); err != nil {
			return err
		}
		return o.eventTx(ctx, tx, m, "send again", "the user asked to send it again (same Message-ID)")
	}
	o.Review[ReviewUncertainSend] = ReviewAction{
		Approve: requeue,
		Reject: func(ctx context.Context, tx *store.Tx, item *store.ReviewItem, reason string) error {
			m, err := tx.Message(ctx, item.MessageID)
			if err != nil {
				return err
			}
			if err := o.sentTx(ctx, tx, m, "marked sent by the user"); err != nil {
				return err
			}
			res := "marked sent"
			if reason != "" {
				res += ": " + reason
			}
			return tx.ResolveReviewItem(ctx, item.ID, store.ReviewResolved, res)
		},
	}
	o.Review[ReviewFailedSend] = ReviewAction{Approve: requeue}
}
