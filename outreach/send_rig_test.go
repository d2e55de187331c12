package outreach_test

import (
	"bytes"
	"crypto/tls"
	"mime"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

// Against the real Postfix and Dovecot of scripts/mailrig (skipped without it):
// the whole sending path, from an approved row to the recipient's INBOX and
// the sender's Sent folder.

func rigServer(t *testing.T, r *sandbox.Rig, s config.Server, addr, mode, user string) config.Server {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Host, s.TLS, s.Username, s.PasswordEnv, s.CAFile, s.Timeout = host, mode, user, "COFFEECHAT_RIG_PASSWORD", r.CAFile, "10s"
	s.Password, s.PasswordCmd = "", ""
	s.Port, _ = strconv.Atoi(port)
	return s
}

// rigMaildir waits for a message holding needle in user's Maildir folder
// (sub "" is INBOX).
func rigMaildir(t *testing.T, r *sandbox.Rig, user, sub, needle string) []byte {
	t.Helper()
	local, domain, _ := strings.Cut(user, "@")
	base := filepath.Join(r.MailDir, domain, local, "Maildir", sub)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range []string{"new", "cur"} {
			entries, _ := os.ReadDir(filepath.Join(base, d))
			for _, e := range entries {
				b, err := os.ReadFile(filepath.Join(base, d, e.Name()))
				if err == nil && bytes.Contains(b, []byte(needle)) {
					return b
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message with %q in %s", needle, base)
	return nil
}

// fetchSent reads user's Sent folder over IMAP (as the mail client would):
// the raw bytes and flags of each message.
func fetchSent(t *testing.T, r *sandbox.Rig, user, folder string) []sandbox.Stored {
	t.Helper()
	c, err := imapclient.DialStartTLS(r.IMAP, &imapclient.Options{TLSConfig: &tls.Config{RootCAs: r.CAPool(t), ServerName: "localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(user, r.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if sel.NumMessages == 0 {
		return nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	msgs, err := c.Fetch(set, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []sandbox.Stored
	for _, m := range msgs {
		out = append(out, sandbox.Stored{Flags: m.Flags, Raw: m.FindBodySection(body)})
	}
	return out
}

func TestSendRig(t *testing.T) {
	r := sandbox.RigFromEnv(t)
	for _, tc := range []struct{ name, addr, mode string }{
		{"starttls", r.SMTP, config.TLSStartTLS},
		{"implicit", r.SMTPS, config.TLSImplicit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			sam, jane, dad := r.User(t, "sam"), r.User(t, "jane"), r.User(t, "dad")
			cfg := config.Default()
			cfg.Account = config.Account{Name: "Sam Rivera", Email: sam, Timezone: "America/New_York"}
			cfg.SMTP.Server = rigServer(t, r, cfg.SMTP.Server, tc.addr, tc.mode, sam)
			cfg.IMAP.Server = rigServer(t, r, cfg.IMAP.Server, r.IMAP, config.TLSStartTLS, sam)
			cfg.Sending = config.Sending{Window: "always", MinGap: "0s"}
			db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cc.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			o := outreach.New(db, cfg, nil, nil)

			m := &store.Message{Direction: store.Out, Purpose: store.PurposeFollowup, State: store.MsgApproved,
				MessageID: mailer.NewMessageID(mailer.DomainOf(sam)), From: outreach.FormatAddress("Sam Rivera", sam),
				To: outreach.FormatAddress("Jane Doe", jane), Bcc: dad,
				InReplyTo: "orig.1@example.test", References: "root.0@example.test orig.1@example.test",
				Subject: "Café chat — following up", Body: "Hi Jane,\n\njust following up on my note about a 20-minute chat.\n\nThanks,\nSam\n"}
			if err := db.Update(ctx, func(tx *store.Tx) error { return tx.InsertMessage(ctx, m) }); err != nil {
				t.Fatal(err)
			}
			sess, err := mailer.NewClient(cfg.SMTP, nil).Dial(ctx)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer sess.Close()
			res, err := o.SendOne(ctx, sess, m.ID)
			if err != nil || res.State != store.MsgSent || !strings.Contains(res.Reply, "queued as") {
				t.Fatalf("SendOne = %+v, %v", res, err)
			}
			sent, err := outreach.DialSentFolder(ctx, cfg.IMAP, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer sent.Close()
			if sent.Name() != "Sent" || sent.FilesItself() {
				t.Errorf("Sent folder = %q (files itself %v), want Dovecot's \\Sent", sent.Name(), sent.FilesItself())
			}
			if n, err := o.FileSentCopies(ctx, sent, 10); n != 1 || err != nil {
				t.Fatalf("FileSentCopies = %d, %v", n, err)
			}

			var stored *store.Message
			db.View(ctx, func(tx *store.Tx) error { stored, err = tx.Message(ctx, m.ID); return err })
			got := rigMaildir(t, r, jane, "", m.MessageID)
			rigMaildir(t, r, dad, "", m.MessageID) // Bcc delivered
			msg, err := mail.ReadMessage(bytes.NewReader(got))
			if err != nil {
				t.Fatal(err)
			}
			h := msg.Header
			if h.Get("Message-Id") != "<"+m.MessageID+">" {
				t.Errorf("Message-ID = %q, want <%s>", h.Get("Message-Id"), m.MessageID)
			}
			if d, err := h.Date(); err != nil || time.Since(d) > time.Hour {
				t.Errorf("Date = %q (%v)", h.Get("Date"), err)
			}
			if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != sam || from.Name != "Sam Rivera" {
				t.Errorf("From = %q", h.Get("From"))
			}
			if h.Get("In-Reply-To") != "<orig.1@example.test>" || h.Get("References") != "<root.0@example.test> <orig.1@example.test>" {
				t.Errorf("In-Reply-To %q, References %q", h.Get("In-Reply-To"), h.Get("References"))
			}
			if h.Get("Bcc") != "" || bytes.Contains(got, []byte(dad)) {
				t.Errorf("the Bcc address leaked into the delivered message:\n%s", got)
			}
			if s, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); s != m.Subject {
				t.Errorf("Subject = %q, want %q", s, m.Subject)
			}

			copies := fetchSent(t, r, sam, "Sent")
			if len(copies) != 1 || !bytes.Equal(copies[0].Raw, stored.Raw) || !slices.Contains(copies[0].Flags, imap.FlagSeen) {
				t.Fatalf("Sent holds %d copies; identical to what was sent: %v", len(copies), len(copies) == 1 && bytes.Equal(copies[0].Raw, stored.Raw))
			}
			if ok, err := sent.Has(ctx, m.MessageID); !ok || err != nil {
				t.Errorf("Has(<%s>) in Sent = %v, %v", m.MessageID, ok, err)
			}
			spamCheck(t, got)
		})
	}
}

// spamCheck runs SpamAssassin's local header-sanity tests on a delivered
// message (skipped when spamassassin is not installed).
func spamCheck(t *testing.T, raw []byte) {
	t.Helper()
	bin, err := exec.LookPath("spamassassin")
	if err != nil {
		t.Log("spamassassin not installed: header scoring skipped")
		return
	}
	home := t.TempDir()
	prefs := filepath.Join(home, "prefs")
	if err := os.WriteFile(prefs, []byte("use_bayes 0\nbayes_auto_learn 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-L", "-t", "-p", prefs)
	cmd.Env = append(os.Environ(), "HOME="+home)
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		t.Fatalf("spamassassin: %v", err)
	}
	report := string(out)
	if i := strings.Index(report, "Content analysis details"); i >= 0 {
		report = report[i:]
	}
	t.Logf("SpamAssassin on the delivered message:\n%s", report)
	for _, rule := range []string{"MISSING_MID", "MISSING_DATE", "INVALID_DATE", "INVALID_MSGID", "MSGID_SHORT", "MIME_HTML_ONLY", "MISSING_HEADERS"} {
		if strings.Contains(report, " "+rule+" ") {
			t.Errorf("SpamAssassin rule %s fired:\n%s", rule, report)
		}
	}
}
