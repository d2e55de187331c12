package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// Watch is the inbox loop: an inbox.Watcher on cfg.IMAP feeding the
// workflow's sink (outreach.InboxSink). Connection errors (a wrong password,
// a server down) are logged by the watcher and retried with a jittered
// backoff; only the end of ctx stops it.
type Watch struct {
	O    *outreach.Outreach
	IMAP config.IMAP
	Log  *slog.Logger
	Opt  inbox.WatchOptions // Synced is set by Run
}

// NewWatch returns the inbox loop for o's configuration.
func NewWatch(o *outreach.Outreach, log *slog.Logger) *Watch {
	return &Watch{O: o, IMAP: o.Cfg.IMAP, Log: log}
}

// Name implements Loop.
func (w *Watch) Name() string { return "inbox" }

// Run implements Loop: it watches until ctx ends. Each catch-up records its
// time in daemon_state (store.InboxSyncedKey) for `status`.
func (w *Watch) Run(ctx context.Context) error {
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opt := w.Opt
	user := opt.Synced
	var last time.Time
	opt.Synced = func(at time.Time) {
		if user != nil {
			user(at)
		}
		// At most one write a second: a busy IDLE session syncs often.
		if at.Sub(last) < time.Second {
			return
		}
		last = at
		err := w.O.DB.Update(ctx, func(tx *store.Tx) error { return tx.SetInboxSyncedAt(ctx, at) })
		if err != nil && ctx.Err() == nil {
			log.Warn("record inbox sync time", "err", err)
		}
	}
	return inbox.NewWatcher(w.IMAP, w.O.InboxSink(), log, opt).Run(ctx)
}
