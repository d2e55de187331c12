package outreach

import (
	"context"
	"sort"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/store"
)

// SendPolicy is when approved mail may leave: inside Window (in the account's
// zone, wall-clock hours across daylight-saving changes), at most DailyCap a
// local day (0: no cap), at least MinGap apart (0: none). Invites skip the
// window and the gap, and are never held by the cap, but they count toward it.
type SendPolicy struct {
	Window   config.Window
	DailyCap int
	MinGap   time.Duration
}

// PolicyOf reads the sending section of a validated configuration.
func PolicyOf(cfg *config.Config) SendPolicy {
	return SendPolicy{Window: cfg.SendingWindow(), DailyCap: cfg.Sending.DailyCap, MinGap: cfg.MinGap()}
}

func (p SendPolicy) loc() *time.Location {
	if p.Window.Loc == nil {
		return time.UTC
	}
	return p.Window.Loc
}

// dayStart is the local midnight that begins t's day (DST-safe: time.Date
// normalizes a midnight that does not exist).
func (p SendPolicy) dayStart(t time.Time) time.Time {
	y, m, d := t.In(p.loc()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, p.loc())
}

func (p SendPolicy) nextDay(t time.Time) time.Time {
	y, m, d := t.In(p.loc()).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, p.loc())
}

// Plan says when each message of queue will leave, given what already left
// today (sentToday, counted from p's local midnight before now) and when the
// last ordinary message left. Invites go first, then the others in queue
// order. A message that can never go (a window with no days) gets the zero
// time.
func (p SendPolicy) Plan(now time.Time, queue []*store.Message, sentToday int, lastRegular time.Time) map[int64]time.Time {
	order := append([]*store.Message(nil), queue...)
	sort.SliceStable(order, func(i, j int) bool { return IsInvite(order[i]) && !IsInvite(order[j]) })
	counts := map[time.Time]int{p.dayStart(now): sentToday}
	last := lastRegular
	out := make(map[int64]time.Time, len(order))
	for _, m := range order {
		t := now
		if m.NextAttemptAt.After(t) {
			t = m.NextAttemptAt
		}
		if IsInvite(m) {
			counts[p.dayStart(t)]++
			out[m.ID] = t
			continue
		}
		ok := false
		for range 800 { // two years of days: a full cap moves a message a day at a time
			if p.MinGap > 0 && !last.IsZero() && t.Before(last.Add(p.MinGap)) {
				t = last.Add(p.MinGap)
			}
			next := p.Window.Next(t)
			if next.IsZero() {
				break
			}
			t = next
			if p.DailyCap > 0 && counts[p.dayStart(t)] >= p.DailyCap {
				t = p.nextDay(t)
				continue
			}
			ok = true
			break
		}
		if !ok {
			out[m.ID] = time.Time{}
			continue
		}
		counts[p.dayStart(t)]++
		last = t
		out[m.ID] = t
	}
	return out
}

// DueMessages lists the approved messages that may leave now, in the order
// to send them.
func (o *Outreach) DueMessages(ctx context.Context) ([]int64, error) {
	plan, queue, err := o.plan(ctx)
	if err != nil {
		return nil, err
	}
	now := o.now()
	var due []*store.Message
	for _, m := range queue {
		if at := plan[m.ID]; !at.IsZero() && !at.After(now) {
			due = append(due, m)
		}
	}
	sort.SliceStable(due, func(i, j int) bool { return plan[due[i].ID].Before(plan[due[j].ID]) })
	ids := make([]int64, len(due))
	for i, m := range due {
		ids[i] = m.ID
	}
	return ids, nil
}

// outbox reads the messages waiting to leave and what was sent on the day
// of now under p: what a send plan starts from.
func (o *Outreach) outbox(ctx context.Context, p SendPolicy, now time.Time) ([]*store.Message, store.SendCounts, error) {
	var queue []*store.Message
	var counts store.SendCounts
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if queue, err = tx.Outbox(ctx); err != nil {
			return err
		}
		counts, err = tx.CountSends(ctx, p.dayStart(now))
		return err
	})
	return queue, counts, err
}

func (o *Outreach) plan(ctx context.Context) (map[int64]time.Time, []*store.Message, error) {
	p := PolicyOf(o.Cfg)
	now := o.now()
	queue, counts, err := o.outbox(ctx, p, now)
	if err != nil {
		return nil, nil, err
	}
	return p.Plan(now, queue, counts.Since, counts.LastRegular), queue, nil
}
