package daemon_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/daemon"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

const (
	me     = "sam@example.test"
	mePass = "secret"
)

// syncBuf is a log destination safe for the loop's goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type senderRig struct {
	t    *testing.T
	db   *store.DB
	o    *outreach.Outreach
	cfg  *config.Config
	smtp *sandbox.SMTPServer
	imap *sandbox.IMAPServer
	logs *syncBuf
	n    int
}

func newSenderRig(t *testing.T, smtpPassword string) *senderRig {
	return newSenderRigDeliver(t, smtpPassword, nil)
}

func newSenderRigDeliver(t *testing.T, smtpPassword string, deliver func(string, []string, []byte) error) *senderRig {
	t.Helper()
	ctx := t.Context()
	r := &senderRig{t: t, logs: &syncBuf{}}
	var err error
	if r.smtp, err = sandbox.StartSMTP(ctx, sandbox.SMTPOptions{Users: map[string]string{me: mePass}, Deliver: deliver}); err != nil {
		t.Fatal(err)
	}
	if r.imap, err = sandbox.StartIMAP(ctx, sandbox.IMAPOptions{Users: map[string]string{me: mePass}}); err != nil {
		t.Fatal(err)
	}
	if r.db, err = store.Open(ctx, filepath.Join(t.TempDir(), "cc.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.db.Close() })
	r.cfg = config.Default()
	r.cfg.Account = config.Account{Name: "Sam Rivera", Email: me, Timezone: "Europe/Berlin"}
	r.cfg.SMTP.Server = server(t, r.cfg.SMTP.Server, r.smtp.Addr, smtpPassword)
	r.cfg.IMAP.Server = server(t, r.cfg.IMAP.Server, r.imap.Addr, mePass)
	r.cfg.Sending = config.Sending{Window: "always", MinGap: "0s"}
	log := slog.New(slog.NewTextHandler(r.logs, nil))
	r.o = outreach.New(r.db, r.cfg, nil, log)
	return r
}

func server(t *testing.T, s config.Server, addr, password string) config.Server {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Host, s.TLS, s.Username, s.Password, s.Timeout = host, config.TLSNone, me, password, "5s"
	s.Port, _ = strconv.Atoi(port)
	return s
}

func (r *senderRig) sender() *daemon.Sender {
	return &daemon.Sender{O: r.o, SMTP: mailer.NewClient(r.cfg.SMTP, r.o.Log), DialSent: daemon.DialIMAPSent(r.o, r.o.Log),
		Log: r.o.Log, Poll: 20 * time.Millisecond, Settle: time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}
}

// start runs the loop until the test ends; stop cancels it and returns its error.
func (r *senderRig) start(s *daemon.Sender) (stop func() error) {
	ctx, cancel := context.WithCancel(r.t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				r.t.Fatal("sender did not stop")
			}
		})
		return err
	}
	r.t.Cleanup(func() { stop() })
	return stop
}

// approve stores an approved message, as `coffeechat approve` would leave it.
func (r *senderRig) approve() *store.Message {
	r.t.Helper()
	r.n++
	ctx := r.t.Context()
	var m *store.Message
	err := r.db.Update(ctx, func(tx *store.Tx) error {
		addr := "p" + strconv.Itoa(r.n) + "@example.test"
		c := &store.Contact{Name: "Person " + strconv.Itoa(r.n), Emails: []string{addr}}
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID}
		if err := tx.InsertAsk(ctx, a); err != nil {
			return err
		}
		m = &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgApproved,
			MessageID: mailer.NewMessageID("example.test"), From: "Sam Rivera <" + me + ">", To: addr,
			Subject: "Coffee?", Body: "Hi\n", ApprovedAt: tx.Now()}
		return tx.InsertMessage(ctx, m)
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func (r *senderRig) state(id int64) string {
	var s string
	r.db.View(r.t.Context(), func(tx *store.Tx) error {
		m, err := tx.Message(r.t.Context(), id)
		if err == nil {
			s = m.State
		}
		return err
	})
	return s
}

// waitFor polls cond for up to limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSenderPicksUpApprovalsAndFilesCopies(t *testing.T) {
	r := newSenderRig(t, mePass)
	s := r.sender()
	s.Poll = 0 // the default poll of `coffeechat run`: an approval is seen within 5 s
	stop := r.start(s)
	var ms []*store.Message
	for range 3 {
		ms = append(ms, r.approve())
	}
	for _, m := range ms {
		waitFor(t, 5*time.Second, "approved message not sent", func() bool { return r.state(m.ID) == store.MsgSent })
	}
	waitFor(t, 5*time.Second, "copies not filed in Sent", func() bool {
		st, _ := r.imap.Stored(me, "Sent")
		return len(st) == len(ms)
	})
	late := r.approve() // approved while the daemon runs
	waitFor(t, 5*time.Second, "late approval not sent", func() bool { return r.state(late.ID) == store.MsgSent })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := len(r.smtp.Received()); got != 4 {
		t.Errorf("server received %d messages, want 4", got)
	}
}

func TestSenderWrongPasswordKeepsRunning(t *testing.T) {
	r := newSenderRig(t, "wrong")
	m := r.approve()
	stop := r.start(r.sender())
	waitFor(t, 5*time.Second, "no login error logged", func() bool { return strings.Contains(r.logs.String(), "SMTP login refused") })
	waitFor(t, 5*time.Second, "no retry after the backoff", func() bool { return r.smtp.Connections() >= 3 })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil: a wrong password must not stop the daemon", err)
	}
	if s := r.state(m.ID); s != store.MsgApproved {
		t.Errorf("message is %s, want still approved", s)
	}
	logs := r.logs.String()
	if !strings.Contains(logs, "account="+me) || !strings.Contains(logs, "smtp.password") {
		t.Errorf("login error does not name the account and the setting:\n%s", logs)
	}
	// Backoff: one attempt and one log line per connection, doubling waits.
	if lines, conns := strings.Count(logs, "SMTP login refused"), r.smtp.Connections(); lines > conns {
		t.Errorf("%d error lines for %d connections", lines, conns)
	}

	// Fixed credentials (a reload builds a new sender): the message goes.
	r.cfg.SMTP.Password = mePass
	r.start(r.sender())
	waitFor(t, 5*time.Second, "message not sent after the password was fixed", func() bool { return r.state(m.ID) == store.MsgSent })
}

// A password command that fails is a settings problem, said as one (naming
// the key), not "cannot reach the server"; the loop keeps running.
func TestSenderPasswordCommandFails(t *testing.T) {
	r := newSenderRig(t, "")
	r.cfg.SMTP.PasswordCmd = "echo 'pass: store locked' >&2; exit 3"
	m := r.approve()
	stop := r.start(r.sender())
	waitFor(t, 5*time.Second, "no settings error logged", func() bool { return strings.Contains(r.logs.String(), "cannot use the [smtp] settings") })
	if err := stop(); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "smtp.password_cmd") || strings.Contains(logs, "cannot reach") {
		t.Errorf("log does not name smtp.password_cmd, or blames the server:\n%s", logs)
	}
	if s := r.state(m.ID); s != store.MsgApproved {
		t.Errorf("message is %s, want approved", s)
	}
}

func TestSenderServerDownNothingLost(t *testing.T) {
	r := newSenderRig(t, mePass)
	// A port where nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	good := r.cfg.SMTP.Server
	r.cfg.SMTP.Server = server(t, r.cfg.SMTP.Server, dead, mePass)
	m := r.approve()
	stop := r.start(r.sender())
	waitFor(t, 5*time.Second, "no connection error logged", func() bool { return strings.Contains(r.logs.String(), "cannot reach the SMTP server") })
	stop()
	if s := r.state(m.ID); s != store.MsgApproved {
		t.Fatalf("message is %s while the server is down, want approved", s)
	}
	r.cfg.SMTP.Server = good
	r.start(r.sender())
	waitFor(t, 5*time.Second, "message not sent once the server is up", func() bool { return r.state(m.ID) == store.MsgSent })
	if n := len(r.smtp.Received()); n != 1 {
		t.Errorf("received %d, want 1", n)
	}
}

func TestSenderStartResolvesLeftoverSending(t *testing.T) {
	r := newSenderRig(t, mePass)
	m := r.approve()
	ctx := t.Context()
	// A previous daemon died between "sending" and "sent"; the provider had
	// filed the message in Sent.
	var raw []byte
	r.db.Update(ctx, func(tx *store.Tx) error {
		raw = []byte("Message-ID: <" + m.MessageID + ">\r\nSubject: x\r\n\r\nhi\r\n")
		return tx.BeginSending(ctx, m.ID, raw)
	})
	if err := r.imap.Deliver(me, "Sent", raw); err != nil {
		t.Fatal(err)
	}
	other := r.approve()
	r.db.Update(ctx, func(tx *store.Tx) error { return tx.BeginSending(ctx, other.ID, []byte("x")) })
	r.start(r.sender())
	waitFor(t, 5*time.Second, "leftover sending not found in Sent", func() bool { return r.state(m.ID) == store.MsgSent })
	waitFor(t, 5*time.Second, "leftover sending not shown to the user", func() bool {
		var n int
		r.db.View(ctx, func(tx *store.Tx) error {
			it, _ := tx.OpenReviewFor(ctx, other.ID, outreach.ReviewUncertainSend)
			if it != nil {
				n++
			}
			return nil
		})
		return n == 1
	})
	if s := r.state(other.ID); s != store.MsgUncertain {
		t.Errorf("unfound leftover is %s, want uncertain", s)
	}
	if n := len(r.smtp.Received()); n != 0 {
		t.Errorf("the sender resent on its own: %d received", n)
	}
}

func TestSenderFinishesInFlightOnStop(t *testing.T) {
	entered := make(chan struct{}, 1)
	r := newSenderRigDeliver(t, mePass, func(string, []string, []byte) error {
		entered <- struct{}{}
		time.Sleep(300 * time.Millisecond) // the server takes its time to answer
		return nil
	})
	m := r.approve()
	stop := r.start(r.sender())
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the message never reached the server")
	}
	if err := stop(); err != nil { // asked to stop while the server holds the reply
		t.Fatalf("Run = %v", err)
	}
	if s := r.state(m.ID); s != store.MsgSent {
		t.Errorf("message stopped in flight is %s, want sent: the transaction must be finished", s)
	}
}

// A delivery whose outcome cannot be written (the database refuses the
// second write) must not stay in sending for the rest of the run: it becomes
// uncertain and goes to the user, and is not sent again.
func TestSenderUnrecordedSendBecomesUncertain(t *testing.T) {
	r := newSenderRig(t, mePass)
	m := r.approve()
	raw, err := sql.Open("sqlite3", "file:"+r.db.Path()+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TRIGGER test_refuse_sent BEFORE UPDATE OF state ON messages
		WHEN NEW.state = 'sent' BEGIN SELECT RAISE(ABORT, 'test: the disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	r.start(r.sender())
	waitFor(t, 5*time.Second, "unrecorded send not shown to the user as uncertain", func() bool {
		var open bool
		r.db.View(t.Context(), func(tx *store.Tx) error {
			it, err := tx.OpenReviewFor(t.Context(), m.ID, outreach.ReviewUncertainSend)
			open = it != nil
			return err
		})
		return open && r.state(m.ID) == store.MsgUncertain
	})
	if n := len(r.smtp.Received()); n != 1 {
		t.Errorf("server received %d, want 1", n)
	}
	if !strings.Contains(r.logs.String(), "the disk is full") {
		t.Errorf("the failed write is not logged:\n%s", r.logs.String())
	}
}
