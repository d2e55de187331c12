package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/sandbox"
)

const (
	testUser   = "sam@example.test"
	testPass   = "pw"
	testDomain = "coffee.test" // our Message-ID domain
)

// memSink is a Sink that keeps everything in memory, deduplicating by
// Message-ID as the real one must. Candidates: anything referring to our
// Message-ID domain, or from an address in hints.
type memSink struct {
	mu         sync.Mutex
	cp         Checkpoint
	since      time.Time
	hints      Hints
	stored     map[string][]byte // Message-ID → raw
	applied    map[string]int    // Message-ID → times handed to Apply
	candidates []imap.UID        // every UID Candidate was asked about
	applies    int
	failAt     int // when > 0, the failAt-th Apply fails (once), as a crash would stop it
}

func newMemSink(since time.Time) *memSink {
	return &memSink{
		since:   since,
		hints:   Hints{MessageIDDomain: testDomain, Addresses: []string{"jane@corp.test"}},
		stored:  map[string][]byte{},
		applied: map[string]int{},
	}
}

func (s *memSink) Checkpoint(ctx context.Context, mailbox string) (Checkpoint, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, s.since, nil
}

func (s *memSink) Candidate(ctx context.Context, h *Headers) (bool, error) {
	s.mu.Lock()
	s.candidates = append(s.candidates, h.UID)
	s.mu.Unlock()
	if strings.HasSuffix(h.InReplyTo, "@"+testDomain) {
		return true, nil
	}
	for _, r := range h.References {
		if strings.HasSuffix(r, "@"+testDomain) {
			return true, nil
		}
	}
	if h.From != nil && (strings.EqualFold(h.From.Address, "jane@corp.test") || strings.HasPrefix(strings.ToLower(h.From.Address), "mailer-daemon@")) {
		return true, nil
	}
	return false, nil
}

func (s *memSink) Apply(ctx context.Context, mailbox string, cp Checkpoint, msgs []Fetched) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAt > 0 && s.applies+1 == s.failAt {
		s.failAt = 0
		return fmt.Errorf("apply %d: the daemon stopped", s.applies+1)
	}
	for _, m := range msgs {
		if m.MessageID == "" {
			return fmt.Errorf("message UID %d without Message-ID", m.UID)
		}
		if !strings.Contains(string(m.Raw), "\r\n\r\n") {
			return fmt.Errorf("message %s: not a whole message: %q", m.MessageID, m.Raw)
		}
		s.applied[m.MessageID]++
		if _, ok := s.stored[m.MessageID]; !ok {
			s.stored[m.MessageID] = m.Raw
		}
	}
	s.cp = cp
	s.applies++
	return nil
}

func (s *memSink) Hints(ctx context.Context) (Hints, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hints, nil
}

func (s *memSink) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.stored[id]
	return ok
}

func (s *memSink) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.stored {
		out = append(out, id)
	}
	return out
}

func (s *memSink) checkpoint() Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp
}

func (s *memSink) timesApplied(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applied[id]
}

func (s *memSink) asked() []imap.UID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]imap.UID(nil), s.candidates...)
}

// reply builds a message answering one of ours; unrelated builds one that is not.
func reply(id string) []byte {
	return []byte("From: Jo Doe <jo@else.test>\r\nTo: sam@example.test\r\nSubject: Re: coffee?\r\n" +
		"Date: Mon, 02 Nov 2026 10:00:00 -0800\r\nMessage-ID: <" + id + ">\r\n" +
		"In-Reply-To: <ask1@" + testDomain + ">\r\nReferences: <ask0@" + testDomain + ">\r\n <ask1@" + testDomain + ">\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nSure, Tuesday works.\r\n")
}

func unrelated(id string) []byte {
	return []byte("From: News <news@list.test>\r\nTo: sam@example.test\r\nSubject: Weekly digest\r\n" +
		"Date: Mon, 02 Nov 2026 09:00:00 -0800\r\nMessage-ID: <" + id + ">\r\n" +
		"Content-Type: text/plain\r\n\r\nNothing for you.\r\n")
}

func fromJane(id string) []byte {
	return []byte("From: Jane Roe <jane@corp.test>\r\nTo: sam@example.test\r\nSubject: hello\r\n" +
		"Message-ID: <" + id + ">\r\n\r\nHi Sam, Dad told me about you.\r\n")
}

func bounce(id string) []byte {
	return []byte("From: Mail Delivery System <MAILER-DAEMON@mx.test>\r\nTo: sam@example.test\r\n" +
		"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <" + id + ">\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\r\nfailed\r\n--b--\r\n")
}

func startServer(t *testing.T, opts sandbox.IMAPOptions) *sandbox.IMAPServer {
	t.Helper()
	if opts.Users == nil {
		opts.Users = map[string]string{testUser: testPass}
	}
	srv, err := sandbox.StartIMAP(context.Background(), opts)
	if err != nil {
		t.Fatalf("StartIMAP: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func imapConfig(t *testing.T, addr string) config.IMAP {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return config.IMAP{
		Server:  config.Server{Host: host, Port: p, TLS: config.TLSNone, Username: testUser, Password: testPass, Timeout: "5s"},
		Mailbox: "INBOX",
	}
}

func deliver(t *testing.T, srv *sandbox.IMAPServer, msgs ...[]byte) {
	t.Helper()
	for _, m := range msgs {
		if err := srv.Deliver(testUser, "INBOX", m); err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// assertUnseen fails when any message of the mailbox carries \Seen.
func assertUnseen(t *testing.T, srv *sandbox.IMAPServer, mailbox string) {
	t.Helper()
	st, err := srv.Stored(testUser, mailbox)
	if err != nil {
		t.Fatalf("Stored: %v", err)
	}
	for _, m := range st {
		for _, f := range m.Flags {
			if f == imap.FlagSeen {
				t.Errorf("message UID %d has \\Seen; the watcher must never mark mail read", m.UID)
			}
		}
	}
}

func assertIDs(t *testing.T, s *memSink, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, id := range s.ids() {
		got[id] = true
	}
	for _, id := range want {
		if !got[id] {
			t.Errorf("stored = %v, missing %s", s.ids(), id)
		}
	}
	if len(got) != len(want) {
		t.Errorf("stored = %v, want exactly %v", s.ids(), want)
	}
}

func TestSyncFirstRunSince(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	deliver(t, srv, reply("r1@x"), unrelated("u1@x"), reply("r2@x"))
	sink := newMemSink(time.Now().Add(-time.Hour))
	w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{})
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink, "r1@x", "r2@x")
	if cp := sink.checkpoint(); cp.LastUID != 3 || cp.UIDValidity == 0 {
		t.Errorf("checkpoint = %+v, want LastUID 3", cp)
	}

	// A second sync reads only what came after, and doubles nothing.
	deliver(t, srv, reply("r3@x"), unrelated("u2@x"))
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink, "r1@x", "r2@x", "r3@x")
	for _, id := range []string{"r1@x", "r2@x", "r3@x"} {
		if n := sink.timesApplied(id); n != 1 {
			t.Errorf("%s applied %d times, want 1", id, n)
		}
	}
	if cp := sink.checkpoint(); cp.LastUID != 5 {
		t.Errorf("checkpoint = %+v, want LastUID 5", cp)
	}
	assertUnseen(t, srv, "INBOX")
}

// TestSyncFirstRunStartsAtSince: on a first run the mailbox is read from
// the oldest open ask's first send (since), not from its beginning: older
// mail, even threaded on our Message-IDs, is not even looked at.
func TestSyncFirstRunStartsAtSince(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, id := range []string{"old1@x", "old2@x"} {
		if err := srv.DeliverAt(testUser, "INBOX", reply(id), old); err != nil {
			t.Fatal(err)
		}
	}
	deliver(t, srv, unrelated("u1@x"), reply("new@x"))
	sink := newMemSink(time.Now().Add(-3 * 24 * time.Hour))
	w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{})
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink, "new@x")
	for _, uid := range sink.asked() {
		if uid < 3 {
			t.Errorf("Candidate asked about UID %d, delivered before since", uid)
		}
	}
	if cp := sink.checkpoint(); cp.LastUID != 4 {
		t.Errorf("checkpoint = %+v, want LastUID 4", cp)
	}
}

// epochSink is a memSink with a CandidateEpoch, so that a narrowed
// catch-up decides candidates and reads their bodies ahead of Apply; when
// moving, the epoch changes at every Candidate, so that Apply decides
// again each time.
type epochSink struct {
	*memSink
	moving bool
	epoch  atomic.Uint64
}

func (s *epochSink) CandidateEpoch() uint64 { return s.epoch.Load() }

func (s *epochSink) Candidate(ctx context.Context, h *Headers) (bool, error) {
	if s.moving {
		s.epoch.Add(1)
	}
	return s.memSink.Candidate(ctx, h)
}

// TestFirstRunNarrowedSkipsOldMail: a first run over a big mailbox narrows
// by SEARCH; candidates that arrived before since (old replies, threaded on
// our Message-IDs) are never read whole nor applied, whichever way the
// candidates are decided.
func TestFirstRunNarrowedSkipsOldMail(t *testing.T) {
	for _, kind := range []string{"plain", "epoch", "moving"} {
		t.Run(kind, func(t *testing.T) {
			srv := startServer(t, sandbox.IMAPOptions{})
			old := time.Now().Add(-30 * 24 * time.Hour)
			for _, m := range [][]byte{reply("old1@x"), fromJane("oldj@x"), reply("old2@x")} {
				if err := srv.DeliverAt(testUser, "INBOX", m, old); err != nil {
					t.Fatal(err)
				}
			}
			deliver(t, srv, unrelated("u1@x"), reply("new@x"), fromJane("j1@x"), unrelated("u2@x"))
			mem := newMemSink(time.Now().Add(-3 * 24 * time.Hour))
			var sink Sink = mem
			if kind != "plain" {
				sink = &epochSink{memSink: mem, moving: kind == "moving"}
			}
			w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{NarrowAbove: 1, Batch: 2})
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatalf("SyncOnce: %v", err)
			}
			assertIDs(t, mem, "new@x", "j1@x")
			if cp := mem.checkpoint(); cp.LastUID != 7 {
				t.Errorf("checkpoint = %+v, want LastUID 7", cp)
			}
		})
	}
}

// interruptedFirstRun delivers r1, o1, j1, o2, r2 (o1 and o2 arrived a
// month ago, the rest now) and runs a first catch-up (since three days
// ago, a batch a message) that stops at its second Apply, as a crash would:
// r1 is applied, the checkpoint at UID 1 with the scan bound at 5.
func interruptedFirstRun(t *testing.T, narrowAbove int) (*sandbox.IMAPServer, *memSink, *Watcher) {
	t.Helper()
	srv := startServer(t, sandbox.IMAPOptions{})
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, m := range []struct {
		raw []byte
		old bool
	}{{reply("r1@x"), false}, {reply("o1@x"), true}, {fromJane("j1@x"), false}, {reply("o2@x"), true}, {reply("r2@x"), false}} {
		at := time.Now()
		if m.old {
			at = old
		}
		if err := srv.DeliverAt(testUser, "INBOX", m.raw, at); err != nil {
			t.Fatal(err)
		}
	}
	sink := newMemSink(time.Now().Add(-3 * 24 * time.Hour))
	sink.failAt = 2
	w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{NarrowAbove: narrowAbove, Batch: 1})
	if err := w.SyncOnce(context.Background()); err == nil {
		t.Fatal("the first SyncOnce did not stop at the failing Apply")
	}
	if cp := sink.checkpoint(); cp.LastUID != 1 || cp.ScanTo != 5 {
		t.Fatalf("checkpoint after the stop = %+v, want LastUID 1 and ScanTo 5", cp)
	}
	return srv, sink, w
}

// TestFirstRunResumesWithItsFilter: a first run stopped half-way goes on,
// after a restart, with its date filter up to where it was to end: old mail
// further on (here delivered late, with old arrival dates) is still not
// applied, whether the scan was narrowed by hints or by SINCE alone.
func TestFirstRunResumesWithItsFilter(t *testing.T) {
	for _, narrowAbove := range []int{1, 0} {
		t.Run(map[int]string{1: "by-hints", 0: "by-since"}[narrowAbove], func(t *testing.T) {
			_, sink, w := interruptedFirstRun(t, narrowAbove)
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatalf("SyncOnce after the restart: %v", err)
			}
			assertIDs(t, sink, "r1@x", "j1@x", "r2@x")
			if cp := sink.checkpoint(); cp.LastUID != 5 || cp.ScanTo != 0 {
				t.Errorf("checkpoint = %+v, want LastUID 5 and the scan done (ScanTo 0)", cp)
			}
		})
	}
}

// TestResumeWhenNothingOpenAnyMore: a first run stopped half-way, then
// every ask closed before the restart: the rest of the scan is passed over
// (as a first run with nothing open would), not read without its filter;
// what arrives afterwards is read.
func TestResumeWhenNothingOpenAnyMore(t *testing.T) {
	srv, sink, w := interruptedFirstRun(t, 1)
	sink.mu.Lock()
	sink.since = time.Time{} // every ask closed meanwhile
	sink.mu.Unlock()
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce after the restart: %v", err)
	}
	assertIDs(t, sink, "r1@x")
	if cp := sink.checkpoint(); cp.LastUID != 5 || cp.ScanTo != 0 {
		t.Errorf("checkpoint = %+v, want LastUID 5 and no scan under way", cp)
	}
	deliver(t, srv, reply("new@x"))
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertIDs(t, sink, "r1@x", "new@x")
}

func TestSyncFirstRunNothingOpen(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	deliver(t, srv, reply("old@x"))
	sink := newMemSink(time.Time{})
	w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{})
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink)
	if cp := sink.checkpoint(); cp.LastUID != 1 {
		t.Errorf("checkpoint = %+v, want LastUID 1 (start at UIDNEXT)", cp)
	}
	deliver(t, srv, reply("new@x"))
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink, "new@x")
}

func TestSyncFromCheckpoint(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	sink := newMemSink(time.Time{})
	w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{Batch: 2})
	if err := w.SyncOnce(context.Background()); err != nil { // empty: cp = {validity, 0}
		t.Fatalf("SyncOnce: %v", err)
	}
	deliver(t, srv, reply("a@x"), reply("b@x"), unrelated("c@x"), reply("d@x"), fromJane("e@x"), unrelated("f@x"))
	sink.mu.Lock()
	sink.cp.LastUID = 2 // a and b were read before
	sink.mu.Unlock()
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink, "d@x", "e@x")
	for _, uid := range sink.asked() {
		if uid <= 2 {
			t.Errorf("Candidate asked about UID %d, at or below the checkpoint 2", uid)
		}
	}
	if cp := sink.checkpoint(); cp.LastUID != 6 {
		t.Errorf("checkpoint = %+v, want LastUID 6", cp)
	}
	// Nothing new: the n:* echo of the newest message is dropped.
	before := len(sink.asked())
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	if n := len(sink.asked()); n != before {
		t.Errorf("an idle sync asked Candidate %d more times, want 0", n-before)
	}
}

// deliverMix delivers nine messages, four of which matter (r1, j1, b1 and
// r2, at UIDs 2, 4, 6 and 8 of an empty mailbox) among five newsletters.
func deliverMix(t *testing.T, srv *sandbox.IMAPServer) {
	t.Helper()
	deliver(t, srv, unrelated("n1@x"), reply("r1@x"), unrelated("n2@x"), fromJane("j1@x"),
		unrelated("n3@x"), bounce("b1@x"), unrelated("n4@x"), reply("r2@x"), unrelated("n5@x"))
}

// TestNarrowing covers both catch-up paths on a mailbox far behind: SEARCH
// narrowed by hints (only hits are looked at), and the fallback that reads
// every header when the server refuses SEARCH. Both must find the same mail.
func TestNarrowing(t *testing.T) {
	for _, noSearch := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoSearch=%v", noSearch), func(t *testing.T) {
			srv := startServer(t, sandbox.IMAPOptions{NoSearch: noSearch})
			for _, since := range []time.Time{{}, time.Now().Add(-time.Hour)} {
				sink := newMemSink(since)
				w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{NarrowAbove: 3, Batch: 2})
				if since.IsZero() {
					// From a checkpoint far behind.
					if err := w.SyncOnce(context.Background()); err != nil {
						t.Fatalf("SyncOnce: %v", err)
					}
					sink.mu.Lock()
					sink.cp.LastUID = 0
					sink.mu.Unlock()
				}
				if since.IsZero() {
					deliverMix(t, srv)
				}
				if err := w.SyncOnce(context.Background()); err != nil {
					t.Fatalf("SyncOnce: %v", err)
				}
				assertIDs(t, sink, "r1@x", "j1@x", "b1@x", "r2@x")
				asked := sink.asked()
				if noSearch && len(asked) != 9 {
					t.Errorf("fallback asked Candidate about %d messages, want all 9", len(asked))
				}
				if !noSearch && len(asked) != 4 {
					t.Errorf("narrowed catch-up asked Candidate about UIDs %v, want only the 4 hits", asked)
				}
				if cp := sink.checkpoint(); cp.LastUID != 9 {
					t.Errorf("checkpoint = %+v, want LastUID 9", cp)
				}
			}
		})
	}
}

// TestNarrowingByDomains: the narrowing SEARCH names the counterparts'
// domains, so an unthreaded reply from a counterpart is a hit; with more
// domains than maxHintDomains it would cost more than reading every header,
// which the catch-up then does, missing nothing either way.
func TestNarrowingByDomains(t *testing.T) {
	for _, domains := range []int{maxHintDomains, maxHintDomains + 1} {
		t.Run(fmt.Sprint(domains), func(t *testing.T) {
			srv := startServer(t, sandbox.IMAPOptions{})
			sink := newMemSink(time.Time{})
			for i := 1; i < domains; i++ {
				sink.hints.Addresses = append(sink.hints.Addresses, fmt.Sprintf("someone@firm-%d.test", i), fmt.Sprintf("other@FIRM-%d.test", i))
			}
			w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{NarrowAbove: 3, Batch: 2})
			if err := w.SyncOnce(context.Background()); err != nil { // empty: cp = {validity, 0}
				t.Fatalf("SyncOnce: %v", err)
			}
			deliverMix(t, srv)
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatalf("SyncOnce: %v", err)
			}
			assertIDs(t, sink, "r1@x", "j1@x", "b1@x", "r2@x")
			asked := sink.asked()
			if want := 4; domains > maxHintDomains {
				if len(asked) != 9 {
					t.Errorf("with %d domains Candidate was asked about %v, want every one of the 9", domains, asked)
				}
			} else if len(asked) != want {
				t.Errorf("with %d domains Candidate was asked about %v, want only the %d hits", domains, asked, want)
			}
		})
	}
}

func runWatcher(t *testing.T, w *Watcher) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil after cancel", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	// A test that fails early still stops its watcher, which would
	// otherwise log after the test ended.
	t.Cleanup(stop)
	return stop
}

func syncedCounter() (func(time.Time), func() int) {
	var mu sync.Mutex
	n := 0
	return func(time.Time) { mu.Lock(); n++; mu.Unlock() }, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func TestRunIdleAndRestart(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	sink := newMemSink(time.Now().Add(-time.Hour))
	synced, count := syncedCounter()
	cfg := imapConfig(t, srv.Addr)
	rec := newRecorder(testLogger(t).Handler())
	w := NewWatcher(cfg, sink, slog.New(rec), WatchOptions{Synced: synced, PollInterval: time.Hour})
	stop := runWatcher(t, w)
	waitFor(t, "first sync", 5*time.Second, func() bool { return count() > 0 })
	deliver(t, srv, unrelated("u1@x"), reply("r1@x"))
	// PollInterval is an hour: only IDLE can bring this in.
	waitFor(t, "IDLE to bring r1", 5*time.Second, func() bool { return sink.has("r1@x") })
	stop()
	if rec.has("reconnecting") {
		t.Errorf("the watcher reconnected; r1 must come through IDLE on the first connection")
	}

	// While stopped, mail keeps coming; a new watcher resumes exactly.
	deliver(t, srv, reply("r2@x"), unrelated("u2@x"), reply("r3@x"))
	synced2, count2 := syncedCounter()
	w2 := NewWatcher(cfg, sink, testLogger(t), WatchOptions{Synced: synced2, PollInterval: time.Hour})
	stop2 := runWatcher(t, w2)
	waitFor(t, "restart catch-up", 5*time.Second, func() bool { return count2() > 0 })
	stop2()
	assertIDs(t, sink, "r1@x", "r2@x", "r3@x")
	for _, id := range []string{"r1@x", "r2@x", "r3@x"} {
		if n := sink.timesApplied(id); n != 1 {
			t.Errorf("%s applied %d times, want 1", id, n)
		}
	}
	assertUnseen(t, srv, "INBOX")
}

func TestRunPolling(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	sink := newMemSink(time.Now().Add(-time.Hour))
	synced, count := syncedCounter()
	rec := newRecorder(testLogger(t).Handler())
	w := NewWatcher(imapConfig(t, srv.Addr), sink, slog.New(rec), WatchOptions{Poll: true, PollInterval: 50 * time.Millisecond, IdleRefresh: time.Hour, Synced: synced})
	stop := runWatcher(t, w)
	waitFor(t, "first sync", 5*time.Second, func() bool { return count() > 0 })
	deliver(t, srv, reply("p1@x"))
	waitFor(t, "a poll to bring p1", 5*time.Second, func() bool { return sink.has("p1@x") })
	stop()
	if rec.has("reconnecting") {
		t.Errorf("the watcher reconnected; p1 must come through polling on the first connection")
	}
}

func TestRunRecreatedMailbox(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	sink := newMemSink(time.Now().Add(-time.Hour))
	w := NewWatcher(imapConfig(t, srv.Addr), sink, testLogger(t), WatchOptions{PollInterval: time.Hour, MaxBackoff: 100 * time.Millisecond})
	stop := runWatcher(t, w)
	defer stop()
	deliver(t, srv, reply("r1@x"), unrelated("u1@x"), reply("r2@x"))
	waitFor(t, "r1 and r2", 5*time.Second, func() bool { return sink.has("r1@x") && sink.has("r2@x") })
	old := sink.checkpoint()

	// The server rebuilds the mailbox: same mail, new UIDs, new UIDVALIDITY.
	if err := srv.Recreate(testUser, "INBOX"); err != nil {
		t.Fatalf("Recreate: %v", err)
	}
	deliver(t, srv, reply("r2@x"), reply("r1@x"), reply("r3@x"))
	waitFor(t, "rescan after new UIDVALIDITY", 5*time.Second, func() bool {
		cp := sink.checkpoint()
		return cp.UIDValidity != old.UIDValidity && cp.LastUID == 3 && sink.has("r3@x")
	})
	assertIDs(t, sink, "r1@x", "r2@x", "r3@x")
	if n := sink.timesApplied("r1@x"); n != 2 {
		t.Errorf("r1 applied %d times, want 2 (once per UIDVALIDITY; the sink dedups)", n)
	}
}

// recorder is a slog handler that keeps each message with its attributes.
type recorder struct {
	store *recLines
	next  slog.Handler
}

type recLines struct {
	mu    sync.Mutex
	lines []string
}

func newRecorder(next slog.Handler) *recorder { return &recorder{store: &recLines{}, next: next} }

func (r *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *recorder) Handle(ctx context.Context, rec slog.Record) error {
	line := rec.Message
	rec.Attrs(func(a slog.Attr) bool { line += " " + a.Key + "=" + a.Value.String(); return true })
	r.store.mu.Lock()
	r.store.lines = append(r.store.lines, line)
	r.store.mu.Unlock()
	return r.next.Handle(ctx, rec)
}

func (r *recorder) WithAttrs(as []slog.Attr) slog.Handler {
	return &recorder{store: r.store, next: r.next.WithAttrs(as)}
}

func (r *recorder) WithGroup(g string) slog.Handler {
	return &recorder{store: r.store, next: r.next.WithGroup(g)}
}

func (r *recorder) has(s string) bool {
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	for _, l := range r.store.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestRunStalledServer(t *testing.T) {
	for _, poll := range []bool{true, false} {
		t.Run(fmt.Sprintf("poll=%v", poll), func(t *testing.T) {
			srv := startServer(t, sandbox.IMAPOptions{})
			proxy, err := sandbox.StartProxy(context.Background(), srv.Addr)
			if err != nil {
				t.Fatalf("StartProxy: %v", err)
			}
			defer proxy.Close()
			rec := newRecorder(testLogger(t).Handler())
			sink := newMemSink(time.Now().Add(-time.Hour))
			synced, count := syncedCounter()
			w := NewWatcher(imapConfig(t, proxy.Addr), sink, slog.New(rec), WatchOptions{
				Poll: poll, PollInterval: 50 * time.Millisecond, IdleRefresh: 100 * time.Millisecond,
				CommandTimeout: 300 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Synced: synced,
			})
			stop := runWatcher(t, w)
			defer stop()
			waitFor(t, "first sync", 5*time.Second, func() bool { return count() > 0 })

			proxy.Stall(true)
			deliver(t, srv, reply("s1@x"))
			waitFor(t, "the watchdog to give up on the stalled server", 5*time.Second, func() bool { return rec.has(ErrTimeout.Error()) })
			if sink.has("s1@x") {
				t.Fatalf("s1 arrived through a stalled proxy")
			}
			proxy.Stall(false)
			waitFor(t, "reconnect and catch up s1", 10*time.Second, func() bool { return sink.has("s1@x") })
			assertIDs(t, sink, "s1@x")
		})
	}
}

func TestWatcherContextCancelDuringStall(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	proxy, err := sandbox.StartProxy(context.Background(), srv.Addr)
	if err != nil {
		t.Fatalf("StartProxy: %v", err)
	}
	defer proxy.Close()
	proxy.Stall(true)
	sink := newMemSink(time.Time{})
	// A long command timeout: only ctx can end the hung dial.
	w := NewWatcher(imapConfig(t, proxy.Addr), sink, testLogger(t), WatchOptions{CommandTimeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.SyncOnce(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "deadline") {
			t.Errorf("SyncOnce = %v, want a deadline error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SyncOnce hung past its context")
	}
}

// TestIdleLateDelivery delivers a reply after the catch-up's last command and
// before IDLE starts. A server that announces only what happens after IDLE
// began (LazyIdle, as imapmemserver itself) then says nothing until IDLE
// ends: the watcher must ask (NOOP) before idling, or the reply waits for
// the next IDLE refresh (an hour here).
func TestIdleLateDelivery(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{LazyIdle: true})
	sink := newMemSink(time.Now().Add(-time.Hour))
	var once sync.Once
	synced := func(time.Time) {
		// Runs on the watcher's goroutine, after its last command and
		// before IDLE: exactly the window.
		once.Do(func() { deliver(t, srv, reply("late@x")) })
	}
	rec := newRecorder(testLogger(t).Handler())
	w := NewWatcher(imapConfig(t, srv.Addr), sink, slog.New(rec), WatchOptions{Synced: synced, PollInterval: time.Hour, IdleRefresh: time.Hour})
	stop := runWatcher(t, w)
	defer stop()
	waitFor(t, "the reply delivered just before IDLE", 10*time.Second, func() bool { return sink.has("late@x") })
	if rec.has("reconnecting") {
		t.Errorf("the watcher reconnected; the reply must come on the first connection")
	}
}
