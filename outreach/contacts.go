package outreach

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// NewContact is what `contact add` takes.
type NewContact struct {
	Name   string
	Emails []string
	Org    string
	Role   string
	Note   string
	Tags   []string
	Source string // default manual
}

// validate checks every field at the edge and returns the contact to store.
func (n NewContact) validate() (*store.Contact, error) {
	c := &store.Contact{
		Name: strings.TrimSpace(n.Name), Org: strings.TrimSpace(n.Org), Role: strings.TrimSpace(n.Role),
		Note: strings.TrimSpace(n.Note), Source: n.Source,
	}
	if c.Name == "" {
		return nil, errors.New("a contact needs a name")
	}
	if err := checkFields("name", c.Name, "org", c.Org, "role", c.Role, "note", c.Note); err != nil {
		return nil, err
	}
	for _, t := range n.Tags {
		if err := mailer.CheckHeader("tag", t); err != nil {
			return nil, err
		}
		if strings.Contains(t, ",") {
			return nil, fmt.Errorf("tag %q: a tag cannot contain a comma (give --tag once per tag)", t)
		}
		c.Tags = append(c.Tags, t)
	}
	for _, e := range n.Emails {
		a, err := mailer.ParseAddress("email", e)
		if err != nil {
			return nil, err
		}
		c.Emails = append(c.Emails, strings.ToLower(a.Address))
	}
	return c, nil
}

// AddContact validates and stores a new contact. An address that already
// belongs to someone is an error naming them.
func (o *Outreach) AddContact(ctx context.Context, n NewContact) (*store.Contact, error) {
	c, err := n.validate()
	if err != nil {
		return nil, err
	}
	err = o.DB.Update(ctx, func(tx *store.Tx) error { return tx.InsertContact(ctx, c) })
	var taken *store.EmailTakenError
	if errors.As(err, &taken) {
		return nil, fmt.Errorf("%w: see `coffeechat contact show %d`", taken, taken.ContactID)
	}
	return c, err
}

// Contacts lists contacts, all or those with tag.
func (o *Outreach) Contacts(ctx context.Context, tag string) ([]*store.Contact, error) {
	var out []*store.Contact
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.Contacts(ctx, store.ContactFilter{Tag: tag})
		return err
	})
	return out, err
}

// Link is one side of a connection, seen from a contact.
type Link struct {
	Contact *store.Contact
	Note    string
	Source  string
}

// ContactView is a contact with who they know, who knows them, and their asks.
type ContactView struct {
	Contact *store.Contact
	Knows   []Link
	KnownBy []Link
	Asks    []*store.Ask
}

// ShowContact resolves ref and gathers its connections both ways and its asks.
func (o *Outreach) ShowContact(ctx context.Context, ref string) (*ContactView, error) {
	var v ContactView
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		c, err := o.Resolve(ctx, tx, ref)
		if err != nil {
			return err
		}
		v.Contact = c
		out, in, err := tx.Connections(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, l := range out {
			p, err := tx.Contact(ctx, l.ToID)
			if err != nil {
				return err
			}
			v.Knows = append(v.Knows, Link{Contact: p, Note: l.Note, Source: l.Source})
		}
		for _, l := range in {
			p, err := tx.Contact(ctx, l.FromID)
			if err != nil {
				return err
			}
			v.KnownBy = append(v.KnownBy, Link{Contact: p, Note: l.Note, Source: l.Source})
		}
		seen := map[int64]bool{}
		for _, f := range []store.AskFilter{{TargetID: c.ID}, {ConnectorID: c.ID}} {
			asks, err := tx.Asks(ctx, f)
			if err != nil {
				return err
			}
			for _, a := range asks {
				if !seen[a.ID] {
					seen[a.ID] = true
					v.Asks = append(v.Asks, a)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// LinkResult says what Link did.
type LinkResult struct {
	From, To *store.Contact
	Created  bool // false: the connection existed (its note updated if one was given)
}

// Link records that the contact fromRef knows toRef.
func (o *Outreach) Link(ctx context.Context, fromRef, toRef, note string) (*LinkResult, error) {
	note = strings.TrimSpace(note)
	if err := checkFields("note", note); err != nil {
		return nil, err
	}
	var res LinkResult
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		var err error
		if res.From, err = o.Resolve(ctx, tx, fromRef); err != nil {
			return err
		}
		if res.To, err = o.Resolve(ctx, tx, toRef); err != nil {
			return err
		}
		if res.From.ID == res.To.ID {
			return fmt.Errorf("%s cannot be linked to themself", res.From.Name)
		}
		err = tx.AddConnection(ctx, &store.Connection{FromID: res.From.ID, ToID: res.To.ID, Note: note, Source: "manual"})
		if errors.Is(err, store.ErrExists) {
			if note != "" {
				return tx.SetConnectionNote(ctx, res.From.ID, res.To.ID, note)
			}
			return nil
		}
		res.Created = err == nil
		return err
	})
	if err != nil {
		return nil, err
	}
	return &res, nil
}
