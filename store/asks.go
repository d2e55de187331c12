package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Ask kinds.
const (
	KindIntro     = "intro"
	KindInterview = "interview"
)

// Ask states.
const (
	AskDraft      = "draft"      // its first email waits for approval
	AskWaiting    = "waiting"    // sent, no human answer yet
	AskReplied    = "replied"    // a human answered; the user decides
	AskIntroduced = "introduced" // the connector introduced the target
	AskAgreed     = "agreed"     // a time is agreed; the invite is not out yet
	AskScheduled  = "scheduled"  // the invite is out
	AskDone       = "done"       // the interview happened
	AskDeclined   = "declined"
	AskBounced    = "bounced"
	AskNoAnswer   = "no_answer"
	AskClosed     = "closed" // ended by the user
)

// AskStates lists every state and whether it is open (the ask can still move).
var AskStates = map[string]bool{
	AskDraft: true, AskWaiting: true, AskReplied: true, AskIntroduced: true, AskAgreed: true, AskScheduled: true,
	AskDone: false, AskDeclined: false, AskBounced: false, AskNoAnswer: false, AskClosed: false,
}

// openStatesSQL is AskStates' open states as an SQL list.
const openStatesSQL = `('draft', 'waiting', 'replied', 'introduced', 'agreed', 'scheduled')`

// Slot is a proposed or agreed meeting time.
type Slot struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Ask is one request: an intro request to a connector, or an interview request.
type Ask struct {
	ID          int64
	Kind        string // intro | interview
	ConnectorID int64  // 0: none
	TargetID    int64  // 0: none (an intro by LookingFor)
	LookingFor  string
	Topic       string
	State       string
	ParentID    int64  // the intro ask an interview came from, or 0
	Slots       []Slot // proposed, in order
	AgreedStart time.Time
	WaitUntil   time.Time
	Followups   int
	LastSentAt  time.Time
	LastReplyAt time.Time
	Note        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Open reports whether the ask can still move.
func (a *Ask) Open() bool { return AskStates[a.State] }

// Event is one line of an ask's timeline.
type Event struct {
	ID        int64
	AskID     int64
	At        time.Time
	Event     string // created, drafted, approved, rejected, sent, replied, state:..., ...
	Detail    string
	MessageID int64 // the messages row it concerns, or 0
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// InsertAsk adds a and its "created" timeline event; a.State defaults to draft.
func (tx *Tx) InsertAsk(ctx context.Context, a *Ask) error {
	if a.State == "" {
		a.State = AskDraft
	}
	if _, ok := AskStates[a.State]; !ok {
		return fmt.Errorf("insert ask: unknown state %q", a.State)
	}
	slots, err := json.Marshal(orEmpty(a.Slots))
	if err != nil {
		return err
	}
	a.CreatedAt, a.UpdatedAt = tx.now, tx.now
	res, err := tx.exec(ctx, `INSERT INTO asks (kind, connector_id, target_id, looking_for, topic, state, parent_id,
		slots, agreed_start, wait_until, followups, last_sent_at, last_reply_at, note, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.Kind, nullID(a.ConnectorID), nullID(a.TargetID), a.LookingFor, a.Topic, a.State, nullID(a.ParentID),
		string(slots), nullTime(a.AgreedStart), nullTime(a.WaitUntil), a.Followups, nullTime(a.LastSentAt),
		nullTime(a.LastReplyAt), a.Note, FormatTime(tx.now), FormatTime(tx.now))
	if err != nil {
		return fmt.Errorf("insert %s ask: %w", a.Kind, err)
	}
	if a.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	return tx.AddEvent(ctx, a.ID, "created", a.Kind+" ask", 0)
}

func orEmpty(s []Slot) []Slot {
	if s == nil {
		return []Slot{}
	}
	return s
}

// SaveAsk writes every column of a except its state (which only SetAskState
// changes, with its timeline row).
func (tx *Tx) SaveAsk(ctx context.Context, a *Ask) error {
	slots, err := json.Marshal(orEmpty(a.Slots))
	if err != nil {
		return err
	}
	a.UpdatedAt = tx.now
	res, err := tx.exec(ctx, `UPDATE asks SET connector_id = ?, target_id = ?, looking_for = ?, topic = ?, parent_id = ?,
		slots = ?, agreed_start = ?, wait_until = ?, followups = ?, last_sent_at = ?, last_reply_at = ?, note = ?, updated_at = ?
		WHERE id = ?`,
		nullID(a.ConnectorID), nullID(a.TargetID), a.LookingFor, a.Topic, nullID(a.ParentID), string(slots),
		nullTime(a.AgreedStart), nullTime(a.WaitUntil), a.Followups, nullTime(a.LastSentAt), nullTime(a.LastReplyAt),
		a.Note, FormatTime(tx.now), a.ID)
	if err != nil {
		return fmt.Errorf("save ask %d: %w", a.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("ask %d: %w", a.ID, ErrNotFound)
	}
	return nil
}

// SetAskState moves an ask to state and writes its timeline row (event,
// detail) in the same transaction. event defaults to "state:<state>".
func (tx *Tx) SetAskState(ctx context.Context, askID int64, state, event, detail string) error {
	return tx.SetAskStateFor(ctx, askID, state, event, detail, 0)
}

// SetAskStateFor is SetAskState with the messages row the change concerns.
func (tx *Tx) SetAskStateFor(ctx context.Context, askID int64, state, event, detail string, messageID int64) error {
	if _, ok := AskStates[state]; !ok {
		return fmt.Errorf("ask %d: unknown state %q", askID, state)
	}
	var old string
	if err := tx.queryRow(ctx, `SELECT state FROM asks WHERE id = ?`, askID).Scan(&old); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("ask %d: %w", askID, ErrNotFound)
		}
		return err
	}
	if _, err := tx.exec(ctx, `UPDATE asks SET state = ?, updated_at = ? WHERE id = ?`, state, FormatTime(tx.now), askID); err != nil {
		return fmt.Errorf("set ask %d state: %w", askID, err)
	}
	if event == "" {
		event = "state:" + state
	}
	if old != state {
		if detail == "" {
			detail = old + " → " + state
		} else {
			detail = detail + " (" + old + " → " + state + ")"
		}
	}
	return tx.AddEvent(ctx, askID, event, detail, messageID)
}

// AddEvent writes one timeline row for something that did not change the
// ask's state (a draft queued, a message approved, a reply set aside).
func (tx *Tx) AddEvent(ctx context.Context, askID int64, event, detail string, messageID int64) error {
	_, err := tx.exec(ctx, `INSERT INTO timeline (ask_id, at, event, detail, message_id) VALUES (?, ?, ?, ?, ?)`,
		askID, FormatTime(tx.now), event, detail, nullID(messageID))
	if err != nil {
		return fmt.Errorf("timeline of ask %d: %w", askID, err)
	}
	_, err = tx.exec(ctx, `UPDATE asks SET updated_at = ? WHERE id = ?`, FormatTime(tx.now), askID)
	return err
}

const askCols = `id, kind, COALESCE(connector_id, 0), COALESCE(target_id, 0), looking_for, topic, state, COALESCE(parent_id, 0),
	slots, agreed_start, wait_until, followups, last_sent_at, last_reply_at, note, created_at, updated_at`

func scanAsk(s scanner) (*Ask, error) {
	var a Ask
	var slots string
	var agreed, wait, sent, reply, created, updated sql.NullString
	if err := s.Scan(&a.ID, &a.Kind, &a.ConnectorID, &a.TargetID, &a.LookingFor, &a.Topic, &a.State, &a.ParentID,
		&slots, &agreed, &wait, &a.Followups, &sent, &reply, &a.Note, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(slots), &a.Slots); err != nil {
		return nil, fmt.Errorf("ask %d slots: %w", a.ID, err)
	}
	for _, p := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&a.AgreedStart, agreed}, {&a.WaitUntil, wait}, {&a.LastSentAt, sent}, {&a.LastReplyAt, reply}, {&a.CreatedAt, created}, {&a.UpdatedAt, updated}} {
		t, err := parseTime(p.src)
		if err != nil {
			return nil, fmt.Errorf("ask %d: %w", a.ID, err)
		}
		*p.dst = t
	}
	return &a, nil
}

// Ask returns one ask.
func (tx *Tx) Ask(ctx context.Context, id int64) (*Ask, error) {
	a, err := scanAsk(tx.queryRow(ctx, `SELECT `+askCols+` FROM asks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("ask %d: %w", id, ErrNotFound)
	}
	return a, err
}

// AskFilter narrows Asks. Zero values match everything.
type AskFilter struct {
	State       string
	Kind        string
	OpenOnly    bool
	TargetID    int64
	ConnectorID int64
	ParentID    int64
}

// Asks lists asks, oldest first.
func (tx *Tx) Asks(ctx context.Context, f AskFilter) ([]*Ask, error) {
	q := `SELECT ` + askCols + ` FROM asks WHERE 1=1`
	var args []any
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.OpenOnly {
		q += ` AND state IN ` + openStatesSQL
	}
	if f.TargetID != 0 {
		q += ` AND target_id = ?`
		args = append(args, f.TargetID)
	}
	if f.ConnectorID != 0 {
		q += ` AND connector_id = ?`
		args = append(args, f.ConnectorID)
	}
	if f.ParentID != 0 {
		q += ` AND parent_id = ?`
		args = append(args, f.ParentID)
	}
	return queryRows(ctx, tx, "list asks", scanAsk, q+` ORDER BY id`, args...)
}

// OpenAskLike returns an open ask of the same kind for the same person as a:
// for an interview or an intro to a named target, the same target; for an
// intro by "looking for", the same connector and the same text (any case).
// It returns nil when there is none.
func (tx *Tx) OpenAskLike(ctx context.Context, a *Ask) (*Ask, error) {
	f := AskFilter{Kind: a.Kind, OpenOnly: true}
	if a.TargetID != 0 {
		f.TargetID = a.TargetID
	} else {
		f.ConnectorID = a.ConnectorID
	}
	asks, err := tx.Asks(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, o := range asks {
		if o.ID == a.ID {
			continue
		}
		if a.TargetID != 0 || (o.TargetID == 0 && strings.EqualFold(strings.TrimSpace(o.LookingFor), strings.TrimSpace(a.LookingFor))) {
			return o, nil
		}
	}
	return nil, nil
}

// OfferedSlots returns the slots proposed by open asks in draft, waiting or
// replied state (other than exceptAskID): time already promised to someone.
func (tx *Tx) OfferedSlots(ctx context.Context, exceptAskID int64) ([]Slot, error) {
	rows, err := tx.query(ctx, `SELECT slots FROM asks WHERE id <> ? AND state IN ('draft', 'waiting', 'replied') AND slots <> '[]'`, exceptAskID)
	if err != nil {
		return nil, fmt.Errorf("offered slots: %w", err)
	}
	defer rows.Close()
	var out []Slot
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		var slots []Slot
		if err := json.Unmarshal([]byte(s), &slots); err != nil {
			return nil, fmt.Errorf("offered slots: %w", err)
		}
		out = append(out, slots...)
	}
	return out, rows.Err()
}

// Timeline returns everything that happened to an ask, oldest first.
func (tx *Tx) Timeline(ctx context.Context, askID int64) ([]Event, error) {
	return queryRows(ctx, tx, fmt.Sprintf("timeline of ask %d", askID), func(s scanner) (Event, error) {
		var e Event
		var at sql.NullString
		if err := s.Scan(&e.ID, &e.AskID, &at, &e.Event, &e.Detail, &e.MessageID); err != nil {
			return e, err
		}
		var err error
		e.At, err = parseTime(at)
		return e, err
	}, `SELECT id, ask_id, at, event, detail, COALESCE(message_id, 0) FROM timeline WHERE ask_id = ? ORDER BY id`, askID)
}

// LastActivity returns, for every ask, the time of its newest timeline row.
func (tx *Tx) LastActivity(ctx context.Context) (map[int64]time.Time, error) {
	rows, err := tx.query(ctx, `SELECT ask_id, MAX(at) FROM timeline GROUP BY ask_id`)
	if err != nil {
		return nil, fmt.Errorf("last activity: %w", err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var at sql.NullString
		if err := rows.Scan(&id, &at); err != nil {
			return nil, err
		}
		t, err := parseTime(at)
		if err != nil {
			return nil, err
		}
		out[id] = t
	}
	return out, rows.Err()
}
