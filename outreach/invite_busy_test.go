package outreach

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

// busyServer serves testdata/busy.ics (busy Thu 3 Dec 13:50–15:00 PST). While
// block is set it holds each request until the test ends. On every request
// it first tries a write transaction of its own: wrote says whether the
// database was free while the calendar was being fetched.
type busyServer struct {
	*httptest.Server
	hits  atomic.Int32
	block atomic.Bool
	mu    sync.Mutex
	wrote []bool
}

func newBusyServer(t *testing.T, db *store.DB) *busyServer {
	t.Helper()
	body, err := os.ReadFile("testdata/busy.ics")
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	s := &busyServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		err := db.Update(ctx, func(tx *store.Tx) error { return tx.NoteDaemonError(ctx, "test", "busy fetched") })
		cancel()
		s.mu.Lock()
		s.wrote = append(s.wrote, err == nil)
		s.mu.Unlock()
		if s.block.Load() {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		rw.Header().Set("Content-Type", "text/calendar")
		rw.Write(body)
	}))
	t.Cleanup(func() { close(release); s.Close() })
	return s
}

// TestAgreeInTransactionNeverFetchesBusy: AgreeTx runs inside the inbox's
// write transaction, so it must not fetch availability.busy: a cold cache,
// or a time past what the cache holds, becomes a pick_time item saying the
// busy calendar could not be checked; a warm cache is used as is.
func TestAgreeInTransactionNeverFetchesBusy(t *testing.T) {
	e := newCalEnv(t, "")
	srv := newBusyServer(t, e.db)
	srv.block.Store(true)
	e.o.Cfg.Availability.Busy = []string{srv.URL + "/busy.ics"}

	// Cold cache.
	a := e.askOf("Jane Doe", "jane.doe@acme.example")
	e.agree(a, e.received(a, "jane.doe@acme.example", nil), calSlots[0])
	if n := srv.hits.Load(); n != 0 {
		t.Fatalf("the busy calendar was fetched %d times inside the transaction", n)
	}
	items := e.items(ReviewPickTime)
	if len(items) != 1 || !strings.Contains(items[0].Summary, "busy calendar (availability.busy) could not be checked") {
		t.Fatalf("pick_time items = %+v, want one saying the busy calendar could not be checked", items)
	}
	if st := e.ask(a.ID).State; st != store.AskAgreed || len(e.outgoing(a.ID)) != 0 {
		t.Fatalf("ask %s with %d invites, want agreed and none (not guessed free)", st, len(e.outgoing(a.ID)))
	}

	// Warm the cache outside any transaction, as the sink and calsync do.
	srv.block.Store(false)
	if err := e.o.RefreshBusyIfStale(context.Background()); err != nil {
		t.Fatal(err)
	}
	hits := srv.hits.Load()
	if hits != 1 {
		t.Fatalf("%d fetches for one refresh", hits)
	}
	if err := e.o.RefreshBusyIfStale(context.Background()); err != nil || srv.hits.Load() != hits {
		t.Errorf("a fresh cache was fetched again (%v)", err)
	}
	srv.block.Store(true)

	// A time past the cached span: not fetched, not guessed free.
	far := pst("2027-02-03 10:00") // a Wednesday, two months out
	b := e.askOf("Bill Turner", "bill@example.org")
	e.agree(b, e.received(b, "bill@example.org", nil), far)
	if n := srv.hits.Load(); n != hits {
		t.Fatalf("the busy calendar was fetched inside the transaction for a far time")
	}
	if st := e.ask(b.ID).State; st != store.AskAgreed {
		t.Errorf("far time: ask %s, want agreed with a pick_time item; timeline:\n%s", st, e.timeline(b.ID))
	}

	// Inside the cached span: the cache decides, busy and free.
	c := e.askOf("Carol King", "carol@example.org")
	e.agree(c, e.received(c, "carol@example.org", nil), calSlots[1]) // the dentist
	if tl := e.timeline(c.ID); e.ask(c.ID).State != store.AskAgreed || !strings.Contains(tl, "busy in your calendar") {
		t.Errorf("busy slot: ask %s; timeline:\n%s", e.ask(c.ID).State, tl)
	}
	d := e.askOf("Dan Moss", "dan@example.org")
	e.agree(d, e.received(d, "dan@example.org", nil), calSlots[2])
	if st := e.ask(d.ID).State; st != store.AskScheduled {
		t.Errorf("free slot: ask %s, want scheduled; timeline:\n%s", st, e.timeline(d.ID))
	}
	if n := srv.hits.Load(); n != hits {
		t.Errorf("%d fetches inside transactions", n-hits)
	}
}

// TestApplyReadsBusyBeforeItsTransaction: the inbox sink refreshes the busy
// calendar before it opens its write transaction, so the database stays
// writable during the fetch, and the agreement is checked against it.
func TestApplyReadsBusyBeforeItsTransaction(t *testing.T) {
	e := newEnv(t)
	srv := newBusyServer(t, e.db)
	e.o.Cfg.Availability.Busy = []string{srv.URL + "/busy.ics"}
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	e.apply(10, fixture(t, "001-gmail-agree-slot-number.eml")) // agrees to slot 2: the dentist

	if srv.hits.Load() == 0 {
		t.Fatal("the busy calendar was never read")
	}
	srv.mu.Lock()
	wrote := append([]bool(nil), srv.wrote...)
	srv.mu.Unlock()
	for i, ok := range wrote {
		if !ok {
			t.Errorf("fetch %d: the database write lock was held while the busy calendar was fetched", i+1)
		}
	}
	if got := e.ask(a.ID); got.State != store.AskAgreed {
		t.Fatalf("ask %s, want agreed (slot 2 is busy); timeline:\n%s", got.State, e.timeline(a.ID))
	}
	if tl := e.timeline(a.ID); !strings.Contains(tl, "busy in your calendar") {
		t.Errorf("timeline does not say busy:\n%s", tl)
	}
}
