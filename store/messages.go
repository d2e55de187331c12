package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message directions.
const (
	Out = "out"
	In  = "in"
)

// Outgoing message purposes.
const (
	PurposeIntroRequest     = "intro_request"
	PurposeInterviewRequest = "interview_request"
	PurposeFollowup         = "followup"
	PurposeThanks           = "thanks"
	PurposeCloseLoop        = "close_loop"
	PurposeInvite           = "invite"
	PurposeInviteUpdate     = "invite_update"
	PurposeInviteCancel     = "invite_cancel"
)

// Message states (outgoing: draft → approved → sending → sent, or failed,
// uncertain, rejected, stale; incoming: received).
const (
	MsgDraft     = "draft"
	MsgApproved  = "approved"
	MsgSending   = "sending"
	MsgSent      = "sent"
	MsgFailed    = "failed"
	MsgUncertain = "uncertain"
	MsgRejected  = "rejected"
	MsgStale     = "stale"
	MsgReceived  = "received"
)

// MessageStates lists every message state.
var MessageStates = map[string]bool{
	MsgDraft: true, MsgApproved: true, MsgSending: true, MsgSent: true, MsgFailed: true,
	MsgUncertain: true, MsgRejected: true, MsgStale: true, MsgReceived: true,
}

// Message is one email of an ask, outgoing or incoming: every column of messages.
type Message struct {
	ID             int64
	AskID          int64 // 0: none
	Direction      string
	Purpose        string
	State          string
	MessageID      string // without <>; "" is stored as NULL
	InReplyTo      string
	References     string // space-separated, without <>
	From           string // RFC 5322 address
	To             string // RFC 5322 address lists
	Cc             string
	Bcc            string
	Subject        string
	Body           string
	Calendar       []byte
	CalendarMethod string
	Raw            []byte
	Auto           bool
	Attempts       int
	NextAttemptAt  time.Time
	Error          string
	SMTPReply      string
	Reading        string
	Mailbox        string
	UIDValidity    uint32
	UID            uint32
	Date           time.Time // the Date header
	CreatedAt      time.Time
	UpdatedAt      time.Time
	ApprovedAt     time.Time
	SentAt         time.Time
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// InsertMessage adds m and sets m.ID. A Message-ID already stored gives an
// error wrapping ErrExists.
func (tx *Tx) InsertMessage(ctx context.Context, m *Message) error {
	if !MessageStates[m.State] {
		return fmt.Errorf("insert message: unknown state %q", m.State)
	}
	m.MessageID = strings.Trim(m.MessageID, "<> ")
	m.CreatedAt, m.UpdatedAt = tx.now, tx.now
	res, err := tx.exec(ctx, `INSERT INTO messages (ask_id, direction, purpose, state, message_id, in_reply_to, refs,
		from_addr, to_addrs, cc_addrs, bcc_addrs, subject, body, calendar, calendar_method, raw, auto, attempts,
		next_attempt_at, error, smtp_reply, reading, mailbox, uidvalidity, uid, msg_date, created_at, updated_at,
		approved_at, sent_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		nullID(m.AskID), m.Direction, m.Purpose, m.State, nullStr(m.MessageID), m.InReplyTo, m.References,
		m.From, m.To, m.Cc, m.Bcc, m.Subject, m.Body, m.Calendar, m.CalendarMethod, m.Raw, m.Auto, m.Attempts,
		nullTime(m.NextAttemptAt), m.Error, m.SMTPReply, m.Reading, m.Mailbox, m.UIDValidity, m.UID,
		nullTime(m.Date), FormatTime(tx.now), FormatTime(tx.now), nullTime(m.ApprovedAt), nullTime(m.SentAt))
	if isUnique(err) {
		return fmt.Errorf("message <%s>: %w", m.MessageID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	m.ID, err = res.LastInsertId()
	return err
}

// SaveMessage writes every column of m except id, direction, state,
// created_at and approved_at (state moves only through SetMessageState).
func (tx *Tx) SaveMessage(ctx context.Context, m *Message) error {
	m.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `UPDATE messages SET ask_id = ?, purpose = ?, message_id = ?, in_reply_to = ?, refs = ?,
		from_addr = ?, to_addrs = ?, cc_addrs = ?, bcc_addrs = ?, subject = ?, body = ?, calendar = ?, calendar_method = ?,
		raw = ?, auto = ?, attempts = ?, next_attempt_at = ?, error = ?, smtp_reply = ?, reading = ?, mailbox = ?,
		uidvalidity = ?, uid = ?, msg_date = ?, updated_at = ?, sent_at = ? WHERE id = ?`,
		nullID(m.AskID), m.Purpose, nullStr(strings.Trim(m.MessageID, "<> ")), m.InReplyTo, m.References,
		m.From, m.To, m.Cc, m.Bcc, m.Subject, m.Body, m.Calendar, m.CalendarMethod,
		m.Raw, m.Auto, m.Attempts, nullTime(m.NextAttemptAt), m.Error, m.SMTPReply, m.Reading, m.Mailbox,
		m.UIDValidity, m.UID, nullTime(m.Date), FormatTime(tx.now), nullTime(m.SentAt), m.ID)
	if isUnique(err) {
		return fmt.Errorf("message <%s>: %w", m.MessageID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("save message %d: %w", m.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("message %d: %w", m.ID, ErrNotFound)
	}
	return nil
}

// SetMessageState moves message id to state, but only from one of the states
// in from (none: any); otherwise it returns an error wrapping ErrStateChanged.
// approved sets approved_at, sent sets sent_at.
func (tx *Tx) SetMessageState(ctx context.Context, id int64, state string, from ...string) error {
	if !MessageStates[state] {
		return fmt.Errorf("message %d: unknown state %q", id, state)
	}
	var cur string
	if err := tx.queryRow(ctx, `SELECT state FROM messages WHERE id = ?`, id).Scan(&cur); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("message %d: %w", id, ErrNotFound)
		}
		return err
	}
	if len(from) > 0 && !contains(from, cur) {
		return fmt.Errorf("message %d is %s, not %s: %w", id, cur, strings.Join(from, " or "), ErrStateChanged)
	}
	now := FormatTime(tx.now)
	q := `UPDATE messages SET state = ?1, updated_at = ?2`
	switch state {
	case MsgApproved:
		q += `, approved_at = ?2`
	case MsgSent:
		q += `, sent_at = COALESCE(sent_at, ?2)`
	}
	if _, err := tx.exec(ctx, q+` WHERE id = ?3`, state, now, id); err != nil {
		return fmt.Errorf("set message %d state: %w", id, err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const messageCols = `id, COALESCE(ask_id, 0), direction, purpose, state, COALESCE(message_id, ''), in_reply_to, refs,
	from_addr, to_addrs, cc_addrs, bcc_addrs, subject, body, calendar, calendar_method, raw, auto, attempts,
	next_attempt_at, error, smtp_reply, reading, mailbox, uidvalidity, uid, msg_date, created_at, updated_at,
	approved_at, sent_at`

func scanMessage(s scanner) (*Message, error) {
	var m Message
	var next, date, created, updated, approved, sent sql.NullString
	if err := s.Scan(&m.ID, &m.AskID, &m.Direction, &m.Purpose, &m.State, &m.MessageID, &m.InReplyTo, &m.References,
		&m.From, &m.To, &m.Cc, &m.Bcc, &m.Subject, &m.Body, &m.Calendar, &m.CalendarMethod, &m.Raw, &m.Auto, &m.Attempts,
		&next, &m.Error, &m.SMTPReply, &m.Reading, &m.Mailbox, &m.UIDValidity, &m.UID, &date, &created, &updated,
		&approved, &sent); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&m.NextAttemptAt, next}, {&m.Date, date}, {&m.CreatedAt, created}, {&m.UpdatedAt, updated}, {&m.ApprovedAt, approved}, {&m.SentAt, sent}} {
		t, err := parseTime(p.src)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", m.ID, err)
		}
		*p.dst = t
	}
	return &m, nil
}

// Message returns one message.
func (tx *Tx) Message(ctx context.Context, id int64) (*Message, error) {
	m, err := scanMessage(tx.queryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	return m, err
}

// MessageFilter narrows Messages. Zero values match everything.
type MessageFilter struct {
	AskID     int64
	Direction string
	States    []string
}

// Messages lists messages in id order.
func (tx *Tx) Messages(ctx context.Context, f MessageFilter) ([]*Message, error) {
	q := `SELECT ` + messageCols + ` FROM messages WHERE 1=1`
	var args []any
	if f.AskID != 0 {
		q += ` AND ask_id = ?`
		args = append(args, f.AskID)
	}
	if f.Direction != "" {
		q += ` AND direction = ?`
		args = append(args, f.Direction)
	}
	if len(f.States) > 0 {
		q += ` AND state IN (?` + strings.Repeat(`, ?`, len(f.States)-1) + `)`
		for _, s := range f.States {
			args = append(args, s)
		}
	}
	return queryRows(ctx, tx, "list messages", scanMessage, q+` ORDER BY id`, args...)
}

// DraftSummary is one line of the queue.
type DraftSummary struct {
	ID        int64
	AskID     int64
	Purpose   string
	State     string
	To        string
	Subject   string
	CreatedAt time.Time
}

// Drafts lists outgoing messages in draft state, oldest first, without their bodies.
func (tx *Tx) Drafts(ctx context.Context) ([]DraftSummary, error) {
	return queryRows(ctx, tx, "list drafts", func(s scanner) (DraftSummary, error) {
		var d DraftSummary
		var at sql.NullString
		if err := s.Scan(&d.ID, &d.AskID, &d.Purpose, &d.State, &d.To, &d.Subject, &at); err != nil {
			return d, err
		}
		var err error
		d.CreatedAt, err = parseTime(at)
		return d, err
	}, `SELECT id, COALESCE(ask_id, 0), purpose, state, to_addrs, subject, created_at
		FROM messages WHERE direction = 'out' AND state = 'draft' ORDER BY id`)
}
