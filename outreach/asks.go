package outreach

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// IntroRequest is `ask intro`: To or LookingFor, not both.
type IntroRequest struct {
	Via        string // REF of the connector
	To         string // REF of the person to be introduced to
	LookingFor string // or a description: "anyone in sports marketing"
	Topic      string
}

// InterviewRequest is `ask interview`.
type InterviewRequest struct {
	To    string // REF
	Topic string
}

// Created is a new ask and its first draft.
type Created struct {
	Ask   *store.Ask
	Draft *store.Message
}

// DuplicateAskError is a second open ask of the same kind for the same person.
type DuplicateAskError struct{ Existing *store.Ask }

func (e *DuplicateAskError) Error() string {
	return fmt.Sprintf("ask %d (%s, %s) already covers this: see `coffeechat timeline %d`, or reject its draft first",
		e.Existing.ID, e.Existing.Kind, e.Existing.State, e.Existing.ID)
}

// checkAccount makes sure a draft can have a From.
func (o *Outreach) checkAccount() error {
	if strings.TrimSpace(o.Cfg.Account.Email) == "" || strings.TrimSpace(o.Cfg.Account.Name) == "" {
		return errors.New("account.name and account.email must be set in the config before drafting: edit it (or run `coffeechat init --name ... --email ...` on a fresh setup)")
	}
	if _, err := mailer.ParseAddress("account.email", o.Cfg.Account.Email); err != nil {
		return err
	}
	return checkFields("account.name", o.Cfg.Account.Name)
}

// AskIntro creates an intro ask and drafts the request to the connector.
func (o *Outreach) AskIntro(ctx context.Context, r IntroRequest) (*Created, error) {
	r.Topic, r.LookingFor = strings.TrimSpace(r.Topic), strings.TrimSpace(r.LookingFor)
	if (r.To == "") == (r.LookingFor == "") {
		return nil, errors.New("an intro ask needs either --to REF or --looking-for TEXT (one of them)")
	}
	if err := checkFields("topic", r.Topic, "looking-for", r.LookingFor); err != nil {
		return nil, err
	}
	if err := o.checkAccount(); err != nil {
		return nil, err
	}
	var out Created
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		via, err := o.Resolve(ctx, tx, r.Via)
		if err != nil {
			return fmt.Errorf("--via: %w", err)
		}
		if via.Email() == "" {
			return fmt.Errorf("%s has no email address: add one with `coffeechat contact add` or an import", via.Name)
		}
		a := &store.Ask{Kind: store.KindIntro, ConnectorID: via.ID, LookingFor: r.LookingFor, Topic: r.Topic}
		d := Data{Me: o.me(), To: personOf(via), Connector: personOf(via), LookingFor: lookingFor(r.LookingFor), Topic: r.Topic}
		if r.To != "" {
			target, err := o.Resolve(ctx, tx, r.To)
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			if target.ID == via.ID {
				return fmt.Errorf("%s cannot introduce you to themself: use `coffeechat ask interview --to %d`", via.Name, via.ID)
			}
			a.TargetID = target.ID
			d.Target = personOf(target)
			if c, err := tx.Connection(ctx, via.ID, target.ID); err == nil {
				d.ConnectionNote = c.Note
			}
		}
		if dup, err := tx.OpenAskLike(ctx, a); err != nil {
			return err
		} else if dup != nil {
			return &DuplicateAskError{Existing: dup}
		}
		out, err = o.createTx(ctx, tx, a, store.PurposeIntroRequest, TmplIntroRequest, d, via)
		return err
	})
	if err != nil {
		return nil, err
	}
	o.Log.Info("ask created", "ask", out.Ask.ID, "kind", out.Ask.Kind, "draft", out.Draft.ID)
	return &out, nil
}

// Availability is the config's availability as calendar.FreeSlots wants it.
func Availability(cfg *config.Config) (calendar.Availability, error) {
	days, err := config.ParseDays(cfg.Availability.Days)
	if err != nil {
		return calendar.Availability{}, fmt.Errorf("availability.days: %w", err)
	}
	from, to, err := config.ParseHours(cfg.Availability.Hours)
	if err != nil {
		return calendar.Availability{}, fmt.Errorf("availability.hours: %w", err)
	}
	av := calendar.Availability{Days: days, From: from, To: to, Propose: cfg.Availability.Propose, Loc: cfg.Location()}
	for _, p := range []struct {
		key string
		val string
		dst *time.Duration
	}{
		{"availability.slot", cfg.Availability.Slot, &av.Slot},
		{"availability.min_notice", cfg.Availability.MinNotice, &av.MinNotice},
		{"availability.horizon", cfg.Availability.Horizon, &av.Horizon},
	} {
		d, err := config.ParseDuration(p.val)
		if err != nil {
			return calendar.Availability{}, fmt.Errorf("%s: %w", p.key, err)
		}
		*p.dst = d
	}
	return av, nil
}

// AskInterview creates an interview ask and drafts the request, proposing
// free slots.
func (o *Outreach) AskInterview(ctx context.Context, r InterviewRequest) (*Created, error) {
	r.Topic = strings.TrimSpace(r.Topic)
	if err := checkFields("topic", r.Topic); err != nil {
		return nil, err
	}
	if err := o.checkAccount(); err != nil {
		return nil, err
	}
	av, err := Availability(o.Cfg)
	if err != nil {
		return nil, err
	}
	now := o.now()
	// Busy time from the user's calendars is read before the transaction: it
	// may come over the network.
	fileBusy, errs := calendar.LoadBusy(ctx, nil, o.Cfg.Availability.Busy, now, now.Add(av.Horizon+24*time.Hour))
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w (fix it or remove it from availability.busy)", errors.Join(errs...))
	}
	var out Created
	err = o.DB.Update(ctx, func(tx *store.Tx) error {
		target, err := o.Resolve(ctx, tx, r.To)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		if target.Email() == "" {
			return fmt.Errorf("%s has no email address: ask someone who knows them for an intro instead (`coffeechat ask intro --via REF --to %d`)", target.Name, target.ID)
		}
		a := &store.Ask{Kind: store.KindInterview, TargetID: target.ID, Topic: r.Topic}
		if dup, err := tx.OpenAskLike(ctx, a); err != nil {
			return err
		} else if dup != nil {
			return &DuplicateAskError{Existing: dup}
		}
		d := Data{Me: o.me(), To: personOf(target), Target: personOf(target), Topic: r.Topic, Zone: now.In(av.Loc).Format("MST")}
		if conn, err := o.connectorOf(ctx, tx, target.ID); err != nil {
			return err
		} else if conn != nil {
			a.ConnectorID = conn.FromID
			c, err := tx.Contact(ctx, conn.FromID)
			if err != nil {
				return err
			}
			d.Connector, d.ConnectionNote = personOf(c), conn.Note
			if parents, err := tx.Asks(ctx, store.AskFilter{Kind: store.KindIntro, TargetID: target.ID, ConnectorID: c.ID}); err == nil && len(parents) > 0 {
				a.ParentID = parents[len(parents)-1].ID
			}
		}
		busy := append([]calendar.Interval(nil), fileBusy...)
		booked, err := tx.BookedSlots(ctx, now)
		if err != nil {
			return err
		}
		offered, err := tx.OfferedSlots(ctx, 0)
		if err != nil {
			return err
		}
		for _, s := range append(booked, offered...) {
			busy = append(busy, calendar.Interval{Start: s.Start, End: s.End})
		}
		for _, iv := range calendar.FreeSlots(av, now, busy) {
			s := store.Slot{Start: iv.Start.UTC(), End: iv.End.UTC()}
			a.Slots = append(a.Slots, s)
			d.Slots = append(d.Slots, FormatSlot(s, av.Loc))
		}
		if len(a.Slots) == 0 {
			o.Log.Warn("no free slot to propose", "horizon", av.Horizon)
		}
		out, err = o.createTx(ctx, tx, a, store.PurposeInterviewRequest, TmplInterviewRequest, d, target)
		return err
	})
	if err != nil {
		return nil, err
	}
	o.Log.Info("ask created", "ask", out.Ask.ID, "kind", out.Ask.Kind, "draft", out.Draft.ID, "slots", len(out.Ask.Slots))
	return &out, nil
}

// connectorOf picks who connected the user to target: a connection made by
// an introduction first, else the oldest one. nil when nobody knows them.
func (o *Outreach) connectorOf(ctx context.Context, tx *store.Tx, targetID int64) (*store.Connection, error) {
	_, in, err := tx.Connections(ctx, targetID)
	if err != nil || len(in) == 0 {
		return nil, err
	}
	for i := range in {
		if in[i].Source == "introduction" {
			return &in[i], nil
		}
	}
	return &in[0], nil
}

// createTx stores ask a and drafts its first message, to `to`, from template tmpl.
func (o *Outreach) createTx(ctx context.Context, tx *store.Tx, a *store.Ask, purpose, tmpl string, d Data, to *store.Contact) (Created, error) {
	if err := tx.InsertAsk(ctx, a); err != nil {
		return Created{}, err
	}
	m, err := o.draft(ctx, tx, a, purpose, tmpl, d, to)
	if err != nil {
		return Created{}, err
	}
	return Created{Ask: a, Draft: m}, nil
}

// draft renders tmpl and stores it as an outgoing draft of ask a to the
// contact to, with a fresh Message-ID; the timeline says "drafted".
func (o *Outreach) draft(ctx context.Context, tx *store.Tx, a *store.Ask, purpose, tmpl string, d Data, to *store.Contact) (*store.Message, error) {
	subject, body, err := o.Tmpl.Render(tmpl, d)
	if err != nil {
		return nil, err
	}
	m := &store.Message{
		AskID: a.ID, Direction: store.Out, Purpose: purpose, State: store.MsgDraft,
		MessageID: mailer.NewMessageID(mailer.DomainOf(o.Cfg.Account.Email)),
		From:      FormatAddress(o.Cfg.Account.Name, o.Cfg.Account.Email),
		To:        FormatAddress(to.Name, to.Email()),
		Subject:   subject, Body: body,
	}
	if err := tx.InsertMessage(ctx, m); err != nil {
		return nil, err
	}
	if err := tx.AddEvent(ctx, a.ID, "drafted", purpose+" to "+to.Name, m.ID); err != nil {
		return nil, err
	}
	return m, nil
}

// AskRow is one line of `asks`.
type AskRow struct {
	ID           int64     `json:"id"`
	Kind         string    `json:"kind"`
	Who          string    `json:"who"`
	WhoID        int64     `json:"who_id,omitempty"`
	LookingFor   string    `json:"looking_for,omitempty"`
	Via          string    `json:"via,omitempty"`
	ViaID        int64     `json:"via_id,omitempty"`
	Topic        string    `json:"topic,omitempty"`
	State        string    `json:"state"`
	LastActivity time.Time `json:"last_activity"`
}

// Asks lists the pipeline, optionally one state.
func (o *Outreach) Asks(ctx context.Context, state string) ([]AskRow, error) {
	if state != "" {
		if _, ok := store.AskStates[state]; !ok {
			return nil, fmt.Errorf("unknown state %q (one of draft, waiting, replied, introduced, agreed, scheduled, done, declined, bounced, no_answer, closed)", state)
		}
	}
	var rows []AskRow
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		asks, err := tx.Asks(ctx, store.AskFilter{State: state})
		if err != nil {
			return err
		}
		var ids []int64
		for _, a := range asks {
			ids = append(ids, a.ConnectorID, a.TargetID)
		}
		people, err := tx.ContactsByID(ctx, ids)
		if err != nil {
			return err
		}
		last, err := tx.LastActivity(ctx)
		if err != nil {
			return err
		}
		for _, a := range asks {
			r := AskRow{ID: a.ID, Kind: a.Kind, LookingFor: a.LookingFor, Topic: a.Topic, State: a.State, LastActivity: last[a.ID]}
			if t := people[a.TargetID]; t != nil {
				r.Who, r.WhoID = t.Name, t.ID
			} else if a.LookingFor != "" {
				r.Who = lookingFor(a.LookingFor)
			}
			if c := people[a.ConnectorID]; c != nil {
				r.Via, r.ViaID = c.Name, c.ID
			}
			if r.LastActivity.IsZero() {
				r.LastActivity = a.UpdatedAt
			}
			rows = append(rows, r)
		}
		return nil
	})
	return rows, err
}

// Timeline returns everything that happened to one ask.
func (o *Outreach) Timeline(ctx context.Context, askID int64) (*store.Ask, []store.Event, error) {
	var a *store.Ask
	var ev []store.Event
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if a, err = tx.Ask(ctx, askID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no ask %d (see `coffeechat asks`)", askID)
			}
			return err
		}
		ev, err = tx.Timeline(ctx, askID)
		return err
	})
	return a, ev, err
}

// lookingFor makes a --looking-for text read as a phrase about a person:
// "sports marketing" becomes "someone in sports marketing"; "anyone at
// Google" stays as it is. Templates use it after "do you know".
func lookingFor(s string) string {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	for _, p := range []string{"anyone", "someone", "anybody", "somebody", "a ", "an ", "people", "somewhere"} {
		if strings.HasPrefix(l, p) {
			return s
		}
	}
	return "someone in " + s
}
