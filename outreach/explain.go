package outreach

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// Reading is how the inbox reads one message: the JSON of `coffeechat
// explain`, also stored with every incoming message.
type Reading struct {
	Kind        string      `json:"kind"`
	Ask         *int64      `json:"ask"`
	MatchedBy   *string     `json:"matched_by"`
	Intent      *string     `json:"intent"`
	Time        *string     `json:"time"`
	PartStat    *string     `json:"partstat"`
	ReturnDate  *string     `json:"return_date"`
	NewContacts []NewPerson `json:"new_contacts"`
	Text        string      `json:"text"`
	Reason      string      `json:"reason"`
}

// NewPerson is a contact an introduction would create.
type NewPerson struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func strp(s string) *string { return &s }

// reading turns a decision into its Reading.
func (o *Outreach) reading(d *decision) Reading {
	r := Reading{Kind: string(d.kind), NewContacts: []NewPerson{}, Text: d.msg.NewText, Reason: d.reason}
	if d.m != nil {
		id := d.m.ask.ID
		r.Ask, r.MatchedBy = &id, strp(d.m.by)
	}
	if d.und != nil {
		r.Intent = strp(string(d.und.Intent))
	}
	if !d.start.IsZero() {
		r.Time = strp(d.start.In(o.Cfg.Location()).Format(time.RFC3339))
	}
	if d.partstat != "" {
		r.PartStat = strp(d.partstat)
	}
	if d.msg.Auto != nil && !d.msg.Auto.ReturnDate.IsZero() && d.kind == inbox.KindAutoReply {
		r.ReturnDate = strp(d.msg.Auto.ReturnDate.Format("2006-01-02"))
	}
	if d.intro != nil && d.intro.contact == nil {
		r.NewContacts = append(r.NewContacts, NewPerson{Name: d.intro.name, Email: d.intro.email})
	}
	return r
}

// ErrNotEmail is returned by Explain for input that is not an email.
var ErrNotEmail = inbox.ErrNotEmail

// Explain reads one raw message and returns what the inbox would decide,
// in a read-only transaction: it changes nothing.
func (o *Outreach) Explain(ctx context.Context, raw []byte) (*Reading, error) {
	var r Reading
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		d, err := o.decide(ctx, tx, raw)
		if err != nil {
			return err
		}
		r = o.reading(d)
		return nil
	})
	if errors.Is(err, inbox.ErrNotEmail) {
		return nil, fmt.Errorf("this is not an email (no mail header found): give a raw RFC 5322 message, such as a .eml file saved from your mail client: %w", err)
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}
