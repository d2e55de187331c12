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
// appended, flagged \Seen. At most limit are done; it stops at the first
// IMAP error (the rest stay pending and are retried later). With sent nil
// (no IMAP server configured) every copy is skipped.
func (o *Outreach) FileSentCopies(ctx context.Context, sent SentFolder, limit int) (int, error) {
	mode := strings.ToLower(strings.TrimSpace(o.Cfg.SMTP.SaveSent))
	var ms []*store.Message
	if err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		ms, err = tx.PendingSentCopies(ctx, limit)
		return err
	}); err != nil {
		return 0, err
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
			if err := sent.Append(ctx, m.Raw, m.SentAt); err != nil {
				return done, fmt.Errorf("file message %d in %s: %w", m.ID, sent.Name(), err)
			}
			note = sent.Name()
		}
		bg := context.WithoutCancel(ctx)
		if err := o.DB.Update(bg, func(tx *store.Tx) error {
			return tx.SetSentCopy(bg, m.ID, state, note)
		}); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}
