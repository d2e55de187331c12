package outreach

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

// MaxApplyAttempts is how many times a message may fail to apply before it
// is set aside as a review item, so that it cannot stop the inbox.
const MaxApplyAttempts = 3

// InboxSink is the workflow's side of the inbox watcher (inbox.Sink): it
// says which messages may matter, and applies them with the checkpoint in
// one transaction per batch.
type InboxSink struct {
	o *Outreach

	mu    sync.Mutex
	idx   *candidateIndex
	epoch uint64 // moves with idx (inbox.CandidateEpoch)

	prepMu sync.Mutex
	prep   map[prepKey]*prepared // made by Prepare, taken by Apply
}

// prepKey names a message Prepare has seen.
type prepKey struct {
	mailbox  string
	validity uint32
	uid      uint32
}

// candidateIndex is what Candidate decides from, loaded from the database
// at each catch-up and after each batch that stored something.
type candidateIndex struct {
	own          string
	sent         map[string]bool // our Message-IDs
	counterparts map[string]bool // connectors and targets of open asks
	connectors   map[string]bool // connectors of open intro asks
}

// InboxSink returns the sink the inbox watcher feeds.
func (o *Outreach) InboxSink() *InboxSink {
	return &InboxSink{o: o}
}

var (
	_ inbox.Sink           = (*InboxSink)(nil)
	_ inbox.CandidateEpoch = (*InboxSink)(nil)
	_ inbox.Preparer       = (*InboxSink)(nil)
)

// Prepare implements inbox.Preparer: it does the pure part of deciding msgs
// (reading each message, and its text against the slots of the ask it
// matches now) on every core, for Apply to take when the inputs are still
// the same. It writes nothing.
func (s *InboxSink) Prepare(ctx context.Context, mailbox string, validity uint32, msgs []inbox.Fetched) {
	raws := make([][]byte, len(msgs))
	for i := range msgs {
		raws[i] = msgs[i].Raw
	}
	pre := s.o.prepareAll(ctx, raws)
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.prep == nil {
		s.prep = map[prepKey]*prepared{}
	}
	for i, p := range pre {
		if p != nil {
			s.prep[prepKey{mailbox, validity, uint32(msgs[i].UID)}] = p
		}
	}
}

// prepared returns, for each of msgs, what was prepared for it, preparing
// now what was not, and forgets whatever was prepared up to cp.
func (s *InboxSink) prepared(ctx context.Context, mailbox string, cp inbox.Checkpoint, msgs []inbox.Fetched) []*prepared {
	out := make([]*prepared, len(msgs))
	var missing []int
	s.prepMu.Lock()
	for i := range msgs {
		k := prepKey{mailbox, cp.UIDValidity, uint32(msgs[i].UID)}
		if out[i] = s.prep[k]; out[i] == nil {
			missing = append(missing, i)
		}
	}
	for k := range s.prep {
		if k.mailbox == mailbox && (k.validity != cp.UIDValidity || k.uid <= uint32(cp.LastUID)) {
			delete(s.prep, k)
		}
	}
	s.prepMu.Unlock()
	if len(missing) == 0 {
		return out
	}
	raws := make([][]byte, len(missing))
	for j, i := range missing {
		raws[j] = msgs[i].Raw
	}
	for j, p := range s.o.prepareAll(ctx, raws) {
		out[missing[j]] = p
	}
	return out
}

// loadIndex reads the candidate index.
func (s *InboxSink) loadIndex(ctx context.Context) error {
	idx := &candidateIndex{own: strings.ToLower(strings.TrimSpace(s.o.Cfg.Account.Email))}
	err := s.o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if idx.sent, err = tx.OutgoingMessageIDs(ctx); err != nil {
			return err
		}
		if idx.counterparts, err = tx.CounterpartAddresses(ctx); err != nil {
			return err
		}
		idx.connectors, err = tx.ConnectorAddresses(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("load inbox index: %w", err)
	}
	s.mu.Lock()
	s.idx = idx
	s.epoch++
	s.mu.Unlock()
	return nil
}

// CandidateEpoch implements inbox.CandidateEpoch: Candidate answers from the
// index, which changes only when it is reloaded.
func (s *InboxSink) CandidateEpoch() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

func (s *InboxSink) index(ctx context.Context) (*candidateIndex, error) {
	s.mu.Lock()
	idx := s.idx
	s.mu.Unlock()
	if idx != nil {
		return idx, nil
	}
	if err := s.loadIndex(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.idx, nil
}

// Checkpoint implements inbox.Sink. since is the first send of the oldest
// open ask, less a day; it also refreshes what Candidate knows.
func (s *InboxSink) Checkpoint(ctx context.Context, mailbox string) (inbox.Checkpoint, time.Time, error) {
	if err := s.loadIndex(ctx); err != nil {
		return inbox.Checkpoint{}, time.Time{}, err
	}
	var cp store.Checkpoint
	var since time.Time
	err := s.o.DB.View(ctx, func(tx *store.Tx) error {
		var err error
		if cp, err = tx.Checkpoint(ctx, mailbox); err != nil {
			return err
		}
		since, err = tx.OldestOpenSend(ctx)
		return err
	})
	if err != nil {
		return inbox.Checkpoint{}, time.Time{}, err
	}
	if !since.IsZero() {
		since = since.Add(-24 * time.Hour)
	}
	return inbox.Checkpoint{UIDValidity: cp.UIDValidity, LastUID: imap.UID(cp.LastUID), ScanTo: imap.UID(cp.ScanTo)}, since, nil
}

// Hints implements inbox.Sink: our Message-ID domain and the counterparts.
func (s *InboxSink) Hints(ctx context.Context) (inbox.Hints, error) {
	idx, err := s.index(ctx)
	if err != nil {
		return inbox.Hints{}, err
	}
	h := inbox.Hints{MessageIDDomain: mailer.DomainOf(s.o.Cfg.Account.Email)}
	for a := range idx.counterparts {
		h.Addresses = append(h.Addresses, a)
	}
	sort.Strings(h.Addresses)
	return h, nil
}

// Candidate implements inbox.Sink, from the headers alone: not from the
// user; and threaded on one of our Message-IDs, or from a counterpart of an
// open ask, or shaped like a delivery report.
func (s *InboxSink) Candidate(ctx context.Context, h *inbox.Headers) (bool, error) {
	idx, err := s.index(ctx)
	if err != nil {
		return false, err
	}
	return idx.candidate(h), nil
}

func (idx *candidateIndex) candidate(h *inbox.Headers) bool {
	from := ""
	if h.From != nil {
		from = strings.ToLower(h.From.Address)
	}
	if from != "" && from == idx.own {
		return false
	}
	if idx.sent[h.InReplyTo] {
		return true
	}
	for _, r := range h.References {
		if idx.sent[r] {
			return true
		}
	}
	if idx.counterparts[from] {
		return true
	}
	local, _, _ := strings.Cut(from, "@")
	if local == "mailer-daemon" || local == "postmaster" || strings.HasPrefix(local, "mailer-daemon") {
		return true
	}
	ct := strings.ToLower(h.ContentType)
	return strings.HasPrefix(ct, "multipart/report")
}

// Apply implements inbox.Sink: in one transaction, every message not seen
// before is read, classified, matched, stored when it belongs to an ask and
// acted on; then the checkpoint moves to cp. A message that keeps failing, or
// whose tries never finish (it crashes the daemon), is set aside as a review
// item after MaxApplyAttempts tries: the tries are counted in the database,
// before each try, so they add up across restarts.
func (s *InboxSink) Apply(ctx context.Context, mailbox string, cp inbox.Checkpoint, msgs []inbox.Fetched) error {
	if len(msgs) > 1 {
		split, err := s.countAttempts(ctx, mailbox, cp.UIDValidity, msgs)
		if err != nil {
			return err
		}
		if split {
			// An earlier try of this batch did not finish: one message
			// at a time, so that only the culprit is counted and set
			// aside. The checkpoint moves with the last one.
			s.o.Log.Warn("inbox: an earlier try of this batch did not finish; applying its messages one by one", "from_uid", msgs[0].UID, "to_uid", msgs[len(msgs)-1].UID)
			for i := range msgs {
				if err := s.applyCounted(ctx, mailbox, cp, msgs[i:i+1], i == len(msgs)-1, true); err != nil {
					return err
				}
			}
			return nil
		}
		return s.applyCounted(ctx, mailbox, cp, msgs, true, false)
	}
	return s.applyCounted(ctx, mailbox, cp, msgs, true, true)
}

// countAttempts records, in a transaction of its own, one more try for each
// message of msgs. split is true (and nothing is counted) when an earlier
// try of one of them did not finish.
func (s *InboxSink) countAttempts(ctx context.Context, mailbox string, validity uint32, msgs []inbox.Fetched) (split bool, err error) {
	uids := make([]uint32, len(msgs))
	for i, f := range msgs {
		uids[i] = uint32(f.UID)
	}
	err = s.o.DB.Update(ctx, func(tx *store.Tx) error {
		prior, err := tx.ApplyAttempts(ctx, mailbox, validity, uids)
		if err != nil {
			return err
		}
		if split = len(prior) > 0 && len(uids) > 1; split {
			return nil
		}
		return tx.CountApplyAttempts(ctx, mailbox, validity, uids)
	})
	return split, err
}

// applyCounted applies msgs (count: after counting this try of each) and,
// when moveCP, moves the checkpoint to cp.
func (s *InboxSink) applyCounted(ctx context.Context, mailbox string, cp inbox.Checkpoint, msgs []inbox.Fetched, moveCP, count bool) error {
	o := s.o
	if count && len(msgs) > 0 {
		if _, err := s.countAttempts(ctx, mailbox, cp.UIDValidity, msgs); err != nil {
			return err
		}
	}
	if len(msgs) > 0 {
		// Before the transaction: inside it AgreeTx only reads this cache.
		_ = o.RefreshBusyIfStale(ctx) // problems are logged there
	}
	busy, err := s.busyFor(ctx, msgs)
	if err != nil {
		return err
	}
	pre := s.prepared(ctx, mailbox, cp, msgs)
	stored := 0
	var setAside []string
	var failed *inbox.Fetched
	var failure error
	err = o.DB.Update(ctx, func(tx *store.Tx) error {
		stored, setAside, failed, failure = 0, nil, nil, nil
		uids := make([]uint32, len(msgs))
		for i, f := range msgs {
			uids[i] = uint32(f.UID)
		}
		tries, err := tx.ApplyAttempts(ctx, mailbox, cp.UIDValidity, uids)
		if err != nil {
			return err
		}
		ids := make([]string, len(msgs))
		for i := range msgs {
			if ids[i] = msgs[i].MessageID; ids[i] == "" {
				ids[i] = syntheticID(msgs[i].Raw)
			}
		}
		// The dedupe: what was stored before this batch, and what this
		// batch stores as it goes.
		seen, err := tx.StoredMessageIDs(ctx, ids)
		if err != nil {
			return err
		}
		for i := range msgs {
			f := &msgs[i]
			id := ids[i]
			if seen[strings.Trim(id, "<> ")] {
				continue
			}
			n := tries[uint32(f.UID)]
			if n.Attempts > MaxApplyAttempts {
				// The last tries never came back: do not try again.
				cause := errors.New(n.LastError)
				if n.LastError == "" {
					cause = fmt.Errorf("the daemon stopped %d times while applying it", n.Attempts-1)
				}
				if err := o.setAside(ctx, tx, f, id, cause); err != nil {
					return err
				}
				setAside = append(setAside, id)
				continue
			}
			src := incoming{mailbox: mailbox, uidValidity: cp.UIDValidity, uid: uint32(f.UID), messageID: id, raw: f.Raw, busy: busy, pre: pre[i]}
			var kept bool
			err = tx.Savepoint(ctx, "inbox_apply", func() error {
				var err error
				kept, err = o.applyOne(ctx, tx, src)
				return err
			})
			if err == nil {
				if kept {
					stored++
					seen[strings.Trim(id, "<> ")] = true
				}
				continue
			}
			if ctx.Err() != nil {
				return err
			}
			if n.Attempts < MaxApplyAttempts {
				failed, failure = f, err
				return fmt.Errorf("message <%s> (UID %d, attempt %d of %d): %w", id, f.UID, n.Attempts, MaxApplyAttempts, err)
			}
			if err := o.setAside(ctx, tx, f, id, err); err != nil {
				return err
			}
			setAside = append(setAside, id)
		}
		if !moveCP {
			return nil
		}
		if err := tx.ClearApplyAttempts(ctx, mailbox, cp.UIDValidity, uint32(cp.LastUID)); err != nil {
			return err
		}
		return tx.SetCheckpoint(ctx, mailbox, cp.UIDValidity, uint32(cp.LastUID), uint32(cp.ScanTo))
	})
	if err != nil && ctx.Err() != nil && len(msgs) > 0 {
		// Stopped on purpose: these tries say nothing about the messages.
		bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		uids := make([]uint32, len(msgs))
		for i, f := range msgs {
			uids[i] = uint32(f.UID)
		}
		rerr := o.DB.Update(bg, func(tx *store.Tx) error {
			return tx.UncountApplyAttempts(bg, mailbox, cp.UIDValidity, uids)
		})
		if rerr != nil {
			o.Log.Warn("take back the tries of an interrupted apply", "err", rerr)
		}
		return err
	}
	if err != nil {
		if failed != nil {
			// Kept for the review item should the message be set aside
			// later; the next try is counted anyway.
			rerr := o.DB.Update(ctx, func(tx *store.Tx) error {
				return tx.SetApplyError(ctx, mailbox, cp.UIDValidity, uint32(failed.UID), failure.Error())
			})
			if rerr != nil {
				o.Log.Warn("record why a message failed to apply", "uid", failed.UID, "err", rerr)
			}
		}
		return err
	}
	for _, id := range setAside {
		o.Log.Error("message set aside after repeated failures; see the queue", "message_id", id, "attempts", MaxApplyAttempts)
	}
	if stored > 0 {
		o.Log.Info("inbox applied", "stored", stored, "last_uid", cp.LastUID)
		return s.loadIndex(ctx)
	}
	return nil
}

// applyOne decides and, when the message belongs to an ask, acts. kept
// tells whether it was stored.
func (o *Outreach) applyOne(ctx context.Context, tx *store.Tx, src incoming) (kept bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			kept, err = false, fmt.Errorf("reading the message crashed: %v", r)
		}
	}()
	d, err := o.decideWith(ctx, tx, src.raw, src.pre)
	if err != nil {
		return false, err
	}
	if d.own || d.m == nil || (d.kind == inbox.KindUnrelated && d.msg.Bounce == nil) {
		o.Log.Debug("inbox: not ours", "message_id", src.messageID, "reason", d.reason)
		return false, nil
	}
	if err := o.act(ctx, tx, d, src); err != nil {
		return false, fmt.Errorf("apply %s to ask %d: %w", d.kind, d.m.ask.ID, err)
	}
	o.Log.Info("inbox: matched", "message_id", src.messageID, "ask", d.m.ask.ID, "kind", d.kind, "by", d.m.by, "reason", d.reason)
	return true, nil
}

// setAside records a message that could not be applied as a review item.
func (o *Outreach) setAside(ctx context.Context, tx *store.Tx, f *inbox.Fetched, id string, cause error) error {
	from := ""
	if f.From != nil {
		from = f.From.Address
	}
	detail, _ := json.Marshal(map[string]any{
		"message_id": id, "uid": f.UID, "from": from, "subject": f.Subject, "error": cause.Error(),
	})
	return tx.InsertReviewItem(ctx, &store.ReviewItem{Kind: "set_aside",
		Summary: fmt.Sprintf("Could not apply a message from %s (%q): %v", from, f.Subject, cause), Detail: string(detail)})
}

// syntheticID stands in for a missing Message-ID: the same bytes give the
// same id, so dedupe still works. No mail carries it (isSyntheticID).
func syntheticID(raw []byte) string {
	sum := sha256.Sum256(raw)
	return syntheticPrefix + hex.EncodeToString(sum[:12]) + syntheticDomain
}

const syntheticPrefix, syntheticDomain = "sha256-", "@coffeechat.invalid"

// isSyntheticID reports an id syntheticID made.
func isSyntheticID(id string) bool {
	return strings.HasPrefix(id, syntheticPrefix) && strings.HasSuffix(id, syntheticDomain)
}

// busyFor reads availability.busy when a message of the batch comes from the
// connector of an open intro ask (an introduction drafts a request with
// slots); other batches need no busy time. It never runs in a transaction.
func (s *InboxSink) busyFor(ctx context.Context, msgs []inbox.Fetched) ([]calendar.Interval, error) {
	o := s.o
	if len(o.Cfg.Availability.Busy) == 0 || len(msgs) == 0 {
		return nil, nil
	}
	idx, err := s.index(ctx)
	if err != nil {
		return nil, err
	}
	need := false
	for _, f := range msgs {
		if f.From != nil && idx.connectors[strings.ToLower(f.From.Address)] {
			need = true
		}
	}
	if !need {
		return nil, nil
	}
	av, err := Availability(o.Cfg)
	if err != nil {
		return nil, err
	}
	now := o.now()
	busy, errs := calendar.LoadBusy(ctx, nil, o.Cfg.Availability.Busy, now, now.Add(av.Horizon+24*time.Hour))
	if len(errs) > 0 {
		// A broken busy calendar must not stop the inbox: the slots are a
		// proposal the user approves.
		o.Log.Warn("busy calendar unreadable; proposing slots without it", "err", errors.Join(errs...))
	}
	return busy, nil
}
