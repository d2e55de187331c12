package daemon

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/sandbox"
)

// mxDeliver hands raw to the rig's Postfix MX port (no AUTH), which queues
// it while Dovecot is down.
func mxDeliver(t *testing.T, r *sandbox.Rig, to string, raw []byte) {
	t.Helper()
	c, err := smtp.Dial(r.MX)
	if err != nil {
		t.Fatalf("dial MX: %v", err)
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(r.MX)
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: r.CAPool(t)}); err != nil {
		t.Fatalf("starttls: %v", err)
	}
	if err := c.Mail("replies@people.example"); err != nil {
		t.Fatalf("MAIL FROM: %v", err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatalf("RCPT TO: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("end DATA: %v", err)
	}
	c.Quit()
}

// TestWatchRig runs the inbox loop against the real Dovecot, mail coming
// through Postfix: replies while IDLE, a restart in the middle, and Dovecot
// stopped and started while IDLE with replies delivered during the outage.
func TestWatchRig(t *testing.T) {
	r := sandbox.RigFromEnv(t)
	account := r.User(t, "sam")
	e := newWatchEnv(t, 5, account)
	cfg := imapCfg(t, r.IMAPS, account, r.Password, config.TLSImplicit)
	cfg.CAFile = r.CAFile
	cfg.Host = "localhost" // the rig's certificate names localhost
	lines := &lineCounter{next: testWriter{t}}
	w := &Watch{O: e.o, IMAP: cfg, Log: slog.New(slog.NewTextHandler(lines, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	w.Opt.PollInterval = time.Hour
	w.Opt.MaxBackoff = 500 * time.Millisecond
	w.Opt.CommandTimeout = 3 * time.Second

	// Dovecot creates the mailbox at the first delivery.
	mxDeliver(t, r, account, noise(0, account))
	stop := startWatch(t, w)
	deadline := time.Now().Add(20 * time.Second)
	for e.synced().IsZero() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mxDeliver(t, r, account, declineFrom(1, account))
	e.waitDeclined(15*time.Second, 1)

	stop()
	mxDeliver(t, r, account, declineFrom(2, account))
	stop = startWatch(t, w)
	e.waitDeclined(15*time.Second, 2)

	if n := lines.count("reconnecting"); n != 0 {
		t.Fatalf("the watcher reconnected %d times before the outage", n)
	}
	r.StopDovecot(t)
	t.Logf("dovecot stopped at %s", time.Now().Format("15:04:05.000"))
	// The IDLE connection must die with Dovecot (its imap process too, which
	// left alone closes only ~10 s after its master), and the watcher must
	// see it.
	deadline = time.Now().Add(5 * time.Second)
	for lines.count("reconnecting") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not notice Dovecot stopping within 5 s: is the IDLE connection still up?")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mxDeliver(t, r, account, declineFrom(3, account))
	mxDeliver(t, r, account, noise(3, account))
	mxDeliver(t, r, account, declineFrom(4, account))
	// A second line: a reconnect failed while Dovecot was down.
	deadline = time.Now().Add(5 * time.Second)
	for lines.count("reconnecting") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the watcher did not try to reconnect during the outage")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.StartDovecot(t)
	t.Logf("dovecot started at %s", time.Now().Format("15:04:05.000"))
	e.waitDeclined(40*time.Second, 3, 4)
	stop()
	e.checkOnce(1, 2, 3, 4)
	if n := lines.count("imap watching"); n < 3 {
		t.Errorf("%d sessions reached IDLE, want 3 (start, restart, after the outage)", n)
	}
}

// lineCounter passes log lines on and counts those containing a text.
type lineCounter struct {
	next  io.Writer
	mu    sync.Mutex
	lines []string
}

func (l *lineCounter) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return l.next.Write(p)
}

func (l *lineCounter) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}
