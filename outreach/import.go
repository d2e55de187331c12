package outreach

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/coffeechat/coffeechat/contacts"
	"github.com/coffeechat/coffeechat/store"
)

// ImportOptions are the flags of `contact import`.
type ImportOptions struct {
	Format  string // "" detects it from the name and content
	DryRun  bool   // plan only; nothing is written
	SkipBad bool   // import the good rows of a file with bad ones
}

// ImportLine is one person of the file and what happened to them.
type ImportLine struct {
	Line      int      `json:"line"`
	Name      string   `json:"name"`
	Email     string   `json:"email,omitempty"`
	ContactID int64    `json:"contact,omitempty"`
	Changes   []string `json:"changes,omitempty"` // updated: what was filled in
	Reason    string   `json:"reason,omitempty"`  // skipped: why
}

// ImportResult says what an import did (or, for a dry run, would do).
type ImportResult struct {
	Format  string               `json:"format"`
	DryRun  bool                 `json:"dry_run"`
	Added   []ImportLine         `json:"added"`
	Updated []ImportLine         `json:"updated"`
	Skipped []ImportLine         `json:"skipped"`
	Bad     []*contacts.RowError `json:"bad"` // rows left out (--skip-bad)
}

// BadRowsError is a file with rows that could not be read; nothing was imported.
type BadRowsError struct {
	Name string
	Rows []*contacts.RowError
}

func (e *BadRowsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s has %d bad row(s), so nothing was imported:", e.Name, len(e.Rows))
	for i, r := range e.Rows {
		if i == 20 {
			fmt.Fprintf(&b, "\n  ... and %d more", len(e.Rows)-20)
			break
		}
		fmt.Fprintf(&b, "\n  %s", r.Error())
	}
	return b.String()
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("dry run")

// Import reads an address book (LinkedIn Connections.csv, Google CSV, vCard)
// and merges it: a known address fills the contact's empty fields and adds its
// new addresses, never a second contact; a row without an address matches a
// contact with exactly the same name and org, else becomes a new contact.
func (o *Outreach) Import(ctx context.Context, r io.Reader, name string, opt ImportOptions) (*ImportResult, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var f contacts.Format
	if opt.Format != "" {
		f, err = contacts.ParseFormat(opt.Format)
	} else {
		head := data
		if len(head) > 8192 {
			head = head[:8192]
		}
		f, err = contacts.Detect(name, head)
		if err != nil {
			err = fmt.Errorf("%w (give --format linkedin, google or vcard)", err)
		}
	}
	if err != nil {
		return nil, err
	}
	parsed, bad, err := contacts.Parse(bytes.NewReader(data), f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// A row the parser read but that fails the checks at the edge (a line
	// break inside an encoded word, a comma in a label) is a bad row too, so
	// that nothing is imported partially unless asked.
	var recs []contacts.Record
	for _, rec := range parsed {
		if _, err := newContact(rec, string(f)).validate(); err != nil {
			bad = append(bad, &contacts.RowError{Line: rec.Line, Err: err})
			continue
		}
		recs = append(recs, rec)
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	if len(bad) > 0 && !opt.SkipBad {
		return nil, &BadRowsError{Name: name, Rows: bad}
	}
	res := &ImportResult{Format: string(f), DryRun: opt.DryRun, Bad: bad}
	err = o.DB.Update(ctx, func(tx *store.Tx) error {
		for _, rec := range recs {
			if err := o.importOne(ctx, tx, string(f), rec, res); err != nil {
				return fmt.Errorf("%s line %d: %w", name, rec.Line, err)
			}
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	return res, nil
}

// newContact is the contact a record becomes; a record without a name is
// named after its first address.
func newContact(rec contacts.Record, source string) NewContact {
	n := NewContact{Name: rec.Name, Emails: rec.Emails, Org: rec.Org, Role: rec.Role, Note: rec.Note, Tags: rec.Tags, Source: source}
	if strings.TrimSpace(n.Name) == "" && len(n.Emails) > 0 {
		n.Name = n.Emails[0]
	}
	return n
}

func (o *Outreach) importOne(ctx context.Context, tx *store.Tx, source string, rec contacts.Record, res *ImportResult) error {
	n := newContact(rec, source)
	line := ImportLine{Line: rec.Line, Name: n.Name}
	if len(n.Emails) > 0 {
		line.Email = n.Emails[0]
	}
	c, err := n.validate()
	if err != nil {
		line.Reason = err.Error()
		res.Skipped = append(res.Skipped, line)
		return nil
	}
	// Who already has one of these addresses?
	var owner *store.Contact
	for _, e := range c.Emails {
		got, err := tx.ContactByEmail(ctx, e)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if owner != nil && owner.ID != got.ID {
			line.Reason = fmt.Sprintf("its addresses belong to two contacts, %d (%s) and %d (%s): merge them by hand", owner.ID, owner.Name, got.ID, got.Name)
			res.Skipped = append(res.Skipped, line)
			return nil
		}
		owner = got
	}
	if owner == nil && len(c.Emails) == 0 {
		same, err := tx.Contacts(ctx, store.ContactFilter{Name: c.Name, Org: c.Org})
		if err != nil {
			return err
		}
		if len(same) > 0 {
			owner = same[0]
		}
	}
	if owner == nil {
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		line.ContactID = c.ID
		res.Added = append(res.Added, line)
		return nil
	}
	line.ContactID = owner.ID
	var changes []string
	fill := func(field string, dst *string, v string) {
		if *dst == "" && v != "" {
			*dst = v
			changes = append(changes, field+": "+v)
		}
	}
	fill("org", &owner.Org, c.Org)
	fill("role", &owner.Role, c.Role)
	fill("note", &owner.Note, c.Note)
	have := map[string]bool{}
	for _, t := range owner.Tags {
		have[t] = true
	}
	for _, t := range store.NormalizeTags(c.Tags) {
		if !have[t] {
			owner.Tags = append(owner.Tags, t)
			changes = append(changes, "tag: "+t)
		}
	}
	if len(changes) > 0 {
		if err := tx.UpdateContact(ctx, owner); err != nil {
			return err
		}
	}
	for _, e := range c.Emails {
		if !containsStr(owner.Emails, e) {
			if err := tx.AddContactEmail(ctx, owner, e); err != nil {
				return err
			}
			changes = append(changes, "address: "+e)
		}
	}
	if len(changes) == 0 {
		line.Name = owner.Name
		line.Reason = "already known, nothing new"
		res.Skipped = append(res.Skipped, line)
		return nil
	}
	line.Name, line.Changes = owner.Name, changes
	res.Updated = append(res.Updated, line)
	return nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
