package outreach

import (
	"context"
	"strconv"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

// Outgoing is an approved message waiting to leave, for `queue` and `status`.
type Outgoing struct {
	ID        int64      `json:"id"`
	AskID     int64      `json:"ask,omitempty"`
	Purpose   string     `json:"purpose"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	Sends     *time.Time `json:"sends"` // when it will leave under the sending limits; null: never (a window with no open day)
}

// Outgoing lists the approved messages with when each will leave, in that order.
func (o *Outreach) Outgoing(ctx context.Context) ([]Outgoing, error) {
	plan, queue, err := o.plan(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Outgoing, 0, len(queue))
	for _, m := range queue {
		g := Outgoing{ID: m.ID, AskID: m.AskID, Purpose: m.Purpose, To: m.To, Subject: m.Subject, Attempts: m.Attempts, LastError: m.Error}
		if at := plan[m.ID]; !at.IsZero() {
			g.Sends = &at
		}
		out = append(out, g)
	}
	sortBySends(out)
	return out, nil
}

func sortBySends(gs []Outgoing) {
	key := func(g Outgoing) time.Time {
		if g.Sends == nil {
			return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		return *g.Sends
	}
	for i := 1; i < len(gs); i++ {
		for j := i; j > 0 && key(gs[j]).Before(key(gs[j-1])); j-- {
			gs[j], gs[j-1] = gs[j-1], gs[j]
		}
	}
}

// DraftSendTimes says when each draft would leave if it were approved now,
// after the messages already approved (zero: never).
func (o *Outreach) DraftSendTimes(ctx context.Context, drafts []store.DraftSummary) (map[int64]time.Time, error) {
	p := PolicyOf(o.Cfg)
	now := o.now()
	queue, counts, err := o.outbox(ctx, p, now)
	if err != nil {
		return nil, err
	}
	for _, d := range drafts {
		queue = append(queue, &store.Message{ID: d.ID, Purpose: d.Purpose})
	}
	return p.Plan(now, queue, counts.Since, counts.LastRegular), nil
}

// fillSends sets Sends on the drafts of a queue listing.
func (o *Outreach) fillSends(ctx context.Context, items []QueueItem) error {
	var drafts []store.DraftSummary
	idx := map[int64]int{}
	for i, it := range items {
		if it.Type != "draft" {
			continue
		}
		id, err := strconv.ParseInt(it.ID, 10, 64)
		if err != nil {
			continue
		}
		idx[id] = i
		drafts = append(drafts, store.DraftSummary{ID: id, Purpose: it.Purpose})
	}
	if len(drafts) == 0 {
		return nil
	}
	plan, err := o.DraftSendTimes(ctx, drafts)
	if err != nil {
		return err
	}
	for id, i := range idx {
		if at, ok := plan[id]; ok && !at.IsZero() {
			items[i].Sends = &at
		}
	}
	return nil
}
