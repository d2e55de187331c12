package daemon

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
)

// Sender is the loop that sends approved mail: it polls the outbox (so an
// approval made with the command line is seen within a second or two), sends
// what the policy lets go now over one SMTP connection reused for the batch,
// looks for uncertain sends in the Sent folder and files copies of sent mail
// there. Connection problems back off (up to MaxBackoff) and are logged once
// per attempt, never in a flood; the loop itself only ends with its context.
type Sender struct {
	O    *outreach.Outreach
	SMTP *mailer.Client
	// DialSent opens the Sent folder; nil when no IMAP server is configured.
	DialSent func(ctx context.Context) (SentConn, error)
	Log      *slog.Logger

	Poll       time.Duration // how often the outbox is checked; default 1s
	MinBackoff time.Duration // first wait after a connection failure; default 5s
	MaxBackoff time.Duration // default 10 minutes
	// Settle is how long an uncertain send waits before it is looked up in
	// the Sent folder (the provider may file its copy late); default 10s.
	Settle time.Duration
	// Finish is how long an SMTP transaction in flight may go on after the
	// loop is told to stop; default 3s (the daemon's grace is 4s).
	Finish time.Duration
}

// SentConn is an open Sent folder that must be closed.
type SentConn interface {
	outreach.SentFolder
	Close() error
}

// DialIMAPSent adapts outreach.DialSentFolder for Sender.DialSent.
func DialIMAPSent(o *outreach.Outreach, log *slog.Logger) func(ctx context.Context) (SentConn, error) {
	return func(ctx context.Context) (SentConn, error) {
		s, err := outreach.DialSentFolder(ctx, o.Cfg.IMAP, log)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Name implements Loop.
func (s *Sender) Name() string { return "sender" }

// backoff is a doubling wait between failed connection attempts.
type backoff struct {
	min, max time.Duration
	cur      time.Duration // the last wait; 0 while not failing
	until    time.Time
}

// fail records a failure at now and returns the wait before the next
// attempt: min at first, doubling with each failure in a row, up to max.
func (b *backoff) fail(now time.Time) (wait time.Duration) {
	if b.cur == 0 {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	b.until = now.Add(b.cur)
	return b.cur
}

func (b *backoff) ok()                      { b.cur, b.until = 0, time.Time{} }
func (b *backoff) failing() bool            { return b.cur != 0 }
func (b *backoff) ready(now time.Time) bool { return !now.Before(b.until) }

// Run implements Loop.
func (s *Sender) Run(ctx context.Context) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	poll := orDefault(s.Poll, time.Second)
	finish := orDefault(s.Finish, 3*time.Second)
	smtpB := &backoff{min: orDefault(s.MinBackoff, 5*time.Second), max: orDefault(s.MaxBackoff, 10*time.Minute)}
	imapB := &backoff{min: smtpB.min, max: smtpB.max}

	if _, err := s.O.RecoverSending(ctx); err != nil {
		return err
	}
	var sess *mailer.Session
	closeSess := func() {
		if sess != nil {
			_ = sess.Close()
			sess = nil
		}
	}
	defer closeSess()

	// An SMTP transaction in flight may finish for a few seconds after ctx
	// ends: sendCtx is cancelled only then.
	sendCtx, cancelSend := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSend()
	stopWatch := context.AfterFunc(ctx, func() { time.AfterFunc(finish, cancelSend) })
	defer stopWatch()

	t := time.NewTicker(poll)
	defer t.Stop()
	// unrecorded: a send whose outcome could not be written stays in
	// sending; between batches nothing of ours is in flight, so it is made
	// uncertain (and looked up in Sent) as at start.
	unrecorded := false
	for {
		if unrecorded {
			if _, err := s.O.RecoverSending(ctx); err != nil {
				if ctx.Err() == nil {
					log.Error("sender: mark an unrecorded send uncertain", "err", err)
				}
			} else {
				unrecorded = false
			}
		}
		due, err := s.O.DueMessages(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("sender: read the outbox", "err", err)
		}
		if len(due) == 0 {
			closeSess()
		} else if smtpB.ready(time.Now()) {
			if sess == nil {
				sess, err = s.SMTP.Dial(ctx)
				if err != nil {
					sess = nil
					if ctx.Err() != nil {
						return nil
					}
					wait := smtpB.fail(time.Now())
					var ae *mailer.AuthError
					var se *mailer.SendError
					switch {
					case errors.As(err, &ae):
						log.Error("sender: SMTP login refused; mail waits until the credentials are fixed", "account", ae.Account, "server", ae.Server, "err", err, "retry_in", wait)
					case errors.As(err, &se):
						log.Error("sender: cannot reach the SMTP server; mail waits", "err", err, "retry_in", wait, "waiting", len(due))
					default: // the password command failed, or a setting is wrong: the error names it
						log.Error("sender: cannot use the [smtp] settings; mail waits until they are fixed", "err", err, "retry_in", wait, "waiting", len(due))
					}
				} else {
					if smtpB.failing() {
						log.Info("sender: SMTP server reachable again")
					}
					smtpB.ok()
				}
			}
			if sess != nil {
				unrecorded = s.sendBatch(ctx, sendCtx, log, sess, due, &closeSess)
				if sess == nil {
					// The connection broke: a short pause before a new one.
					smtpB.until = time.Now().Add(smtpB.min)
				}
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if imapB.ready(time.Now()) {
			if err := s.sentWork(ctx); err != nil && ctx.Err() == nil {
				wait := imapB.fail(time.Now())
				log.Error("sender: Sent folder work deferred", "err", err, "retry_in", wait)
			} else if err == nil {
				imapB.ok()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sendBatch sends due messages over sess until one breaks the connection or
// the loop is told to stop. It reports a send whose outcome could not be
// recorded (the message may be left in sending).
func (s *Sender) sendBatch(ctx, sendCtx context.Context, log *slog.Logger, sess *mailer.Session, due []int64, closeSess *func()) (unrecorded bool) {
	for _, id := range due {
		if ctx.Err() != nil {
			return false
		}
		_, err := s.O.SendOne(sendCtx, sess, id)
		if err == nil {
			continue
		}
		var se *mailer.SendError
		if !errors.As(err, &se) {
			// The database failed before or after the SMTP transaction.
			log.Error("sender: send", "msg", id, "err", err)
			(*closeSess)()
			return true
		}
		// Temporary or uncertain: the session may be unusable.
		if se.Fate != mailer.Permanent && (se.Code == 0 || se.Code == 421 || se.Fate == mailer.Uncertain) {
			(*closeSess)()
			return false
		}
	}
	return false
}

// sentWork resolves uncertain sends and files copies in the Sent folder,
// over one IMAP connection opened only when there is work.
func (s *Sender) sentWork(ctx context.Context) error {
	unresolved, err := s.O.UncertainToResolve(ctx, orDefault(s.Settle, 10*time.Second))
	if err != nil {
		return err
	}
	pending, err := s.O.PendingSentCopies(ctx)
	if err != nil {
		return err
	}
	never := strings.EqualFold(strings.TrimSpace(s.O.Cfg.SMTP.SaveSent), config.SaveSentNever)
	if pending > 0 && (s.DialSent == nil || never) {
		// Nowhere to file them, or not wanted: mark them skipped.
		if _, err := s.O.FileSentCopies(ctx, nil, 100000); err != nil {
			return err
		}
		pending = 0
	}
	if len(unresolved) == 0 && pending == 0 {
		return nil
	}
	if s.DialSent == nil {
		_, _, err := s.O.ResolveUncertain(ctx, nil, orDefault(s.Settle, 10*time.Second))
		return err
	}
	conn, err := s.DialSent(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if len(unresolved) > 0 {
		if _, _, err := s.O.ResolveUncertain(ctx, conn, orDefault(s.Settle, 10*time.Second)); err != nil {
			return err
		}
	}
	for {
		n, err := s.O.FileSentCopies(ctx, conn, 200)
		if err != nil || n == 0 || ctx.Err() != nil {
			return err
		}
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
