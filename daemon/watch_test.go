package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

const (
	watchUser = "sam@example.com"
	watchPass = "secret"
)

// watchEnv is a workflow with n waiting interview asks, ask i to person i
// (person-i@people.example), each with one sent message <ask-i@example.com>.
type watchEnv struct {
	t    *testing.T
	o    *outreach.Outreach
	asks []int64
}

func newWatchEnv(t *testing.T, n int, account string) *watchEnv {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(fmt.Sprintf("[account]\nname = \"Sam Rivera\"\nemail = %q\ntimezone = \"America/Los_Angeles\"\n", account)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tm, err := outreach.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	o := outreach.New(db, cfg, tm, slog.New(slog.DiscardHandler))
	e := &watchEnv{t: t, o: o}
	err = db.Update(ctx, func(tx *store.Tx) error {
		for i := 1; i <= n; i++ {
			c := &store.Contact{Name: fmt.Sprintf("Person %d", i), Emails: []string{fmt.Sprintf("person-%d@people.example", i)}}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID, State: store.AskWaiting}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgSent,
				MessageID: fmt.Sprintf("ask-%d@example.com", i), From: "Sam Rivera <" + account + ">", To: c.Email(),
				Subject: fmt.Sprintf("Coffee %d?", i), SentAt: time.Now().Add(-time.Hour)}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
			e.asks = append(e.asks, a.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// declineFrom is person i declining ask i, threaded on our message.
func declineFrom(i int, account string) []byte {
	return []byte(fmt.Sprintf("From: Person %d <person-%d@people.example>\r\nTo: %s\r\nSubject: Re: Coffee %d?\r\n"+
		"Date: %s\r\nMessage-ID: <decline-%d@people.example>\r\nIn-Reply-To: <ask-%d@example.com>\r\n"+
		"References: <ask-%d@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Thanks for reaching out, but unfortunately I have to pass.\r\n", i, i, account, i,
		time.Now().Format(time.RFC1123Z), i, i, i))
}

func noise(i int, account string) []byte {
	return []byte(fmt.Sprintf("From: Shop <news@shop.example>\r\nTo: %s\r\nSubject: Sale %d\r\nDate: %s\r\n"+
		"Message-ID: <noise-%d@shop.example>\r\n\r\nBuy things.\r\n", account, i, time.Now().Format(time.RFC1123Z), i))
}

func (e *watchEnv) state(i int) string {
	var a *store.Ask
	err := e.o.DB.View(context.Background(), func(tx *store.Tx) (err error) { a, err = tx.Ask(context.Background(), e.asks[i-1]); return })
	if err != nil {
		e.t.Fatal(err)
	}
	return a.State
}

func (e *watchEnv) incoming() map[int64]int {
	var ms []*store.Message
	err := e.o.DB.View(context.Background(), func(tx *store.Tx) (err error) {
		ms, err = tx.Messages(context.Background(), store.MessageFilter{Direction: store.In})
		return
	})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int64]int{}
	for _, m := range ms {
		out[m.AskID]++
	}
	return out
}

// waitDeclined waits (bounded) until asks is declined.
func (e *watchEnv) waitDeclined(within time.Duration, asks ...int) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		var missing []int
		for _, i := range asks {
			if e.state(i) != store.AskDeclined {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("asks %v not declined within %v", missing, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkOnce fails unless every ask in asks has exactly one incoming message
// and nothing else was stored.
func (e *watchEnv) checkOnce(asks ...int) {
	e.t.Helper()
	got := e.incoming()
	total := 0
	for _, n := range got {
		total += n
	}
	for _, i := range asks {
		if got[e.asks[i-1]] != 1 {
			e.t.Errorf("ask %d has %d incoming messages, want 1", i, got[e.asks[i-1]])
		}
	}
	if total != len(asks) {
		e.t.Errorf("%d incoming messages stored, want %d (one per reply, no noise)", total, len(asks))
	}
}

func startWatch(t *testing.T, w *Watch) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v, want nil after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
}

func imapCfg(t *testing.T, addr, user, pass string, tls string) config.IMAP {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return config.IMAP{Server: config.Server{Host: host, Port: p, TLS: tls, Username: user, Password: pass, Timeout: "2s"}, Mailbox: "INBOX"}
}

func (e *watchEnv) synced() time.Time {
	var at time.Time
	e.o.DB.View(context.Background(), func(tx *store.Tx) (err error) { at, err = tx.InboxSyncedAt(context.Background()); return })
	return at
}

// startWatchIMAP starts an in-process IMAP server with watchUser's mailbox.
func startWatchIMAP(t *testing.T) *sandbox.IMAPServer {
	t.Helper()
	srv, err := sandbox.StartIMAP(context.Background(), sandbox.IMAPOptions{Users: map[string]string{watchUser: watchPass}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestWatchSandbox(t *testing.T) {
	ctx := context.Background()
	srv := startWatchIMAP(t)
	proxy, err := sandbox.StartProxy(ctx, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	e := newWatchEnv(t, 5, watchUser)
	deliver := func(raws ...[]byte) {
		t.Helper()
		for _, r := range raws {
			if err := srv.Deliver(watchUser, "INBOX", r); err != nil {
				t.Fatal(err)
			}
		}
	}
	w := &Watch{O: e.o, IMAP: imapCfg(t, proxy.Addr, watchUser, watchPass, config.TLSNone), Log: testLog(t)}
	w.Opt.PollInterval = time.Hour // only IDLE brings mail in
	w.Opt.MaxBackoff = 200 * time.Millisecond
	w.Opt.CommandTimeout = time.Second
	w.Opt.IdleRefresh = time.Second // proves the connection alive, so a stall is noticed

	// Delivered while IDLE: the ask moves within seconds.
	stop := startWatch(t, w)
	deadline := time.Now().Add(5 * time.Second)
	for e.synced().IsZero() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.synced().IsZero() {
		t.Fatal("no sync time recorded in daemon_state")
	}
	deliver(noise(1, watchUser), declineFrom(1, watchUser))
	e.waitDeclined(5*time.Second, 1)

	// Restart in the middle: mail delivered while stopped is read once.
	stop()
	deliver(declineFrom(2, watchUser), noise(2, watchUser))
	stop = startWatch(t, w)
	e.waitDeclined(5*time.Second, 2)

	// New UIDVALIDITY: the same replies again, plus a new one. Nothing doubles.
	if err := srv.Recreate(watchUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	deliver(declineFrom(1, watchUser), declineFrom(2, watchUser), declineFrom(3, watchUser))
	e.waitDeclined(5*time.Second, 3)

	// A server that stops answering: the watchdog drops it, the watcher
	// reconnects once it answers again, and the reply delivered meanwhile
	// comes in.
	proxy.Stall(true)
	deliver(declineFrom(4, watchUser))
	time.Sleep(1500 * time.Millisecond) // let the stall outlast the watchdog
	proxy.Stall(false)
	e.waitDeclined(10*time.Second, 4)
	stop()
	e.checkOnce(1, 2, 3, 4)
	if e.state(5) != store.AskWaiting {
		t.Errorf("ask 5 = %s, want waiting", e.state(5))
	}
	stored, err := srv.Stored(watchUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range stored {
		for _, f := range m.Flags {
			if f == `\Seen` {
				t.Errorf("UID %d marked \\Seen: the inbox must never mark mail read", m.UID)
			}
		}
	}
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestCatchUpManyAsksUnthreaded: a first run far behind (narrowed by
// SEARCH) with 150 open asks still finds a reply that lost its threading
// headers, by its sender and subject, beside a threaded one.
func TestCatchUpManyAsksUnthreaded(t *testing.T) {
	ctx := context.Background()
	srv := startWatchIMAP(t)
	e := newWatchEnv(t, 150, watchUser)
	unthreaded := fmt.Sprintf("From: Person 7 <person-7@people.example>\r\nTo: %s\r\nSubject: RE: Coffee 7?\r\n"+
		"Date: %s\r\nMessage-ID: <plain-7@people.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Sorry, I have to pass on this one.\r\n", watchUser, time.Now().Format(time.RFC1123Z))
	for k := range 1200 {
		raw := noise(k, watchUser)
		switch k {
		case 400:
			raw = declineFrom(3, watchUser)
		case 800:
			raw = []byte(unthreaded)
		}
		if err := srv.Deliver(watchUser, "INBOX", raw); err != nil {
			t.Fatal(err)
		}
	}
	w := inbox.NewWatcher(imapCfg(t, srv.Addr, watchUser, watchPass, config.TLSNone), e.o.InboxSink(), nil, inbox.WatchOptions{})
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 7} {
		if got := e.state(i); got != store.AskDeclined {
			t.Errorf("ask %d is %s, want declined", i, got)
		}
	}
	e.checkOnce(3, 7)
}
