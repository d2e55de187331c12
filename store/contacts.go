package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Contact is a person, with every address they have (Emails[0] is the primary).
type Contact struct {
	ID        int64
	Name      string
	Emails    []string // lower-case
	Org       string
	Role      string
	Note      string
	Tags      []string // lower-case
	Source    string   // manual | linkedin | google | vcard | introduction
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Email is the primary address, or "".
func (c *Contact) Email() string {
	if len(c.Emails) == 0 {
		return ""
	}
	return c.Emails[0]
}

// Connection says that From knows To.
type Connection struct {
	FromID    int64
	ToID      int64
	Note      string
	Source    string // manual | introduction | import
	CreatedAt time.Time
}

// EmailTakenError is returned when an address already belongs to a contact.
type EmailTakenError struct {
	Email     string
	ContactID int64
	Name      string
}

func (e *EmailTakenError) Error() string {
	return fmt.Sprintf("address %s already belongs to contact %d (%s)", e.Email, e.ContactID, e.Name)
}

func (e *EmailTakenError) Is(target error) bool { return target == ErrExists }

// encodeTags stores tags as ",a,b," for LIKE '%,tag,%'.
func encodeTags(tags []string) string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	if len(out) == 0 {
		return ""
	}
	return "," + strings.Join(out, ",") + ","
}

func decodeTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// NormalizeTags lower-cases, trims and de-duplicates tags, keeping their order.
func NormalizeTags(tags []string) []string { return decodeTags(encodeTags(tags)) }

// InsertContact adds c with its addresses and sets c.ID. An address that
// already belongs to someone gives an *EmailTakenError.
func (tx *Tx) InsertContact(ctx context.Context, c *Contact) error {
	if c.Source == "" {
		c.Source = "manual"
	}
	c.Tags = NormalizeTags(c.Tags)
	c.CreatedAt, c.UpdatedAt = tx.now, tx.now
	res, err := tx.exec(ctx, `INSERT INTO contacts (name, org, role, note, tags, source, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Name, c.Org, c.Role, c.Note, encodeTags(c.Tags), c.Source, FormatTime(tx.now), FormatTime(tx.now))
	if err != nil {
		return fmt.Errorf("insert contact %q: %w", c.Name, err)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	emails := c.Emails
	c.Emails = nil
	for _, e := range emails {
		if err := tx.AddContactEmail(ctx, c, e); err != nil {
			return err
		}
	}
	return nil
}

// AddContactEmail gives c one more address (appended to c.Emails). An address
// c already has is a no-op; one that belongs to another contact gives an
// *EmailTakenError.
func (tx *Tx) AddContactEmail(ctx context.Context, c *Contact, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	owner, err := tx.contactIDByEmail(ctx, email)
	switch {
	case err == nil && owner == c.ID:
		return nil
	case err == nil:
		var name string
		tx.queryRow(ctx, `SELECT name FROM contacts WHERE id = ?`, owner).Scan(&name)
		return &EmailTakenError{Email: email, ContactID: owner, Name: name}
	case !errors.Is(err, ErrNotFound):
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO contact_emails (email, contact_id, position)
		VALUES (?, ?, (SELECT COALESCE(MAX(position) + 1, 0) FROM contact_emails WHERE contact_id = ?))`,
		email, c.ID, c.ID)
	if err != nil {
		return fmt.Errorf("add address %s: %w", email, err)
	}
	c.Emails = append(c.Emails, email)
	return nil
}

// UpdateContact writes c's name, org, role, note, tags and source (addresses
// are added with AddContactEmail).
func (tx *Tx) UpdateContact(ctx context.Context, c *Contact) error {
	c.Tags = NormalizeTags(c.Tags)
	c.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `UPDATE contacts SET name = ?, org = ?, role = ?, note = ?, tags = ?, source = ?, updated_at = ?
		WHERE id = ?`, c.Name, c.Org, c.Role, c.Note, encodeTags(c.Tags), c.Source, FormatTime(tx.now), c.ID)
	if err != nil {
		return fmt.Errorf("update contact %d: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("contact %d: %w", c.ID, ErrNotFound)
	}
	return nil
}

func (tx *Tx) contactIDByEmail(ctx context.Context, email string) (int64, error) {
	var id int64
	err := tx.queryRow(ctx, `SELECT contact_id FROM contact_emails WHERE email = ?`, strings.ToLower(strings.TrimSpace(email))).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("contact with address %s: %w", email, ErrNotFound)
	}
	return id, err
}

const contactCols = `id, name, org, role, note, tags, source, created_at, updated_at`

func scanContact(s scanner) (*Contact, error) {
	var c Contact
	var tags string
	var created, updated sql.NullString
	if err := s.Scan(&c.ID, &c.Name, &c.Org, &c.Role, &c.Note, &tags, &c.Source, &created, &updated); err != nil {
		return nil, err
	}
	c.Tags = decodeTags(tags)
	var err error
	if c.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if c.UpdatedAt, err = parseTime(updated); err != nil {
		return nil, err
	}
	return &c, nil
}

// Contact returns one contact with its addresses.
func (tx *Tx) Contact(ctx context.Context, id int64) (*Contact, error) {
	c, err := scanContact(tx.queryRow(ctx, `SELECT `+contactCols+` FROM contacts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("contact %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("contact %d: %w", id, err)
	}
	if err := tx.fillEmails(ctx, []*Contact{c}); err != nil {
		return nil, err
	}
	return c, nil
}

// ContactByEmail returns the contact owning address (any case).
func (tx *Tx) ContactByEmail(ctx context.Context, address string) (*Contact, error) {
	id, err := tx.contactIDByEmail(ctx, address)
	if err != nil {
		return nil, err
	}
	return tx.Contact(ctx, id)
}

// ContactFilter narrows Contacts. Zero values match everything.
type ContactFilter struct {
	Tag        string // has this tag
	NamePrefix string // name starts with this, any case
	Name       string // exactly this name, any case
	Org        string // with Name: exactly this org, any case
}

// Contacts lists contacts by name, with their addresses.
func (tx *Tx) Contacts(ctx context.Context, f ContactFilter) ([]*Contact, error) {
	q := `SELECT ` + contactCols + ` FROM contacts WHERE 1=1`
	var args []any
	if f.Tag != "" {
		q += ` AND tags LIKE ? ESCAPE '\'`
		args = append(args, "%,"+escapeLike(strings.ToLower(strings.TrimSpace(f.Tag)))+",%")
	}
	if f.NamePrefix != "" {
		// LIKE folds only ASCII letters, so it narrows by the prefix up to
		// its first other character; the Go check below decides.
		q += ` AND name LIKE ? ESCAPE '\'`
		args = append(args, escapeLike(asciiPrefix(f.NamePrefix))+"%")
	}
	if f.Name != "" {
		q += ` AND name = ? COLLATE NOCASE AND org = ? COLLATE NOCASE`
		args = append(args, f.Name, f.Org)
	}
	q += ` ORDER BY name COLLATE NOCASE, id`
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	var out []*Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		if f.NamePrefix != "" && !strings.HasPrefix(strings.ToLower(c.Name), strings.ToLower(f.NamePrefix)) {
			continue
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := tx.fillEmails(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// asciiPrefix is s up to its first non-ASCII byte.
func asciiPrefix(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return s[:i]
		}
	}
	return s
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// fillEmails loads the addresses of cs in one query.
func (tx *Tx) fillEmails(ctx context.Context, cs []*Contact) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[int64]*Contact, len(cs))
	for _, c := range cs {
		byID[c.ID] = c
		c.Emails = nil
	}
	q := `SELECT contact_id, email FROM contact_emails ORDER BY contact_id, position`
	var args []any
	if len(cs) == 1 {
		q = `SELECT contact_id, email FROM contact_emails WHERE contact_id = ? ORDER BY position`
		args = append(args, cs[0].ID)
	}
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("contact addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var e string
		if err := rows.Scan(&id, &e); err != nil {
			return err
		}
		if c := byID[id]; c != nil {
			c.Emails = append(c.Emails, e)
		}
	}
	return rows.Err()
}

// AddConnection records that c.FromID knows c.ToID. An existing pair gives
// an error wrapping ErrExists.
func (tx *Tx) AddConnection(ctx context.Context, c *Connection) error {
	if c.Source == "" {
		c.Source = "manual"
	}
	c.CreatedAt = tx.now
	_, err := tx.exec(ctx, `INSERT INTO connections (from_id, to_id, note, source, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.FromID, c.ToID, c.Note, c.Source, FormatTime(tx.now))
	if isUnique(err) {
		return fmt.Errorf("connection %d → %d: %w", c.FromID, c.ToID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("add connection %d → %d: %w", c.FromID, c.ToID, err)
	}
	return nil
}

// SetConnectionNote replaces the note of an existing connection.
func (tx *Tx) SetConnectionNote(ctx context.Context, fromID, toID int64, note string) error {
	res, err := tx.exec(ctx, `UPDATE connections SET note = ? WHERE from_id = ? AND to_id = ?`, note, fromID, toID)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("connection %d → %d: %w", fromID, toID, ErrNotFound)
	}
	return nil
}

// Connections returns who contactID knows (out) and who knows contactID (in).
func (tx *Tx) Connections(ctx context.Context, contactID int64) (out, in []Connection, err error) {
	rows, err := tx.query(ctx, `SELECT from_id, to_id, note, source, created_at FROM connections
		WHERE from_id = ? OR to_id = ? ORDER BY created_at, from_id, to_id`, contactID, contactID)
	if err != nil {
		return nil, nil, fmt.Errorf("connections of %d: %w", contactID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Connection
		var at sql.NullString
		if err := rows.Scan(&c.FromID, &c.ToID, &c.Note, &c.Source, &at); err != nil {
			return nil, nil, err
		}
		if c.CreatedAt, err = parseTime(at); err != nil {
			return nil, nil, err
		}
		if c.FromID == contactID {
			out = append(out, c)
		} else {
			in = append(in, c)
		}
	}
	return out, in, rows.Err()
}

// Connection returns the connection fromID → toID.
func (tx *Tx) Connection(ctx context.Context, fromID, toID int64) (*Connection, error) {
	_, in, err := tx.Connections(ctx, toID)
	if err != nil {
		return nil, err
	}
	for _, c := range in {
		if c.FromID == fromID {
			return &c, nil
		}
	}
	return nil, fmt.Errorf("connection %d → %d: %w", fromID, toID, ErrNotFound)
}

// ContactsByID loads several contacts at once, keyed by id; missing ids are absent.
func (tx *Tx) ContactsByID(ctx context.Context, ids []int64) (map[int64]*Contact, error) {
	out := map[int64]*Contact{}
	uniq := map[int64]bool{}
	var list []int64
	for _, id := range ids {
		if id != 0 && !uniq[id] {
			uniq[id] = true
			list = append(list, id)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i] < list[j] })
	for _, id := range list {
		c, err := tx.Contact(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = c
	}
	return out, nil
}
