package outreach

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// QueueItem is one line of the queue: a draft (ID "12") or an open review
// item (ID "r3").
type QueueItem struct {
	ID      string    `json:"id"`
	Type    string    `json:"type"` // draft | review
	AskID   int64     `json:"ask,omitempty"`
	To      string    `json:"to,omitempty"`
	Subject string    `json:"subject,omitempty"`
	State   string    `json:"state"`
	Purpose string    `json:"purpose"` // a draft's purpose, or a review item's kind
	Summary string    `json:"summary,omitempty"`
	Created time.Time `json:"created"`
	// Sends is when a draft would leave if approved now (send_queue.go).
	Sends *time.Time `json:"sends,omitempty"`
}

// Queue lists drafts waiting for approval, then open review items.
func (o *Outreach) Queue(ctx context.Context) ([]QueueItem, error) {
	var out []QueueItem
	err := o.DB.View(ctx, func(tx *store.Tx) error {
		drafts, err := tx.Drafts(ctx)
		if err != nil {
			return err
		}
		out = make([]QueueItem, 0, len(drafts))
		for _, d := range drafts {
			out = append(out, QueueItem{ID: strconv.FormatInt(d.ID, 10), Type: "draft", AskID: d.AskID, To: d.To,
				Subject: d.Subject, State: d.State, Purpose: d.Purpose, Created: d.CreatedAt})
		}
		items, err := tx.OpenReviewItems(ctx)
		if err != nil {
			return err
		}
		for _, r := range items {
			out = append(out, QueueItem{ID: "r" + strconv.FormatInt(r.ID, 10), Type: "review", AskID: r.AskID,
				State: r.State, Purpose: r.Kind, Summary: r.Summary, Created: r.CreatedAt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, o.fillSends(ctx, out)
}

// QueueID is a parsed queue id: a message, or a review item ("r3").
type QueueID struct {
	Review bool
	N      int64
}

func (q QueueID) String() string {
	if q.Review {
		return "r" + strconv.FormatInt(q.N, 10)
	}
	return strconv.FormatInt(q.N, 10)
}

// ParseQueueID reads "12" or "r3".
func ParseQueueID(s string) (QueueID, error) {
	orig := strings.TrimSpace(s)
	s = orig
	q := QueueID{}
	if strings.HasPrefix(strings.ToLower(s), "r") {
		q.Review, s = true, s[1:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return QueueID{}, fmt.Errorf("%q is not a queue id: want a draft number (12) or a review item (r3), as `coffeechat queue` shows", orig)
	}
	q.N = n
	return q, nil
}

// Shown is what `show` prints: a message, or a review item (with the
// message it is about, if any).
type Shown struct {
	Message *store.Message
	Review  *store.ReviewItem
}

// Show loads a queue item.
func (o *Outreach) Show(ctx context.Context, id string) (*Shown, error) {
	q, err := ParseQueueID(id)
	if err != nil {
		return nil, err
	}
	var s Shown
	err = o.DB.View(ctx, func(tx *store.Tx) error {
		if q.Review {
			r, err := tx.ReviewItem(ctx, q.N)
			if err != nil {
				return notFound(err, q)
			}
			s.Review = r
			if r.MessageID != 0 {
				if s.Message, err = tx.Message(ctx, r.MessageID); err != nil {
					return err
				}
			}
			return nil
		}
		m, err := tx.Message(ctx, q.N)
		if err != nil {
			return notFound(err, q)
		}
		s.Message = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func notFound(err error, q QueueID) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("nothing has the id %s (see `coffeechat queue`)", q)
	}
	return err
}

// DraftText writes the editable part of a draft: To, Cc, Bcc, Subject, a
// blank line, the body.
func DraftText(m *store.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "To: %s\nCc: %s\nBcc: %s\nSubject: %s\n\n%s", m.To, m.Cc, m.Bcc, m.Subject, m.Body)
	if !strings.HasSuffix(m.Body, "\n") {
		b.WriteByte('\n')
	}
	return b.String()
}

// Edited is a draft's editable part after parsing and validation.
type Edited struct {
	To, Cc, Bcc string // reformatted address lists
	Subject     string
	Body        string
}

// LineError is a problem at one line of an edited draft.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ParseDraftText reads what DraftText wrote, after the user edited it. Only
// To, Cc, Bcc and Subject may appear (each once); a folded header line is
// unfolded; addresses are parsed and written back; the subject may not
// carry a line break, even encoded.
func ParseDraftText(text string) (*Edited, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	type header struct {
		name, value string
		line        int
	}
	var heads []*header
	line, bodyStart := 0, -1
	for sc.Scan() {
		line++
		l := sc.Text()
		if strings.TrimSpace(l) == "" {
			bodyStart = line
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			if len(heads) == 0 {
				return nil, &LineError{line, errors.New("the text starts with an indented line; want To:, Cc:, Bcc:, Subject: headers first")}
			}
			h := heads[len(heads)-1]
			h.value += " " + strings.TrimSpace(l)
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, &LineError{line, fmt.Errorf("%q is not a header; a blank line must separate the headers from the body", clipText(l))}
		}
		heads = append(heads, &header{strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v), line})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if bodyStart < 0 {
		return nil, &LineError{line, errors.New("no blank line between the headers and the body")}
	}
	var e Edited
	seen := map[string]bool{}
	for _, h := range heads {
		if seen[h.name] {
			return nil, &LineError{h.line, fmt.Errorf("%s: appears twice", h.name)}
		}
		seen[h.name] = true
		var err error
		switch h.name {
		case "to", "cc", "bcc":
			var as []string
			list, perr := ParseAddressList(h.name, h.value)
			if perr != nil {
				err = perr
				break
			}
			for _, a := range list {
				as = append(as, FormatAddress(a.Name, a.Address))
			}
			v := strings.Join(as, ", ")
			switch h.name {
			case "to":
				e.To = v
			case "cc":
				e.Cc = v
			default:
				e.Bcc = v
			}
		case "subject":
			err = mailer.CheckHeader("subject", h.value)
			e.Subject = h.value
		default:
			err = fmt.Errorf("unknown header %q: only To, Cc, Bcc and Subject can be edited", h.name)
		}
		if err != nil {
			return nil, &LineError{h.line, err}
		}
	}
	if e.To == "" {
		return nil, &LineError{1, errors.New("To: needs at least one address")}
	}
	if e.Subject == "" {
		return nil, &LineError{1, errors.New("Subject: is empty")}
	}
	var body []string
	for sc.Scan() {
		body = append(body, sc.Text())
	}
	e.Body = strings.TrimRight(strings.Join(body, "\n"), " \t\n") + "\n"
	if strings.TrimSpace(e.Body) == "" {
		return nil, &LineError{bodyStart + 1, errors.New("the body is empty")}
	}
	return &e, nil
}

func clipText(s string) string {
	if len(s) > 50 {
		return s[:50] + "…"
	}
	return s
}

// EditDraft writes draft id to a file in dir (the system's temp folder when
// empty), lets edit change it (run $EDITOR), then parses, validates and
// saves it. On a problem the draft is unchanged and the error names the
// kept file. It reports whether anything changed.
func (o *Outreach) EditDraft(ctx context.Context, id, dir string, edit func(ctx context.Context, path string) error) (bool, error) {
	q, err := ParseQueueID(id)
	if err != nil {
		return false, err
	}
	if q.Review {
		return false, fmt.Errorf("%s is a review item, not a draft: `coffeechat show %s` shows it", q, q)
	}
	var m *store.Message
	if err := o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		m, err = tx.Message(ctx, q.N)
		return notFound(err, q)
	}); err != nil {
		return false, err
	}
	if m.Direction != store.Out || m.State != store.MsgDraft {
		return false, fmt.Errorf("message %d is %s, not a draft: only drafts can be edited", m.ID, m.State)
	}
	orig := DraftText(m)
	f, err := os.CreateTemp(dir, fmt.Sprintf("coffeechat-draft-%d-*.eml", m.ID))
	if err != nil {
		return false, fmt.Errorf("edit draft %d: %w", m.ID, err)
	}
	path := f.Name()
	_, err = f.WriteString(orig)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return false, fmt.Errorf("edit draft %d: %w", m.ID, err)
	}
	if err := edit(ctx, path); err != nil {
		return false, fmt.Errorf("editor: %w; the draft is unchanged and your text is kept in %s", err, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("read edited draft: %w", err)
	}
	if string(b) == orig {
		os.Remove(path)
		return false, nil
	}
	e, err := ParseDraftText(string(b))
	if err != nil {
		return false, fmt.Errorf("%s:%w; the draft is unchanged and your text is kept in %s: fix it there, then copy it into `coffeechat edit %d`",
			path, lineSuffix(err), path, m.ID)
	}
	err = o.DB.Update(ctx, func(tx *store.Tx) error {
		cur, err := tx.Message(ctx, m.ID)
		if err != nil {
			return err
		}
		if cur.State != store.MsgDraft {
			return fmt.Errorf("message %d became %s while you were editing: %w", m.ID, cur.State, store.ErrStateChanged)
		}
		cur.To, cur.Cc, cur.Bcc, cur.Subject, cur.Body = e.To, e.Cc, e.Bcc, e.Subject, e.Body
		if err := tx.SaveMessage(ctx, cur); err != nil {
			return err
		}
		if cur.AskID != 0 {
			return tx.AddEvent(ctx, cur.AskID, "edited", cur.Purpose+" draft edited", cur.ID)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("%w; your text is kept in %s", err, path)
	}
	os.Remove(path)
	return true, nil
}

// lineSuffix writes a LineError as "12: what" (after "path:"), else " what".
func lineSuffix(err error) error {
	var le *LineError
	if errors.As(err, &le) {
		return fmt.Errorf("%d: %w", le.Line, le.Err)
	}
	return fmt.Errorf(" %w", err)
}

// ReviewAction is what approve and reject do to one kind of review item.
// Handlers run inside the write transaction; they resolve the item
// themselves (tx.ResolveReviewItem) along with whatever they change.
type ReviewAction struct {
	Approve func(ctx context.Context, tx *store.Tx, item *store.ReviewItem) error
	// Reject may be nil: the item is then dismissed with the reason.
	Reject func(ctx context.Context, tx *store.Tx, item *store.ReviewItem, reason string) error
}

// Done is the outcome of approve or reject for one id.
type Done struct {
	ID     string `json:"id"`
	AskID  int64  `json:"ask,omitempty"`
	State  string `json:"state"`
	Closed bool   `json:"ask_closed,omitempty"` // reject closed the ask
}

// Approve approves drafts (and review items through o.Review). With all, every
// draft in the queue. Either every id is approved, or none.
func (o *Outreach) Approve(ctx context.Context, ids []string, all bool) ([]Done, error) {
	if all && len(ids) > 0 {
		return nil, errors.New("give ids or --all, not both")
	}
	if !all && len(ids) == 0 {
		return nil, errors.New("nothing to approve: give ids from `coffeechat queue`, or --all")
	}
	var out []Done
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		qs, err := o.queueIDs(ctx, tx, ids, all)
		if err != nil {
			return err
		}
		for _, q := range qs {
			if q.Review {
				d, err := o.reviewAction(ctx, tx, q, true, "")
				if err != nil {
					return err
				}
				out = append(out, d)
				continue
			}
			m, err := o.draftFor(ctx, tx, q, "approve")
			if err != nil {
				return err
			}
			if err := tx.SetMessageState(ctx, m.ID, store.MsgApproved, store.MsgDraft); err != nil {
				return err
			}
			if m.AskID != 0 {
				if err := tx.AddEvent(ctx, m.AskID, "approved", m.Purpose+" to "+m.To, m.ID); err != nil {
					return err
				}
			}
			out = append(out, Done{ID: q.String(), AskID: m.AskID, State: store.MsgApproved})
		}
		return nil
	})
	return out, err
}

// Reject rejects drafts (an ask left with no other email is closed) and
// dismisses review items (or runs their reject action).
func (o *Outreach) Reject(ctx context.Context, ids []string, reason string) ([]Done, error) {
	if len(ids) == 0 {
		return nil, errors.New("nothing to reject: give ids from `coffeechat queue`")
	}
	reason = strings.TrimSpace(reason)
	var out []Done
	err := o.DB.Update(ctx, func(tx *store.Tx) error {
		qs, err := o.queueIDs(ctx, tx, ids, false)
		if err != nil {
			return err
		}
		for _, q := range qs {
			if q.Review {
				d, err := o.reviewAction(ctx, tx, q, false, reason)
				if err != nil {
					return err
				}
				out = append(out, d)
				continue
			}
			m, err := o.draftFor(ctx, tx, q, "reject")
			if err != nil {
				return err
			}
			if err := tx.SetMessageState(ctx, m.ID, store.MsgRejected, store.MsgDraft); err != nil {
				return err
			}
			m.Error = reason
			if err := tx.SaveMessage(ctx, m); err != nil {
				return err
			}
			d := Done{ID: q.String(), AskID: m.AskID, State: store.MsgRejected}
			if m.AskID != 0 {
				detail := m.Purpose + " to " + m.To
				if reason != "" {
					detail += ": " + reason
				}
				if err := tx.AddEvent(ctx, m.AskID, "rejected", detail, m.ID); err != nil {
					return err
				}
				if d.Closed, err = closeIfEmpty(ctx, tx, m.AskID, reason); err != nil {
					return err
				}
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// closeIfEmpty closes an open ask none of whose outgoing emails is left
// (all rejected or stale).
func closeIfEmpty(ctx context.Context, tx *store.Tx, askID int64, reason string) (bool, error) {
	a, err := tx.Ask(ctx, askID)
	if err != nil || !a.Open() {
		return false, err
	}
	ms, err := tx.Messages(ctx, store.MessageFilter{AskID: askID})
	if err != nil {
		return false, err
	}
	for _, m := range ms {
		if m.Direction == store.In || (m.State != store.MsgRejected && m.State != store.MsgStale) {
			return false, nil
		}
	}
	detail := "its only draft was rejected"
	if reason != "" {
		detail += ": " + reason
	}
	return true, tx.SetAskState(ctx, askID, store.AskClosed, "closed", detail)
}

// queueIDs parses ids (or lists every draft for all), refusing duplicates.
func (o *Outreach) queueIDs(ctx context.Context, tx *store.Tx, ids []string, all bool) ([]QueueID, error) {
	var qs []QueueID
	if all {
		drafts, err := tx.Drafts(ctx)
		if err != nil {
			return nil, err
		}
		if len(drafts) == 0 {
			return nil, errors.New("the queue has no drafts")
		}
		for _, d := range drafts {
			qs = append(qs, QueueID{N: d.ID})
		}
		return qs, nil
	}
	seen := map[QueueID]bool{}
	for _, s := range ids {
		q, err := ParseQueueID(s)
		if err != nil {
			return nil, err
		}
		if !seen[q] {
			seen[q] = true
			qs = append(qs, q)
		}
	}
	return qs, nil
}

func (o *Outreach) draftFor(ctx context.Context, tx *store.Tx, q QueueID, verb string) (*store.Message, error) {
	m, err := tx.Message(ctx, q.N)
	if err != nil {
		return nil, notFound(err, q)
	}
	if m.Direction != store.Out || m.State != store.MsgDraft {
		return nil, fmt.Errorf("cannot %s %s: it is %s, not a draft (nothing was changed)", verb, q, m.State)
	}
	return m, nil
}

// reviewAction runs the approve or reject action registered for an item's kind.
func (o *Outreach) reviewAction(ctx context.Context, tx *store.Tx, q QueueID, approve bool, reason string) (Done, error) {
	item, err := tx.ReviewItem(ctx, q.N)
	if err != nil {
		return Done{}, notFound(err, q)
	}
	if item.State != store.ReviewOpen {
		return Done{}, fmt.Errorf("review item %s is already %s (nothing was changed)", q, item.State)
	}
	act := o.Review[item.Kind]
	switch {
	case approve && act.Approve == nil:
		return Done{}, fmt.Errorf("review item %s (%s) has no approve action: read it with `coffeechat show %s`, then act on its ask, or `coffeechat reject %s` to dismiss it", q, item.Kind, q, q)
	case approve:
		err = act.Approve(ctx, tx, item)
	case act.Reject != nil:
		err = act.Reject(ctx, tx, item, reason)
	default:
		err = tx.ResolveReviewItem(ctx, item.ID, store.ReviewDismissed, reason)
		if err == nil && item.AskID != 0 {
			err = tx.AddEvent(ctx, item.AskID, "review dismissed", item.Kind+": "+item.Summary, item.MessageID)
		}
	}
	if err != nil {
		return Done{}, err
	}
	cur, err := tx.ReviewItem(ctx, item.ID)
	if err != nil {
		return Done{}, err
	}
	return Done{ID: q.String(), AskID: item.AskID, State: cur.State}, nil
}
