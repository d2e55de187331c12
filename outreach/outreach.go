package outreach

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// Outreach is the workflow over one database and one configuration.
type Outreach struct {
	DB   *store.DB
	Cfg  *config.Config
	Tmpl *Templates
	Now  func() time.Time
	Log  *slog.Logger

	// Review maps a review item's kind to what approve and reject do with
	// it. The daemon's parts register their kinds here; a kind with no
	// approve action is refused with advice, and reject dismisses by default.
	Review map[string]ReviewAction

	busy busyCache // availability.busy, read ahead of transactions (invite_busy.go)
}

// New returns an Outreach with the clock and logger defaulted.
func New(db *store.DB, cfg *config.Config, tmpl *Templates, log *slog.Logger) *Outreach {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outreach{DB: db, Cfg: cfg, Tmpl: tmpl, Now: time.Now, Log: log, Review: map[string]ReviewAction{}}
}

func (o *Outreach) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// updateTx runs f in a write transaction and returns its value, or the zero
// value and the error when f or the commit fails.
func updateTx[T any](ctx context.Context, db *store.DB, f func(tx *store.Tx) (T, error)) (T, error) {
	var v T
	err := db.Update(ctx, func(tx *store.Tx) error {
		var err error
		v, err = f(tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// AmbiguousError is a REF that matches several contacts.
type AmbiguousError struct {
	Ref        string
	Candidates []*store.Contact
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q matches %d contacts; use an id or an address:", e.Ref, len(e.Candidates))
	for _, c := range e.Candidates {
		fmt.Fprintf(&b, "\n  %d  %s", c.ID, c.Name)
		if len(c.Emails) > 0 {
			fmt.Fprintf(&b, " <%s>", strings.Join(c.Emails, ", "))
		}
	}
	return b.String()
}

// ErrNoContact is returned for a REF that matches nobody.
var ErrNoContact = errors.New("no such contact")

// Resolve finds one contact by REF: an id, an address, or a unique
// case-insensitive name prefix (an exact name wins over longer ones).
func (o *Outreach) Resolve(ctx context.Context, tx *store.Tx, ref string) (*store.Contact, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, fmt.Errorf("empty contact reference: %w", ErrNoContact)
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(ref, "#"), 10, 64); err == nil {
		c, err := tx.Contact(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("contact %d: %w (see `coffeechat contact list`)", id, ErrNoContact)
		}
		return c, err
	}
	if strings.Contains(ref, "@") {
		addr := ref
		if a, err := mail.ParseAddress(ref); err == nil {
			addr = a.Address
		}
		c, err := tx.ContactByEmail(ctx, addr)
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("no contact has the address %s: %w (add it with `coffeechat contact add`)", addr, ErrNoContact)
		}
		return c, err
	}
	cs, err := tx.Contacts(ctx, store.ContactFilter{NamePrefix: ref})
	if err != nil {
		return nil, err
	}
	switch len(cs) {
	case 0:
		return nil, fmt.Errorf("no contact's name starts with %q: %w (see `coffeechat contact list`)", ref, ErrNoContact)
	case 1:
		return cs[0], nil
	}
	var exact []*store.Contact
	for _, c := range cs {
		if strings.EqualFold(c.Name, ref) {
			exact = append(exact, c)
		}
	}
	if len(exact) == 1 {
		return exact[0], nil
	}
	return nil, &AmbiguousError{Ref: ref, Candidates: cs}
}

// FormatAddress writes an address for a header: `Name <addr>`, the name
// quoted when it needs to be, UTF-8 kept (RFC 6532) so that it stays readable
// in an editor; net/mail parses it back.
func FormatAddress(name, addr string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return addr
	}
	plain := true
	for _, r := range name {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)) {
			plain = false
			break
		}
	}
	if plain {
		return name + " <" + addr + ">"
	}
	q := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)
	return `"` + q + `" <` + addr + ">"
}

// ParseAddressList reads a header's address list ("" is an empty list).
func ParseAddressList(field, s string) ([]*mail.Address, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if err := mailer.CheckHeader(field, s); err != nil {
		return nil, err
	}
	as, err := mail.ParseAddressList(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a list of addresses: %w", field, s, err)
	}
	for _, a := range as {
		if err := mailer.CheckHeader(field, a.Name); err != nil {
			return nil, err
		}
	}
	return as, nil
}

// firstName is the first word of a name ("Dr." and the like skipped).
func firstName(name string) string {
	for _, w := range strings.Fields(name) {
		switch strings.ToLower(strings.TrimSuffix(w, ".")) {
		case "dr", "mr", "mrs", "ms", "mx", "prof":
			continue
		}
		return strings.Trim(w, ",")
	}
	return name
}

func personOf(c *store.Contact) Person {
	if c == nil {
		return Person{}
	}
	return Person{Name: c.Name, FirstName: firstName(c.Name), Email: c.Email(), Org: c.Org, Role: c.Role}
}

func (o *Outreach) me() Person {
	return Person{Name: o.Cfg.Account.Name, FirstName: firstName(o.Cfg.Account.Name), Email: o.Cfg.Account.Email}
}

// checkFields refuses a line break in any value that could reach a header.
func checkFields(fields ...string) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mailer.CheckHeader(fields[i], fields[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// FormatSlot writes a slot as "Tue Dec 8, 10:00–10:30 (PST)" in loc.
func FormatSlot(s store.Slot, loc *time.Location) string {
	a, b := s.Start.In(loc), s.End.In(loc)
	out := a.Format("Mon Jan 2, 15:04")
	if a.Format("2006-01-02") == b.Format("2006-01-02") {
		out += "–" + b.Format("15:04")
	} else {
		out += " – " + b.Format("Mon Jan 2, 15:04")
	}
	return out + " (" + a.Format("MST") + ")"
}
