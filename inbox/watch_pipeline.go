package inbox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
)

// CandidateEpoch may be implemented by a Sink whose Candidate answers change
// only when CandidateEpoch does (it must change before, or together with,
// any change of those answers). A catch-up then reads the bodies of a batch's
// candidates ahead, while the previous batch is being applied, and asks
// Candidate again only when the epoch moved in between.
type CandidateEpoch interface {
	CandidateEpoch() uint64
}

// Preparer may be implemented by a Sink that can do part of Apply's work
// ahead, without writing. A catch-up calls Prepare with the candidates it
// has read, from its reader goroutine, while Apply may be running with an
// earlier batch; those messages (or some of them) reach Apply later. What
// Prepare makes must not change what Apply does, only how fast.
type Preparer interface {
	Prepare(ctx context.Context, mailbox string, validity uint32, msgs []Fetched)
}

// searchChunk is how many UIDs one narrowing SEARCH covers: the server
// searches the next chunk while the sink applies the hits of the previous.
const searchChunk = 10000

// aheadBatches is how many batches of hits (their headers only) the
// searching connection may run ahead of the one reading bodies: the first
// body costs the server a read of the mailbox's file list (~0.2–0.4 s on a
// 100,000-message Maildir), and meanwhile the SEARCH goes on.
const aheadBatches = 32

// narrowed catches up on from..end by asking the server which messages may
// matter (UID SEARCH by the sink's hints, or by SINCE alone when
// rescanning), then reading and applying only those. ok is false when there
// is nothing to narrow by or the server refused every SEARCH: the caller
// then reads every header.
//
// It runs as a pipeline of two goroutines: a reader owning the connection
// (SEARCH a chunk of UIDs, fetch the hits' headers, then the candidates'
// bodies) and the caller applying each batch, in UID order, as the serial
// loop would; the searching side may run up to aheadBatches batches ahead.
func (w *Watcher) narrowed(ctx context.Context, conn *Conn, validity uint32, from, end imap.UID, since time.Time, narrow bool, scanTo imap.UID) (ok bool, err error) {
	crits, err := w.narrowCriteria(ctx, since, narrow)
	if err != nil || len(crits) == 0 {
		return false, err
	}
	// A second connection, opened while the first searches, reads the
	// candidates' bodies beside it (Dovecot then works on two cores).
	auxCtx, auxCancel := context.WithCancel(ctx)
	auxReady := make(chan *Conn, 1)
	go func() { auxReady <- w.openAux(auxCtx, validity) }()
	var aux *Conn
	auxGot := false
	defer func() {
		auxCancel()
		if !auxGot {
			aux = <-auxReady
		}
		if aux != nil {
			aux.Close()
		}
	}()
	// The first chunk settles which SEARCH the server takes.
	first := chunkStop(from, end)
	var crit *searchPlan
	var hits []imap.UID
	for i := range crits {
		uids, err := crits[i].search(ctx, conn, from, first)
		if err == nil {
			crit, hits = &crits[i], uids
			break
		}
		if conn.dead.Load() {
			return false, err
		}
		w.log.Warn(crits[i].kind+" refused; reading every header instead", "err", err)
	}
	if crit == nil {
		return false, nil
	}
	w.log.Debug("catch-up narrowed", "from", from, "to", end)

	aux, auxGot = <-auxReady, true
	p := &pipe{w: w, conn: conn, aux: aux, validity: validity, scanTo: scanTo, since: crit.since}
	p.epocher, _ = w.sink.(CandidateEpoch)
	p.preparer, _ = w.sink.(Preparer)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *readBatch, 1)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		readErr <- p.read(rctx, crit, hits, first, end, batches)
	}()
	var applyErr error
	var waited, applying time.Duration // for the debug log: which side is slower
	t0 := time.Now()
	for b := range batches {
		if applyErr != nil {
			if b.prepared != nil {
				<-b.prepared // no Prepare outlives the catch-up
			}
			continue // drain, so that the reader can end
		}
		t1 := time.Now()
		waited += t1.Sub(t0)
		if applyErr = p.apply(ctx, b); applyErr != nil {
			cancel()
		}
		t0 = time.Now()
		applying += t0.Sub(t1)
	}
	w.log.Debug("catch-up pipeline", "waited_for_reader", waited, "applying", applying)
	if rerr := <-readErr; applyErr == nil {
		return true, rerr
	}
	return true, applyErr
}

// searchPlan is one way to narrow: crit over each chunk of UIDs; then, when
// since is set, the candidates among the hits that arrived before it are
// dropped (SEARCH BEFORE over them alone) before their bodies are read.
// The result is what one SEARCH with SINCE would select, but the date test
// reads each message's arrival date (on Maildir, a stat of its file unless cached,
// which first costs the server process a read of the whole mailbox's file
// list): over the few candidates, on the connection that reads their files
// anyway, it keeps the searching connection on the server's index alone.
type searchPlan struct {
	kind  string // for the log
	crit  imap.SearchCriteria
	since time.Time
}

// search returns the UIDs of a..b the plan's criteria select, ascending.
func (s *searchPlan) search(ctx context.Context, conn *Conn, a, b imap.UID) ([]imap.UID, error) {
	c := s.crit
	c.UID = []imap.UIDSet{{{Start: a, Stop: b}}}
	return conn.uidSearch(ctx, &c)
}

// narrowCriteria are the ways to narrow, best first: the hints (when
// narrow), then SINCE alone (when since is set).
func (w *Watcher) narrowCriteria(ctx context.Context, since time.Time, narrow bool) ([]searchPlan, error) {
	var day time.Time
	if !since.IsZero() {
		// SEARCH SINCE is date-only, in the server's zone: a day of margin.
		d := since.UTC().AddDate(0, 0, -1)
		day = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	var plans []searchPlan
	if narrow {
		hints, err := w.sink.Hints(ctx)
		if err != nil {
			return nil, fmt.Errorf("read hints: %w", err)
		}
		if alt := hintCriteria(hints); len(alt) > 0 {
			plans = append(plans, searchPlan{kind: "narrowing SEARCH", crit: orChain(alt), since: day})
		} else if hints.MessageIDDomain != "" {
			w.log.Info("catch-up not narrowed by SEARCH: the counterparts' domains are too many to name in one", "domains", len(counterpartDomains(hints.Addresses)), "max", maxHintDomains)
		}
	}
	if !day.IsZero() {
		plans = append(plans, searchPlan{kind: "SEARCH SINCE", crit: imap.SearchCriteria{Since: day}})
	}
	return plans, nil
}

// chunkStop is the last UID of the SEARCH chunk that starts at a.
func chunkStop(a, end imap.UID) imap.UID {
	if uint64(a)+searchChunk-1 >= uint64(end) {
		return end
	}
	return a + searchChunk - 1
}

// pipe is one narrowed catch-up: the reader and the applier share the
// connection, one command at a time.
type pipe struct {
	w        *Watcher
	conn     *Conn
	mu       sync.Mutex // one command at a time on conn
	auxMu    sync.Mutex // one command at a time on aux
	aux      *Conn      // reads bodies when set; nil once it failed (closed by narrowed)
	validity uint32
	scanTo   imap.UID  // recorded in each checkpoint (Checkpoint.ScanTo)
	since    time.Time // candidates that arrived before are dropped (zero: none)

	sinceRefused atomic.Bool // the server refused SEARCH BEFORE: since is not applied
	epocher      CandidateEpoch
	preparer     Preparer
}

// readBatch is one batch of hits: their headers and, when the sink has an
// epoch, the candidates as decided at that epoch with their bodies.
type readBatch struct {
	hs     []*Headers
	epoch  uint64
	cands  []*Headers
	old    map[imap.UID]bool   // candidates dropped as arrived before the pipe's since
	bodies map[imap.UID][]byte // of cands; a candidate missing here has vanished

	prepared chan struct{} // closed once Prepare is done with the bodies (nil: not called)
}

// read runs the reader's two stages: heads searches and reads headers on
// the first connection, while this goroutine decides each batch's
// candidates, reads their bodies (on the second connection when there is
// one) and starts Prepare, then sends the batch on, in UID order.
func (p *pipe) read(ctx context.Context, plan *searchPlan, hits []imap.UID, first, end imap.UID, out chan<- *readBatch) error {
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	heads := make(chan *readBatch, aheadBatches)
	headErr := make(chan error, 1)
	go func() {
		defer close(heads)
		headErr <- p.heads(hctx, plan, hits, first, end, heads)
	}()
	var err error
	for b := range heads {
		if err != nil {
			continue // drain, so that heads can end
		}
		if err = p.readBodies(ctx, b); err != nil {
			cancel()
			continue
		}
		p.prepare(ctx, b)
		select {
		case out <- b:
		case <-ctx.Done():
			if b.prepared != nil {
				<-b.prepared
			}
			err = ctx.Err()
			cancel()
		}
	}
	if herr := <-headErr; err == nil {
		err = herr
	}
	return err
}

// prepare starts the sink's Prepare on the batch's bodies, while the reader
// reads on and the previous batch is applied; apply waits for it.
func (p *pipe) prepare(ctx context.Context, b *readBatch) {
	if p.preparer == nil || len(b.bodies) == 0 {
		return
	}
	msgs := make([]Fetched, 0, len(b.bodies))
	for _, h := range b.cands {
		if raw, ok := b.bodies[h.UID]; ok {
			msgs = append(msgs, Fetched{Headers: *h, Raw: raw})
		}
	}
	b.prepared = make(chan struct{})
	go func() {
		defer close(b.prepared)
		p.preparer.Prepare(ctx, p.w.mailbox, p.validity, msgs)
	}()
}

// heads searches chunk after chunk (the hits of from..first are given),
// and sends the headers of every full batch of hits, in UID order; the rest
// at the end.
func (p *pipe) heads(ctx context.Context, plan *searchPlan, hits []imap.UID, first, end imap.UID, out chan<- *readBatch) error {
	batch := p.w.opt.Batch
	pending := hits
	send := func(uids []imap.UID) error {
		b, err := p.readHeads(ctx, uids)
		if err != nil || b == nil {
			return err
		}
		select {
		case out <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for a := uint64(first) + 1; ; {
		for len(pending) >= batch {
			if err := send(pending[:batch]); err != nil {
				return err
			}
			pending = pending[batch:]
		}
		if a > uint64(end) {
			break
		}
		b := chunkStop(imap.UID(a), end)
		p.mu.Lock()
		uids, err := plan.search(ctx, p.conn, imap.UID(a), b)
		p.mu.Unlock()
		if err != nil {
			return err
		}
		pending = append(pending, uids...)
		a = uint64(b) + 1
	}
	if len(pending) > 0 {
		return send(pending)
	}
	return nil
}

// readHeads fetches the headers of uids (SEARCH hits, all in the scan's
// range: no echo of the newest message to drop). nil: every message has
// vanished.
func (p *pipe) readHeads(ctx context.Context, uids []imap.UID) (*readBatch, error) {
	p.mu.Lock()
	hs, err := p.conn.fetchHeaders(ctx, imap.UIDSetNum(uids...))
	p.mu.Unlock()
	if err != nil || len(hs) == 0 {
		return nil, err
	}
	return &readBatch{hs: hs}, nil
}

// readBodies, when the sink has an epoch, decides the batch's candidates
// and reads their bodies.
func (p *pipe) readBodies(ctx context.Context, b *readBatch) error {
	if p.epocher == nil {
		return nil
	}
	var err error
	b.epoch = p.epocher.CandidateEpoch()
	if b.cands, err = p.w.candidates(ctx, b.hs); err != nil {
		return err
	}
	if b.cands, b.old, err = p.recent(ctx, b.cands); err != nil {
		return err
	}
	b.bodies, err = p.fetchBodies(ctx, uidsOf(b.cands))
	return err
}

// recent keeps the candidates that arrived on or after the pipe's since,
// and names the others.
func (p *pipe) recent(ctx context.Context, cands []*Headers) (kept []*Headers, old map[imap.UID]bool, err error) {
	if p.since.IsZero() || p.sinceRefused.Load() || len(cands) == 0 {
		return cands, nil, nil
	}
	// BEFORE names the old ones: a candidate this connection cannot see is
	// kept, and reported as vanished when its body is not there either.
	var uids []imap.UID
	refused := false
	err = p.onBodyConn(ctx, func(c *Conn) (err error) {
		uids, err = c.uidSearch(ctx, &imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(uidsOf(cands)...)}, Before: p.since})
		var ie *imap.Error
		if errors.As(err, &ie) {
			refused, err = true, nil // the server answered NO or BAD: not a broken connection
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	if refused {
		// Without it, old candidates are read and applied as if the
		// daemon had watched all along (matching by sender and subject,
		// or by an invitation's organizer, still checks the ask's dates);
		// better than a catch-up that fails at every reconnect.
		if !p.sinceRefused.Swap(true) {
			p.w.log.Warn("SEARCH BEFORE refused; candidates that arrived before the oldest open ask are read too")
		}
		return cands, nil, nil
	}
	for _, u := range uids {
		if old == nil {
			old = map[imap.UID]bool{}
		}
		old[u] = true
	}
	for _, h := range cands {
		if !old[h.UID] {
			kept = append(kept, h)
		}
	}
	return kept, old, nil
}

// fetchBodies reads whole messages on the connection for bodies.
func (p *pipe) fetchBodies(ctx context.Context, uids []imap.UID) (map[imap.UID][]byte, error) {
	if len(uids) == 0 {
		return map[imap.UID][]byte{}, nil
	}
	var bodies map[imap.UID][]byte
	err := p.onBodyConn(ctx, func(c *Conn) (err error) {
		bodies, err = c.fetchBodies(ctx, uids)
		return err
	})
	return bodies, err
}

// onBodyConn runs fn on the second connection when there is one, else on
// the first. A second connection that fails is dropped for the rest of the
// catch-up, and fn runs again on the first.
func (p *pipe) onBodyConn(ctx context.Context, fn func(*Conn) error) error {
	p.auxMu.Lock()
	if aux := p.aux; aux != nil {
		err := fn(aux)
		if err == nil || ctx.Err() != nil {
			p.auxMu.Unlock()
			return err
		}
		p.w.log.Warn("second connection failed; the first reads the messages", "err", err)
		p.aux = nil
	}
	p.auxMu.Unlock()
	p.mu.Lock()
	defer p.mu.Unlock()
	return fn(p.conn)
}

// apply decides the batch's candidates (again, when the epoch moved since
// it was read), reads what is still missing, and hands it to the sink.
func (p *pipe) apply(ctx context.Context, b *readBatch) error {
	w := p.w
	if b.prepared != nil {
		<-b.prepared
	}
	cands, bodies := b.cands, b.bodies
	if p.epocher == nil || p.epocher.CandidateEpoch() != b.epoch {
		var err error
		if cands, err = w.candidates(ctx, b.hs); err != nil {
			return err
		}
		tried := map[imap.UID]bool{}
		for _, h := range b.cands {
			tried[h.UID] = true
		}
		var missing []*Headers
		for _, h := range cands {
			if !tried[h.UID] && !b.old[h.UID] {
				missing = append(missing, h)
			}
		}
		missing, old, err := p.recent(ctx, missing)
		if err != nil {
			return err
		}
		kept := cands[:0:0] // in UID order, as decided
		for _, h := range cands {
			if !b.old[h.UID] && !old[h.UID] {
				kept = append(kept, h)
			}
		}
		cands = kept
		if len(missing) > 0 {
			more, err := p.fetchBodies(ctx, uidsOf(missing))
			if err != nil {
				return err
			}
			if bodies == nil {
				bodies = more
			} else {
				for uid, raw := range more {
					bodies[uid] = raw
				}
			}
		}
	}
	return w.applyBatch(ctx, p.validity, p.scanTo, b.hs, cands, bodies)
}

// candidates are the messages of hs the sink wants read whole.
func (w *Watcher) candidates(ctx context.Context, hs []*Headers) ([]*Headers, error) {
	var out []*Headers
	for _, h := range hs {
		ok, err := w.sink.Candidate(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("candidate UID %d: %w", h.UID, err)
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// applyBatch hands the candidates of batch, with their bodies, to the sink,
// and moves the checkpoint to the batch's highest UID.
func (w *Watcher) applyBatch(ctx context.Context, validity uint32, scanTo imap.UID, batch, cands []*Headers, bodies map[imap.UID][]byte) error {
	var msgs []Fetched
	for _, h := range cands {
		raw, ok := bodies[h.UID]
		if !ok {
			w.log.Warn("candidate vanished before it was read", "uid", h.UID, "message_id", h.MessageID)
			continue
		}
		msgs = append(msgs, Fetched{Headers: *h, Raw: raw})
	}
	cp := Checkpoint{UIDValidity: validity, LastUID: batch[len(batch)-1].UID, ScanTo: scanTo}
	if err := w.sink.Apply(ctx, w.mailbox, cp, msgs); err != nil {
		return fmt.Errorf("apply up to UID %d: %w", cp.LastUID, err)
	}
	w.log.Debug("applied", "last_uid", cp.LastUID, "headers", len(batch), "candidates", len(msgs))
	return nil
}

func uidsOf(hs []*Headers) []imap.UID {
	out := make([]imap.UID, len(hs))
	for i, h := range hs {
		out[i] = h.UID
	}
	return out
}

// openAux opens the catch-up's second connection: the same account, the
// same mailbox read-only (EXAMINE) under the same UIDVALIDITY, every command
// under the same watchdog. nil when any of it fails: the first connection
// then does everything.
func (w *Watcher) openAux(ctx context.Context, validity uint32) *Conn {
	conn, err := dial(ctx, w.cfg, w.log, w.opt.CommandTimeout)
	if err != nil {
		w.log.Debug("no second connection; one does everything", "err", err)
		return nil
	}
	sel, err := conn.examine(ctx, w.mailbox)
	if err == nil && sel.UIDValidity != validity {
		err = fmt.Errorf("UIDVALIDITY %d, want %d", sel.UIDValidity, validity)
	}
	if err != nil {
		conn.Close()
		w.log.Debug("no second connection; one does everything", "err", err)
		return nil
	}
	return conn
}
