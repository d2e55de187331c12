package inbox

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/sandbox"
)

// The same watcher, against the real Dovecot of scripts/mailrig (skipped
// without COFFEECHAT_RIG_* in the environment).

func rigConfig(t *testing.T, rig *sandbox.Rig, user string) config.IMAP {
	t.Helper()
	host, port, err := net.SplitHostPort(rig.IMAP)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return config.IMAP{
		Server: config.Server{Host: host, Port: p, TLS: config.TLSStartTLS, Username: user,
			Password: rig.Password, CAFile: rig.CAFile, Timeout: "5s"},
		Mailbox: "INBOX",
	}
}

// rigDeliver hands a message to the rig's MX (no AUTH), as another person's
// server would; Postfix delivers it into Dovecot over LMTP.
func rigDeliver(t *testing.T, rig *sandbox.Rig, to string, raw []byte) {
	t.Helper()
	c, err := smtp.Dial(rig.MX)
	if err != nil {
		t.Fatalf("dial MX: %v", err)
	}
	defer c.Close()
	if err := c.Mail("jo@else.test"); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	if err := c.Rcpt(to); err != nil {
		t.Fatalf("RCPT: %v", err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	c.Quit()
}

// rigFlags returns the flags of every INBOX message, read with EXAMINE.
func rigFlags(t *testing.T, rig *sandbox.Rig, user string) [][]imap.Flag {
	t.Helper()
	c, err := imapclient.DialStartTLS(rig.IMAP, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: rig.CAPool(t)}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.Login(user, rig.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	bufs, err := c.Fetch(set, &imap.FetchOptions{Flags: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]imap.Flag
	for _, b := range bufs {
		out = append(out, b.Flags)
	}
	return out
}

func rigReply(id, to string) []byte {
	return []byte(strings.ReplaceAll(string(reply(id)), "sam@example.test", to))
}

func TestRigSentFolder(t *testing.T) {
	rig := sandbox.RigFromEnv(t)
	user := rig.User(t, "sent")
	ctx := context.Background()
	c, err := Dial(ctx, rigConfig(t, rig, user), testLogger(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	folder, err := c.SentFolder(ctx, "")
	if err != nil || folder != "Sent" {
		t.Fatalf("SentFolder() = %q, %v, want Sent (SPECIAL-USE)", folder, err)
	}
	id := fmt.Sprintf("rig-%d@coffee.test", time.Now().UnixNano())
	raw := []byte("From: " + user + "\r\nTo: jo@else.test\r\nSubject: coffee?\r\nMessage-ID: <" + id + ">\r\n\r\nHi\r\n")
	if err := c.AppendSent(ctx, folder, raw, time.Now()); err != nil {
		t.Fatalf("AppendSent: %v", err)
	}
	for q, want := range map[string]bool{id: true, "x" + id: false, "nope@coffee.test": false} {
		if got, err := c.HasMessageID(ctx, folder, q); err != nil || got != want {
			t.Errorf("HasMessageID(%q) = %v, %v, want %v", q, got, err, want)
		}
	}
	if err := c.CheckIdle(ctx); err != nil {
		t.Errorf("CheckIdle: %v", err)
	}
}

func TestRigWatcherIdleAndOutage(t *testing.T) {
	rig := sandbox.RigFromEnv(t)
	user := rig.User(t, "watch")
	cfg := rigConfig(t, rig, user)
	// Log in once so the mailbox exists, and deliver mail from before.
	if c, err := Dial(context.Background(), cfg, nil); err != nil {
		t.Fatalf("Dial: %v", err)
	} else {
		c.Close()
	}
	rigDeliver(t, rig, user, rigReply("before@x", user))

	sink := newMemSink(time.Now().Add(-time.Hour))
	rec := newRecorder(testLogger(t).Handler())
	synced, count := syncedCounter()
	w := NewWatcher(cfg, sink, slog.New(rec), WatchOptions{
		PollInterval: time.Hour, CommandTimeout: 3 * time.Second, MaxBackoff: 300 * time.Millisecond, Synced: synced,
	})
	stop := runWatcher(t, w)
	defer stop()
	waitFor(t, "catch-up of mail from before", 10*time.Second, func() bool { return sink.has("before@x") })
	waitFor(t, "first sync", 5*time.Second, func() bool { return count() > 0 })

	rigDeliver(t, rig, user, rigReply("idle@x", user))
	waitFor(t, "IDLE to bring the new mail", 10*time.Second, func() bool { return sink.has("idle@x") })
	if rec.has("reconnecting") {
		t.Errorf("the watcher reconnected before the outage")
	}

	// Outage: Dovecot goes away, mail arrives meanwhile (queued by Postfix).
	rig.StopDovecot(t)
	waitFor(t, "the watcher to notice the outage", 15*time.Second, func() bool { return rec.has("reconnecting") })
	rigDeliver(t, rig, user, rigReply("outage@x", user))
	waitFor(t, "a refused reconnect", 15*time.Second, func() bool { return rec.has("connect:") })
	rig.StartDovecot(t)
	waitFor(t, "mail from the outage", 30*time.Second, func() bool { return sink.has("outage@x") })
	assertIDs(t, sink, "before@x", "idle@x", "outage@x")
	for _, id := range []string{"before@x", "idle@x", "outage@x"} {
		if n := sink.timesApplied(id); n != 1 {
			t.Errorf("%s applied %d times, want 1", id, n)
		}
	}
	for i, flags := range rigFlags(t, rig, user) {
		for _, f := range flags {
			if f == imap.FlagSeen {
				t.Errorf("message %d has \\Seen on Dovecot", i+1)
			}
		}
	}
}
