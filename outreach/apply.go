package outreach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// decision is everything the inbox decided about one raw message, before
// acting on it. decide only reads; act writes.
type decision struct {
	msg      *inbox.Message
	kind     inbox.Kind
	own      bool
	m        *match
	cal      *calendar.Message
	calErr   error
	partstat string
	und      *inbox.Understanding
	start    time.Time // a definite meeting start, when there is one
	intro    *person   // introduction: the person introduced
	others   []person  // introduction: further people named, not acted on
	reason   string
}

// person is someone an introduction names; contact is set when they are
// already known.
type person struct {
	name, email string
	contact     *store.Contact
}

// decide reads raw and works out what it means, without writing anything.
func (o *Outreach) decide(ctx context.Context, tx *store.Tx, raw []byte) (*decision, error) {
	return o.decideWith(ctx, tx, raw, nil)
}

// decideWith is decide taking, from pre (may be nil), what was prepared
// before the transaction from the same inputs.
func (o *Outreach) decideWith(ctx context.Context, tx *store.Tx, raw []byte, pre *prepared) (*decision, error) {
	loc := o.Cfg.Location()
	msg := pre.message(raw, loc)
	if msg == nil {
		var err error
		if msg, err = inbox.Read(raw, inbox.ReadOptions{Loc: loc}); err != nil {
			return nil, err
		}
	}
	var err error
	d := &decision{msg: msg, kind: msg.Kind()}
	from := strings.ToLower(msg.From.Address)
	if o.isOwn(from) {
		d.own, d.kind = true, inbox.KindUnrelated
		d.reason = "sent from your own address (" + from + "): never a reply"
		return d, nil
	}
	if d.kind == inbox.KindUnrelated && msg.Bounce == nil {
		d.reason = "mailing list or bulk mail: never answered"
		return d, nil
	}
	if d.kind == inbox.KindCalendar {
		d.cal, d.calErr = calendar.Parse(msg.Calendar)
		if d.cal != nil {
			for _, ev := range d.cal.Events {
				if p, ok := ev.Attendee(from); ok && p.PartStat != "" {
					d.partstat = p.PartStat
					break
				}
			}
		}
	}
	if d.m, err = o.matchMessage(ctx, tx, msg, d.cal); err != nil {
		return nil, fmt.Errorf("match: %w", err)
	}
	date := msg.Date
	if date.IsZero() {
		date = o.now()
	}
	switch d.kind {
	case inbox.KindBounce:
		d.reason = "delivery failed: " + bounceSummary(msg.Bounce)
	case inbox.KindUnrelated: // a delay-only report
		d.reason = "delivery delayed, not a bounce: " + bounceSummary(msg.Bounce)
	case inbox.KindAutoReply:
		d.reason = "automatic reply (" + msg.Auto.Reason + "): not an answer"
		if !msg.Auto.ReturnDate.IsZero() {
			d.reason += "; back on " + msg.Auto.ReturnDate.Format("2006-01-02")
		}
	case inbox.KindCalendar:
		switch {
		case d.calErr != nil:
			d.reason = "calendar " + msg.CalendarMethod + " that does not parse: " + d.calErr.Error()
		case d.partstat != "":
			d.reason = fmt.Sprintf("calendar %s from %s: %s", msg.CalendarMethod, from, d.partstat)
		default:
			d.reason = fmt.Sprintf("calendar %s from %s", msg.CalendarMethod, from)
		}
	case inbox.KindReply:
		if d.m != nil && d.m.ask.Kind == store.KindIntro {
			if err := o.findIntroduction(ctx, tx, d); err != nil {
				return nil, err
			}
			if d.intro != nil {
				d.kind = inbox.KindIntroduction
				d.reason = fmt.Sprintf("introduction: %s adds %s <%s>", from, d.intro.name, d.intro.email)
				break
			}
		}
		var slots []time.Time
		if d.m != nil {
			for _, s := range d.m.ask.Slots {
				slots = append(slots, s.Start)
			}
		}
		u := pre.understand(msg.NewText, date, loc, slots)
		d.und = &u
		switch {
		case u.Time != nil:
			d.start = *u.Time
		case u.Slot > 0 && u.Slot <= len(slots):
			d.start = slots[u.Slot-1]
		case u.AnySlot && d.m != nil:
			if d.start, err = o.earliestFreeSlot(ctx, tx, d.m.ask); err != nil {
				return nil, err
			}
		}
		d.reason = u.Reason
		if u.AnySlot && d.start.IsZero() && d.m != nil {
			d.reason += "; but no proposed slot is still free"
		}
	}
	if d.m == nil {
		d.reason += "; matches no ask, so the inbox leaves it untouched"
	}
	return d, nil
}

// isOwn reports whether addr is the user's own address.
func (o *Outreach) isOwn(addr string) bool {
	return addr != "" && strings.EqualFold(strings.TrimSpace(addr), strings.TrimSpace(o.Cfg.Account.Email))
}

func bounceSummary(b *inbox.Bounce) string {
	var parts []string
	for _, r := range b.Recipients {
		s := r.Address
		if r.Status != "" {
			s += " " + r.Status
		}
		if r.Diagnostic != "" {
			s += " (" + r.Diagnostic + ")"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no recipient named"
	}
	return strings.Join(parts, "; ")
}

// findIntroduction looks, in a connector's message on an intro ask, for a
// new person: an address in To or Cc that is neither the user nor the
// connector, else a name and address written in the text.
func (o *Outreach) findIntroduction(ctx context.Context, tx *store.Tx, d *decision) error {
	a := d.m.ask
	conn, err := tx.Contact(ctx, a.ConnectorID)
	if err != nil {
		return fmt.Errorf("connector of ask %d: %w", a.ID, err)
	}
	from := strings.ToLower(d.msg.From.Address)
	known := map[string]bool{strings.ToLower(o.Cfg.Account.Email): true}
	isConnector := false
	for _, e := range conn.Emails {
		known[e] = true
		if e == from {
			isConnector = true
		}
	}
	if !isConnector {
		return nil
	}
	var found []person
	add := func(addrs []mail.Address) error {
		for _, ad := range addrs {
			e := strings.ToLower(strings.TrimSpace(ad.Address))
			if e == "" || known[e] || !strings.Contains(e, "@") {
				continue
			}
			known[e] = true
			p := person{name: trustedName(ad.Name, e), email: e}
			c, err := tx.ContactByEmail(ctx, e)
			switch {
			case err == nil:
				p.contact = c
				p.name = c.Name
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
			found = append(found, p)
		}
		return nil
	}
	if err := add(append(append([]mail.Address(nil), d.msg.To...), d.msg.Cc...)); err != nil {
		return err
	}
	if len(found) == 0 {
		if err := add(d.msg.Mentioned); err != nil {
			return err
		}
	}
	if len(found) == 0 {
		return nil
	}
	// The named target of the ask wins when present.
	pick := 0
	for i, p := range found {
		if p.contact != nil && p.contact.ID == a.TargetID {
			pick = i
		}
	}
	d.intro = &found[pick]
	for i, p := range found {
		if i != pick {
			d.others = append(d.others, p)
		}
	}
	return nil
}

// trustedName is the display name of an introduced address, unless it
// cannot be trusted (it holds an address, which an RFC 2047 word can hide,
// or control characters): then a name made from the address's local part.
func trustedName(name, addr string) string {
	name = strings.TrimSpace(strings.Trim(name, `"'`))
	bad := name == "" || strings.Contains(name, "@") || strings.ContainsAny(name, "<>") ||
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085' }) >= 0
	if !bad {
		return name
	}
	local, _, _ := strings.Cut(addr, "@")
	words := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	for i, w := range words {
		rs := []rune(w)
		rs[0] = unicode.ToUpper(rs[0])
		words[i] = string(rs)
	}
	if len(words) == 0 {
		return addr
	}
	return strings.Join(words, " ")
}

// incoming is where a message was seen.
type incoming struct {
	mailbox     string
	uidValidity uint32
	uid         uint32
	messageID   string
	raw         []byte
	busy        []calendar.Interval // availability.busy, read before the transaction
	pre         *prepared           // the pure part of the decision, made before the transaction; may be nil
}

// act stores a message that belongs to an ask and moves the ask on. d.m must
// be set. Every ask change goes through SetAskState, with its timeline row.
func (o *Outreach) act(ctx context.Context, tx *store.Tx, d *decision, src incoming) error {
	msg, a := d.msg, d.m.ask
	reading, err := json.Marshal(o.reading(d))
	if err != nil {
		return err
	}
	in := &store.Message{
		AskID: a.ID, Direction: store.In, Purpose: string(d.kind), State: store.MsgReceived,
		MessageID: src.messageID, InReplyTo: msg.InReplyTo, References: strings.Join(msg.References, " "),
		From: msg.From.String(), To: addrList(msg.To), Cc: addrList(msg.Cc), Subject: msg.Subject,
		Body: msg.NewText, Calendar: msg.Calendar, CalendarMethod: msg.CalendarMethod, Raw: src.raw,
		Reading: string(reading), Mailbox: src.mailbox, UIDValidity: src.uidValidity, UID: src.uid, Date: msg.Date,
	}
	if d.kind == inbox.KindUnrelated {
		in.Purpose = string(inbox.KindBounce) // a delay report
	}
	if err := tx.InsertMessage(ctx, in); err != nil {
		return err
	}
	switch d.kind {
	case inbox.KindAutoReply:
		if rd := msg.Auto.ReturnDate; !rd.IsZero() {
			a.WaitUntil = rd.UTC()
			if err := tx.SaveAsk(ctx, a); err != nil {
				return err
			}
			return tx.AddEvent(ctx, a.ID, "auto_reply", "out of office until "+rd.Format("2006-01-02"), in.ID)
		}
		return tx.AddEvent(ctx, a.ID, "auto_reply", "automatic reply ("+msg.Auto.Reason+"), no return date", in.ID)
	case inbox.KindUnrelated:
		return tx.AddEvent(ctx, a.ID, "delivery_delayed", bounceSummary(msg.Bounce), in.ID)
	case inbox.KindBounce:
		diag := bounceSummary(msg.Bounce)
		a.Note = diag
		if err := tx.SaveAsk(ctx, a); err != nil {
			return err
		}
		if err := tx.SetAskStateFor(ctx, a.ID, store.AskBounced, "bounced", diag, in.ID); err != nil {
			return err
		}
		return o.review(ctx, tx, a.ID, in.ID, "bounce", "Mail bounced: "+diag, d)
	case inbox.KindCalendar:
		return o.calendarTx(ctx, tx, a, in, d)
	case inbox.KindIntroduction:
		return o.applyIntroduction(ctx, tx, d, in, src.busy)
	}
	return o.applyReply(ctx, tx, d, in)
}

func addrList(as []mail.Address) string {
	var out []string
	for _, a := range as {
		out = append(out, a.String())
	}
	return strings.Join(out, ", ")
}

// review adds a review item carrying the reading as its detail.
func (o *Outreach) review(ctx context.Context, tx *store.Tx, askID, msgID int64, kind, summary string, d *decision) error {
	detail, err := json.Marshal(o.reading(d))
	if err != nil {
		return err
	}
	return tx.InsertReviewItem(ctx, &store.ReviewItem{AskID: askID, MessageID: msgID, Kind: kind, Summary: summary, Detail: string(detail)})
}

// applyReply handles a human reply: it stops follow-ups, then agree with a
// time goes to the calendar side, decline closes the ask, and anything else
// becomes a review item.
func (o *Outreach) applyReply(ctx context.Context, tx *store.Tx, d *decision, in *store.Message) error {
	a := d.m.ask
	at := d.msg.Date
	if at.IsZero() || at.After(tx.Now()) {
		at = tx.Now()
	}
	if at.After(a.LastReplyAt) {
		a.LastReplyAt = at.UTC()
	}
	if err := tx.SaveAsk(ctx, a); err != nil {
		return err
	}
	u := d.und
	settled := a.State == store.AskAgreed || a.State == store.AskScheduled || a.State == store.AskDone
	who := d.msg.From.Address
	switch {
	case u.Intent == inbox.Agree && !d.start.IsZero() && !settled:
		if err := tx.AddEvent(ctx, a.ID, "replied", who+" agrees: "+u.Reason, in.ID); err != nil {
			return err
		}
		return o.agreeTx(ctx, tx, *a, *in, d.start, u.Reason)
	case u.Intent == inbox.Decline && !settled:
		return tx.SetAskStateFor(ctx, a.ID, store.AskDeclined, "declined", who+": "+u.Reason, in.ID)
	}
	summary := fmt.Sprintf("Reply from %s (%s): %s", who, u.Intent, oneLine(d.msg.NewText, 120))
	if err := o.review(ctx, tx, a.ID, in.ID, "reply", summary, d); err != nil {
		return err
	}
	if settled {
		return tx.AddEvent(ctx, a.ID, "replied", string(u.Intent)+": "+u.Reason+" (set aside for you)", in.ID)
	}
	return tx.SetAskStateFor(ctx, a.ID, store.AskReplied, "replied", string(u.Intent)+": "+u.Reason, in.ID)
}

// oneLine shortens text to one line of at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// applyIntroduction makes the introduced person a contact, records who
// introduced them, moves the intro ask to introduced and creates the child
// interview ask with its draft: a reply-all in the connector's thread, To the
// target, the connector in Bcc and thanked on the first line.
func (o *Outreach) applyIntroduction(ctx context.Context, tx *store.Tx, d *decision, in *store.Message, fileBusy []calendar.Interval) error {
	a, p := d.m.ask, d.intro
	conn, err := tx.Contact(ctx, a.ConnectorID)
	if err != nil {
		return err
	}
	target := p.contact
	if target == nil {
		target = &store.Contact{Name: p.name, Emails: []string{p.email}, Source: "introduction",
			Note: "introduced by " + conn.Name}
		if err := checkFields("name", target.Name); err != nil {
			target.Name = trustedName("", p.email)
		}
		if err := tx.InsertContact(ctx, target); err != nil {
			return err
		}
	}
	if _, err := tx.Connection(ctx, conn.ID, target.ID); errors.Is(err, store.ErrNotFound) {
		if err := tx.AddConnection(ctx, &store.Connection{FromID: conn.ID, ToID: target.ID, Source: "introduction",
			Note: "introduced " + tx.Now().Format("2006-01-02")}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if a.TargetID == 0 {
		a.TargetID = target.ID
		if err := tx.SaveAsk(ctx, a); err != nil {
			return err
		}
	}
	detail := fmt.Sprintf("%s introduced %s <%s>", conn.Name, target.Name, target.Email())
	if len(d.others) > 0 {
		var names []string
		for _, o := range d.others {
			names = append(names, o.email)
		}
		detail += " (also named: " + strings.Join(names, ", ") + ")"
	}
	if err := tx.SetAskStateFor(ctx, a.ID, store.AskIntroduced, "introduced", detail, in.ID); err != nil {
		return err
	}
	child := &store.Ask{Kind: store.KindInterview, TargetID: target.ID, ConnectorID: conn.ID, ParentID: a.ID, Topic: a.Topic}
	if dup, err := tx.OpenAskLike(ctx, child); err != nil {
		return err
	} else if dup != nil {
		return tx.AddEvent(ctx, a.ID, "introduced", fmt.Sprintf("ask %d already asks %s for an interview: no new draft", dup.ID, target.Name), in.ID)
	}
	loc := o.Cfg.Location()
	now := o.now()
	data := Data{Me: o.me(), To: personOf(target), Target: personOf(target), Connector: personOf(conn),
		Topic: a.Topic, Subject: threadSubject(d.msg.Subject), Zone: now.In(loc).Format("MST")}
	if c, err := tx.Connection(ctx, conn.ID, target.ID); err == nil {
		data.ConnectionNote = c.Note
	}
	slots, err := o.proposeSlotsTx(ctx, tx, now, fileBusy)
	if err != nil {
		return err
	}
	for _, s := range slots {
		child.Slots = append(child.Slots, s)
		data.Slots = append(data.Slots, FormatSlot(s, loc))
	}
	if err := tx.InsertAsk(ctx, child); err != nil {
		return err
	}
	if err := tx.AddEvent(ctx, child.ID, "created", "from the introduction on ask "+fmt.Sprint(a.ID), in.ID); err != nil {
		return err
	}
	m, err := o.draft(ctx, tx, child, store.PurposeInterviewRequest, TmplIntroReply, data, target)
	if err != nil {
		return err
	}
	m.Bcc = FormatAddress(conn.Name, conn.Email())
	if in.MessageID != "" {
		m.InReplyTo, m.References = replyHeaders(in)
	}
	return tx.SaveMessage(ctx, m)
}

// proposeSlotsTx picks free slots for a new interview request the way
// AskInterview does: availability, minus booked interviews, slots offered to
// others, and fileBusy (availability.busy, read by the caller before the
// transaction).
func (o *Outreach) proposeSlotsTx(ctx context.Context, tx *store.Tx, now time.Time, fileBusy []calendar.Interval) ([]store.Slot, error) {
	av, err := Availability(o.Cfg)
	if err != nil {
		return nil, err
	}
	busy := append([]calendar.Interval(nil), fileBusy...)
	booked, err := tx.BookedSlots(ctx, now)
	if err != nil {
		return nil, err
	}
	offered, err := tx.OfferedSlots(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, s := range append(booked, offered...) {
		busy = append(busy, calendar.Interval{Start: s.Start, End: s.End})
	}
	var out []store.Slot
	for _, iv := range calendar.FreeSlots(av, now, busy) {
		out = append(out, store.Slot{Start: iv.Start.UTC(), End: iv.End.UTC()})
	}
	return out, nil
}
