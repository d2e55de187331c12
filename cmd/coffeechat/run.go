package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/daemon"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

func (a *app) runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "The daemon, in the foreground: sends approved mail, watches the inbox, follows up",
		Long: `coffeechat run is the daemon. It sends approved mail inside the sending window and
limits, watches the inbox for replies, and takes the scheduled steps. One runs per
database. SIGHUP reloads the config; SIGINT or SIGTERM stop it within a few seconds
(an SMTP transaction in flight is finished first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.runDaemon(cmd.Context()) },
	}
}

// runDaemon is `coffeechat run`: the lock, the database, and the loops of
// buildLoops under daemon.Daemon until ctx ends.
func (a *app) runDaemon(ctx context.Context) error {
	began := time.Now()
	cfg, path, err := a.loadConfig()
	if err != nil {
		return err
	}
	if err := cfg.CheckServers(); err != nil {
		return withHint(fmt.Errorf("config: %w", err), serverSettingsFix(cfg, err, path)+", then `coffeechat doctor`")
	}
	log, err := config.NewLogger(a.stderr, cfg.Log)
	if err != nil {
		return withHint(fmt.Errorf("config: %w", err), "fix [log] in the config")
	}
	// The same error again is logged once, then counted (status.go shows them).
	folder := daemon.NewErrorFolder(log.Handler(), daemon.FoldOptions{})
	log = slog.New(folder)
	dbPath, err := existingDB(cfg)
	if err != nil {
		return err
	}
	lock, err := daemon.Acquire(dbPath)
	if err != nil {
		var le *daemon.LockError
		if errors.As(err, &le) {
			return withHint(err, "coffeechat status")
		}
		return err
	}
	defer lock.Release()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	db.Now = a.clock()
	if err := recordStart(ctx, db); err != nil {
		return err
	}

	log.Info("coffeechat run", "pid", os.Getpid(), "db", dbPath, "account", cfg.Account.Email)
	ready := make(chan struct{})
	first := cfg // the config read above serves the first Build; a reload reads the file again
	d := &daemon.Daemon{
		Log: log,
		Build: func(ctx context.Context) ([]daemon.Loop, error) {
			c, p := first, path
			first = nil
			if c == nil {
				var err error
				if c, p, err = a.loadConfig(); err != nil {
					return nil, err
				}
				if err := c.CheckServers(); err != nil {
					return nil, fmt.Errorf("config: %w", err)
				}
			}
			loops, err := a.buildLoops(ctx, db, log, c, p)
			return append(loops, folder.Recorder(db, 0)), err
		},
		Ready: ready,
	}
	go logReady(ctx, ready, log, began)
	err = d.Run(ctx)
	log.Info("coffeechat run stopped")
	return err
}

// buildLoops makes every loop of the daemon from the config at path (at start
// and on each reload). The list below is the whole daemon: each part adds its
// loop here.
func (a *app) buildLoops(ctx context.Context, db *store.DB, log *slog.Logger, cfg *config.Config, path string) ([]daemon.Loop, error) {
	if p, err := cfg.DBPath(); err == nil && p != db.Path() {
		log.Warn("store.path changed; it takes effect at the next start", "running", db.Path(), "configured", p)
	}
	o, err := a.newOutreach(db, cfg, path, log)
	if err != nil {
		return nil, err
	}
	calsync, err := daemon.NewCalSync(ctx, o, log.With("loop", "calsync"))
	if err != nil {
		return nil, err
	}

	loops := []daemon.Loop{
		a.senderLoop(o, cfg, log),
		calsync,
		daemon.NewWatch(o, log.With("loop", "inbox")),
		&daemon.Scheduler{O: o, Log: log.With("loop", "scheduler")},
	}
	return loops, nil
}

// senderLoop sends approved mail (daemon.Sender).
func (a *app) senderLoop(o *outreach.Outreach, cfg *config.Config, log *slog.Logger) daemon.Loop {
	s := &daemon.Sender{
		O:    o,
		SMTP: mailer.NewClient(cfg.SMTP, log),
		Log:  log.With("loop", "sender"),
	}
	if cfg.IMAP.Host != "" {
		s.DialSent = daemon.DialIMAPSent(o, log)
	}
	return s
}
