package mailer

import (
	"bytes"
	"errors"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/sandbox"
)

// Against the real Postfix of scripts/mailrig (skipped without it).

func rigConfig(t *testing.T, r *sandbox.Rig, addr, mode, user string) config.SMTP {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return config.SMTP{Server: config.Server{Host: host, Port: p, TLS: mode, Username: user,
		PasswordEnv: "COFFEECHAT_RIG_PASSWORD", CAFile: r.CAFile, Timeout: "10s"}}
}

// waitMaildir waits for a message holding needle in user's Maildir/new.
func waitMaildir(t *testing.T, r *sandbox.Rig, user, needle string) []byte {
	t.Helper()
	local, domain, _ := strings.Cut(user, "@")
	dir := filepath.Join(r.MailDir, domain, local, "Maildir", "new")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err == nil && bytes.Contains(b, []byte(needle)) {
				return b
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no message with %q in %s", needle, dir)
	return nil
}

func TestRigDelivery(t *testing.T) {
	r := sandbox.RigFromEnv(t)
	sam := r.User(t, "sam")
	for _, tc := range []struct{ name, addr, mode string }{
		{"starttls", r.SMTP, "starttls"},
		{"implicit", r.SMTPS, "implicit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jane, dad := r.User(t, "jane"), r.User(t, "dad")
			s, err := NewClient(rigConfig(t, r, tc.addr, tc.mode, sam), nil).Dial(t.Context())
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer s.Close()
			if err := s.Verify(t.Context()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			m := baseMessage()
			m.From.Address = sam
			m.To = []mail.Address{{Name: "Jane", Address: jane}}
			m.Cc = nil
			m.Bcc = []mail.Address{{Address: dad}}
			m.MessageID = NewMessageID("example.test")
			m.Calendar = &CalendarPart{Method: "REQUEST", Data: []byte(testICS)}
			c, err := Compose(m)
			if err != nil {
				t.Fatal(err)
			}
			reply, err := s.Send(t.Context(), c)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if !strings.Contains(reply, "queued as") {
				t.Errorf("reply = %q, want Postfix's queue id", reply)
			}
			got := waitMaildir(t, r, jane, m.MessageID)
			// Postfix and Dovecot prepend trace headers and store LF line ends.
			want := bytes.ReplaceAll(c.Raw, []byte("\r\n"), []byte("\n"))
			if !bytes.HasSuffix(bytes.ReplaceAll(got, []byte("\r\n"), []byte("\n")), want) {
				t.Errorf("delivered message does not end with Raw:\n%s", got)
			}
			waitMaildir(t, r, dad, m.MessageID) // Bcc delivered too
		})
	}
}

func TestRigRefusals(t *testing.T) {
	r := sandbox.RigFromEnv(t)
	sam := r.User(t, "sam")
	s, err := NewClient(rigConfig(t, r, r.SMTP, "starttls", sam), nil).Dial(t.Context())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer s.Close()
	send := func(rcpt string) error {
		m := baseMessage()
		m.From.Address = sam
		m.To = []mail.Address{{Address: rcpt}}
		m.Cc, m.Bcc = nil, nil
		m.MessageID = NewMessageID("example.test")
		c, err := Compose(m)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Send(t.Context(), c)
		return err
	}
	var se *SendError
	nouser := r.User(t, "nouser")
	if err := send(nouser); !errors.As(err, &se) || se.Fate != Permanent || se.Code != 550 || se.Rcpt != nouser || se.Enhanced == "" {
		t.Errorf("send to %s = %v, want Permanent 550 with an enhanced code", nouser, err)
	}
	tempfail := r.User(t, "tempfail")
	if err := send(tempfail); !errors.As(err, &se) || se.Fate != Temporary || se.Code != 450 {
		t.Errorf("send to %s = %v, want Temporary 450", tempfail, err)
	}
	if err := send(r.User(t, "ok")); err != nil {
		t.Errorf("session unusable after refusals: %v", err)
	}

	cfg := rigConfig(t, r, r.SMTP, "starttls", sam)
	cfg.PasswordEnv, cfg.PasswordCmd = "", "echo wrong"
	_, err = NewClient(cfg, nil).Dial(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "smtp login as "+sam) || !strings.Contains(ae.Error(), "smtp.password_cmd") {
		t.Errorf("Dial with a wrong password = %v, want *AuthError", err)
	}
}
