package outreach

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// IMAPSent is the Sent folder over one IMAP connection.
type IMAPSent struct {
	conn   *inbox.Conn
	folder string
	itself bool
}

// DialSentFolder logs in to the IMAP server of cfg and finds the Sent folder
// (imap.sent_folder, else SPECIAL-USE \Sent, else the usual names). Close it.
func DialSentFolder(ctx context.Context, cfg config.IMAP, log *slog.Logger) (*IMAPSent, error) {
	c, err := inbox.Dial(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	folder, err := c.SentFolder(ctx, cfg.SentFolder)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &IMAPSent{conn: c, folder: folder, itself: inbox.FilesSentItself(cfg.Host, c.Caps())}, nil
}

// Name implements SentFolder.
func (s *IMAPSent) Name() string { return s.folder }

// Has implements SentFolder.
func (s *IMAPSent) Has(ctx context.Context, messageID string) (bool, error) {
	return s.conn.HasMessageID(ctx, s.folder, messageID)
}

// Append implements SentFolder.
func (s *IMAPSent) Append(ctx context.Context, raw []byte, date time.Time) error {
	return s.conn.AppendSent(ctx, s.folder, raw, date)
}

// FilesItself implements SentFolder.
func (s *IMAPSent) FilesItself() bool { return s.itself }

// Close logs out.
func (s *IMAPSent) Close() error { return s.conn.Close() }

// PendingSentCopies counts sent messages whose Sent-folder copy is still to
// be filed (or skipped).
func (o *Outreach) PendingSentCopies(ctx context.Context) (int, error) {
	var n int
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		ms, err := tx.PendingSentCopies(ctx, 1)
		n = len(ms)
		return err
	})
	return n, err
}

// FileSentCopies files the copies of sent messages in the Sent folder, as
// smtp.save_sent says: "always" appends, "never" skips, "auto" (the default)
// skips providers that file sent mail themselves. The exact bytes sent are
// appended, flagged \Seen. Each APPEND is recorded as begun before it is made
// and as done after: one begun by a run that died (or whose answer was lost)
// is looked up by Message-ID first, so a copy is not filed twice. At most
// limit are done; it stops at the first IMAP error (the rest stay pending
// and are retried later). With sent nil (no IMAP server configured) every
// copy is skipped.
func (o *Outreach) FileSentCopies(ctx context.Context, sent SentFolder, limit int) (int, error) {
	mode := strings.ToLower(strings.TrimSpace(o.Cfg.SMTP.SaveSent))
	var ms []*store.Message
	tried := map[int64]bool{}
	if err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if ms, err = tx.PendingSentCopies(ctx, limit); err != nil {
			return err
		}
		for _, m := range ms {
			st, _, err := tx.SentCopy(ctx, m.ID)
			if err != nil {
				return err
			}
			tried[m.ID] = st == store.CopyTrying
		}
		return nil
	}); err != nil {
		return 0, err
	}
	bg := context.WithoutCancel(ctx)
	setCopy := func(id int64, state, note string) error {
		return o.DB.Update(bg, func(tx *store.Tx) error { return tx.SetSentCopy(bg, id, state, note) })
	}
	done := 0
	for _, m := range ms {
		state, note := store.CopyFiled, ""
		switch {
		case mode == config.SaveSentNever:
			state, note = store.CopySkipped, "smtp.save_sent = never"
		case sent == nil:
			state, note = store.CopySkipped, "no IMAP server configured"
		case mode != config.SaveSentAlways && sent.FilesItself():
			state, note = store.CopySkipped, "the provider files sent mail itself"
		default:
			note = sent.Name()
			if tried[m.ID] {
				has, err := sent.Has(ctx, m.MessageID)
				if err != nil {
					return done, fmt.Errorf("look for message %d in %s: %w", m.ID, sent.Name(), err)
				}
				if has {
					break // the earlier APPEND landed
				}
			} else if err := setCopy(m.ID, store.CopyTrying, sent.Name()); err != nil {
				return done, err
			}
			if err := sent.Append(ctx, m.Raw, m.SentAt); err != nil {
				return done, fmt.Errorf("file message %d in %s: %w", m.ID, sent.Name(), err)
			}
		}
		if err := setCopy(m.ID, state, note); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}
