package daemon

import (
	"context"
	"log/slog"
	"time"

	"github.com/coffeechat/coffeechat/outreach"
)

// Scheduler is the loop that runs the schedule (follow-ups, no answer,
// thank-yous, close-the-loop notes, stale messages: outreach.SchedulePass)
// every Every. A pass that fails is logged and tried again at the next tick;
// the steps table makes a pass cut short by a stop or a crash safe to redo.
type Scheduler struct {
	O     *outreach.Outreach
	Log   *slog.Logger
	Every time.Duration // default 2s
}

// Name implements Loop.
func (s *Scheduler) Name() string { return "scheduler" }

// Run implements Loop.
func (s *Scheduler) Run(ctx context.Context) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(orDefault(s.Every, 2*time.Second))
	defer t.Stop()
	for {
		if _, err := s.O.SchedulePass(ctx); err != nil && ctx.Err() == nil {
			log.Error("scheduler: pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
