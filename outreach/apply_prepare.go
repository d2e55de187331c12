package outreach

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// prepared is the pure part of deciding one message, worked out before (and
// outside) the write transaction, on every core: the message as read, and a
// reading of its new text against the slots of the ask it matched when
// prepared. decide uses each part only when its inputs are still exactly
// those: the raw bytes and zone for the message; the text, date, zone and
// slots for the reading (the ask's slots are read again inside the
// transaction). Everything that depends on the database is decided there.
type prepared struct {
	raw []byte
	loc *time.Location
	msg *inbox.Message

	und      bool // a reading was made
	text     string
	date     time.Time
	slots    []time.Time
	uloc     *time.Location
	reading  inbox.Understanding
	prepared bool
}

// prepareAll prepares msgs on every core. Messages whose reading panics
// or fails are left unprepared: decide then reads them in the transaction,
// where applyOne turns a panic into an error as before.
func (o *Outreach) prepareAll(ctx context.Context, raws [][]byte) []*prepared {
	out := make([]*prepared, len(raws))
	if len(raws) == 0 {
		return out
	}
	workers := min(runtime.GOMAXPROCS(0), len(raws))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = o.prepareOne(ctx, raws[i])
			}
		}()
	}
	for i := range raws {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// prepareOne reads raw and, for a human reply, guesses the ask's slots from a
// read-only snapshot to read its text against them. nil: nothing prepared.
func (o *Outreach) prepareOne(ctx context.Context, raw []byte) (p *prepared) {
	defer func() {
		if r := recover(); r != nil {
			p = nil // decide meets the same panic, in the transaction
		}
	}()
	loc := o.Cfg.Location()
	msg, err := inbox.Read(raw, inbox.ReadOptions{Loc: loc})
	if err != nil {
		return nil
	}
	p = &prepared{raw: raw, loc: loc, msg: msg, prepared: true}
	if msg.Kind() != inbox.KindReply || o.isOwn(msg.From.Address) {
		return p
	}
	// The slots: a guess, checked in the transaction against the ask as it
	// then is. A failed guess only costs the reading being made again.
	var slots []time.Time
	err = o.DB.View(ctx, func(tx *store.Tx) error {
		m, err := o.matchMessage(ctx, tx, msg, nil)
		if err != nil || m == nil {
			return err
		}
		for _, s := range m.ask.Slots {
			slots = append(slots, s.Start)
		}
		return nil
	})
	if err != nil {
		return p
	}
	date := msg.Date
	if date.IsZero() {
		return p // read against the time of the transaction
	}
	p.und, p.text, p.date, p.slots, p.uloc = true, msg.NewText, date, slots, loc
	p.reading = inbox.Understand(msg.NewText, date, loc, slots)
	return p
}

// message returns the prepared reading of raw in loc, or nil.
func (p *prepared) message(raw []byte, loc *time.Location) *inbox.Message {
	if p == nil || !p.prepared || !sameZone(p.loc, loc) || !bytes.Equal(p.raw, raw) {
		return nil
	}
	msg := p.msg
	p.msg = nil // used once: decide may keep and change it
	return msg
}

// understand is inbox.Understand, from the prepared reading when it was made
// from exactly these inputs.
func (p *prepared) understand(text string, date time.Time, loc *time.Location, slots []time.Time) inbox.Understanding {
	if p != nil && p.und && p.text == text && p.date.Equal(date) &&
		p.date.Format(time.RFC3339Nano) == date.Format(time.RFC3339Nano) && sameZone(p.uloc, loc) &&
		slices.EqualFunc(p.slots, slots, time.Time.Equal) {
		return p.reading
	}
	return inbox.Understand(text, date, loc, slots)
}

func sameZone(a, b *time.Location) bool {
	return a == b || (a != nil && b != nil && a.String() == b.String())
}
