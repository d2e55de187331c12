package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/sandbox"
)

const (
	testUser = "sam@example.com"
	testPass = "s3cret pass"
)

func startSandbox(t testing.TB, opts sandbox.SMTPOptions) *sandbox.SMTPServer {
	t.Helper()
	s, err := sandbox.StartSMTP(t.Context(), opts)
	if err != nil {
		t.Fatalf("StartSMTP: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// smtpConfig points at srv; with TLS on, it trusts the sandbox CA through ca_file.
func smtpConfig(t testing.TB, srv *sandbox.SMTPServer, host, mode, user, pass string) config.SMTP {
	t.Helper()
	_, port, err := net.SplitHostPort(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	cfg := config.SMTP{Server: config.Server{Host: host, Port: p, TLS: mode, Username: user, Password: pass, Timeout: "10s"}}
	if srv.CAPEM != nil {
		cfg.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(cfg.CAFile, srv.CAPEM, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

func dial(t testing.TB, cfg config.SMTP) *Session {
	t.Helper()
	s, err := NewClient(cfg, nil).Dial(t.Context())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func composeN(t testing.TB, i int) *Composed {
	t.Helper()
	m := baseMessage()
	m.MessageID = fmt.Sprintf("cc.test%d@example.com", i)
	m.Subject = fmt.Sprintf("Message %d", i)
	m.Calendar = &CalendarPart{Method: "REQUEST", Data: []byte(testICS)}
	// A line starting with a dot must survive dot-stuffing.
	m.Text = ".leading dot\n" + m.Text
	c, err := Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantFate(t *testing.T, err error, fate Fate, code int) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *SendError %s", err, err, fate)
	}
	if se.Fate != fate || se.Code != code {
		t.Fatalf("SendError = %s code %d (%v), want %s code %d", se.Fate, se.Code, se, fate, code)
	}
	return se
}

func TestSendRawEqualsReceived(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{})
	s := dial(t, smtpConfig(t, srv, "127.0.0.1", "none", "", ""))
	c := composeN(t, 1)
	reply, err := s.Send(t.Context(), c)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !strings.Contains(reply, "queued as Q") {
		t.Errorf("reply = %q, want the server's queue id", reply)
	}
	got := srv.Received()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	if !bytes.Equal(got[0].Data, c.Raw) {
		t.Errorf("received bytes differ from Raw:\nraw:\n%s\nreceived:\n%s", c.Raw, got[0].Data)
	}
	if got[0].From != "sam@example.com" || strings.Join(got[0].Rcpts, ",") != "jane@example.org,kim@example.net,dad@example.net" {
		t.Errorf("envelope = %s -> %v", got[0].From, got[0].Rcpts)
	}
}

func TestStartTLSAuth(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: testPass}})
	s := dial(t, smtpConfig(t, srv, "localhost", "starttls", testUser, testPass))
	if err := s.Verify(t.Context()); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	c := composeN(t, 1)
	if _, err := s.Send(t.Context(), c); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := srv.Received(); len(got) != 1 || !bytes.Equal(got[0].Data, c.Raw) {
		t.Fatalf("received %d messages (or different bytes)", len(got))
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, ImplicitTLS: true, Users: map[string]string{testUser: testPass}})
	cfg := smtpConfig(t, srv, "127.0.0.1", "implicit", testUser, testPass)
	if err := NewClient(cfg, nil).Verify(t.Context()); err != nil {
		t.Fatalf("Client.Verify: %v", err)
	}
	s := dial(t, cfg)
	if _, err := s.Send(t.Context(), composeN(t, 1)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if n := len(srv.Received()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}
}

func TestTLSUntrustedCert(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true})
	for _, mode := range []string{"starttls"} {
		cfg := smtpConfig(t, srv, "localhost", mode, "", "")
		cfg.CAFile = ""
		_, err := NewClient(cfg, nil).Dial(t.Context())
		se := wantFate(t, err, Temporary, 0)
		if !strings.Contains(se.Error(), "smtp.ca_file") {
			t.Errorf("error %q does not point at smtp.ca_file", se)
		}
	}
	impl := startSandbox(t, sandbox.SMTPOptions{TLS: true, ImplicitTLS: true})
	cfg := smtpConfig(t, impl, "127.0.0.1", "implicit", "", "")
	cfg.CAFile = ""
	_, err := NewClient(cfg, nil).Dial(t.Context())
	wantFate(t, err, Temporary, 0)
}

func TestStartTLSRequired(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{}) // offers no STARTTLS
	_, err := NewClient(smtpConfig(t, srv, "127.0.0.1", "starttls", "", ""), nil).Dial(t.Context())
	se := wantFate(t, err, Temporary, 0)
	if !strings.Contains(se.Error(), "STARTTLS") {
		t.Errorf("error = %v, want it to name STARTTLS", se)
	}
	if n := len(srv.Received()); n != 0 {
		t.Errorf("received %d", n)
	}
}

func TestTLSNoneOnlyLoopback(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{Users: map[string]string{testUser: testPass}})
	for _, host := range []string{"127.0.0.1", "localhost"} {
		s := dial(t, smtpConfig(t, srv, host, "none", testUser, testPass))
		if _, err := s.Send(t.Context(), composeN(t, 1)); err != nil {
			t.Fatalf("Send via %s: %v", host, err)
		}
	}
	for _, host := range []string{"smtp.example.com", "192.0.2.1"} {
		before := srv.Connections()
		cfg := smtpConfig(t, srv, host, "none", testUser, testPass)
		_, err := NewClient(cfg, nil).Dial(t.Context())
		if err == nil || !strings.Contains(err.Error(), "smtp.tls") {
			t.Errorf("Dial(tls=none, host=%s) = %v, want an error naming smtp.tls", host, err)
		}
		if srv.Connections() != before {
			t.Errorf("a refused config still connected")
		}
	}
}

func TestWrongPassword(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: testPass}})
	cfg := smtpConfig(t, srv, "localhost", "starttls", testUser, "")
	cfg.PasswordCmd = "echo wrong"
	_, err := NewClient(cfg, nil).Dial(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("Dial error = %v (%T), want *AuthError", err, err)
	}
	msg := ae.Error()
	for _, want := range []string{"smtp login as sam@example.com on localhost:", "refused", "535", "(check smtp.password_cmd)"} {
		if !strings.Contains(msg, want) {
			t.Errorf("AuthError %q lacks %q", msg, want)
		}
	}
}

func TestXOAuth2(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: "tok-123"}})
	cfg := smtpConfig(t, srv, "localhost", "starttls", testUser, "")
	cfg.Auth = config.AuthXOAuth2
	cfg.TokenCmd = "echo tok-123"
	s := dial(t, cfg)
	if _, err := s.Send(t.Context(), composeN(t, 1)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	cfg.TokenCmd = "echo expired"
	_, err := NewClient(cfg, nil).Dial(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "smtp.token_cmd") {
		t.Fatalf("Dial with a bad token = %v, want *AuthError naming smtp.token_cmd", err)
	}
}

func TestSendFates(t *testing.T) {
	cases := []struct {
		name     string
		fault    sandbox.Fault
		fate     Fate
		code     int
		words    string // in the error text
		rcpt     string
		received int // messages the server recorded
	}{
		{"421 at MAIL", sandbox.Fault{Stage: "mail", Code: 421}, Temporary, 421, "Service not available", "", 0},
		{"450 at MAIL", sandbox.Fault{Stage: "mail", Code: 450}, Temporary, 450, "temporarily unavailable", "", 0},
		{"451 after DATA", sandbox.Fault{Stage: "data", Code: 451}, Temporary, 451, "Local error", "", 0},
		{"550 at MAIL", sandbox.Fault{Stage: "mail", Code: 550, Text: "Sender address rejected: not owned by user"}, Permanent, 550, "not owned by user", "", 0},
		{"550 at RCPT", sandbox.Fault{Stage: "rcpt", Code: 550}, Permanent, 550, "Mailbox unavailable", "jane@example.org", 0},
		{"rejected recipient", sandbox.Fault{Stage: "rcpt", Code: 550, Rcpt: "kim@example.net"}, Permanent, 550, "<kim@example.net>: Recipient address rejected: User unknown", "kim@example.net", 0},
		{"554 after DATA", sandbox.Fault{Stage: "data", Code: 554}, Permanent, 554, "rejected as spam", "", 0},
		{"drop mid-DATA", sandbox.Fault{DropMidData: true}, Uncertain, 0, "may have been delivered", "", 0},
		{"drop after DATA", sandbox.Fault{DropAfterData: true}, Uncertain, 0, "may have been delivered", "", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startSandbox(t, sandbox.SMTPOptions{})
			s := dial(t, smtpConfig(t, srv, "127.0.0.1", "none", "", ""))
			srv.Fail(tc.fault)
			reply, err := s.Send(t.Context(), composeN(t, 1))
			se := wantFate(t, err, tc.fate, tc.code)
			if reply != "" {
				t.Errorf("reply = %q on failure", reply)
			}
			if !strings.Contains(se.Error(), tc.words) {
				t.Errorf("error %q lacks the server's words %q", se, tc.words)
			}
			if se.Rcpt != tc.rcpt {
				t.Errorf("Rcpt = %q, want %q", se.Rcpt, tc.rcpt)
			}
			if n := len(srv.Received()); n != tc.received {
				t.Errorf("server recorded %d messages, want %d", n, tc.received)
			}
			// A refusal by reply leaves the session usable, except after a 421.
			if tc.code >= 450 {
				if _, err := s.Send(t.Context(), composeN(t, 2)); err != nil {
					t.Errorf("next Send on the same session: %v", err)
				}
				if srv.Connections() != 1 {
					t.Errorf("%d connections, want 1", srv.Connections())
				}
			} else {
				_, err := s.Send(t.Context(), composeN(t, 2))
				wantFate(t, err, Temporary, 0)
			}
		})
	}
}

func TestRedialAfter421(t *testing.T) {
	// A 421 to the first MAIL of a fresh connection is what a busy server
	// looks like; redialing then works.
	srv := startSandbox(t, sandbox.SMTPOptions{})
	cfg := smtpConfig(t, srv, "127.0.0.1", "none", "", "")
	srv.Fail(sandbox.Fault{Stage: "mail", Code: 421, Times: 1})
	s := dial(t, cfg)
	_, err := s.Send(t.Context(), composeN(t, 1))
	wantFate(t, err, Temporary, 421)
	_ = s.Close()
	s = dial(t, cfg)
	if _, err := s.Send(t.Context(), composeN(t, 1)); err != nil {
		t.Fatalf("Send after redial: %v", err)
	}
}

func TestSessionReusesOneConnection(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: testPass}})
	s := dial(t, smtpConfig(t, srv, "localhost", "starttls", testUser, testPass))
	var raws [][]byte
	for i := range 5 {
		c := composeN(t, i)
		raws = append(raws, c.Raw)
		if _, err := s.Send(t.Context(), c); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	got := srv.Received()
	if len(got) != 5 {
		t.Fatalf("received %d, want 5", len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i].Data, raws[i]) {
			t.Errorf("message %d: received bytes differ from Raw", i)
		}
	}
	if n := srv.Connections(); n != 1 {
		t.Errorf("Connections() = %d, want 1", n)
	}
}

func TestCancelAbortsHungSession(t *testing.T) {
	cases := []struct {
		stage string
		fate  Fate
	}{
		{"mail", Temporary},
		{"rcpt", Temporary},
		{"data", Uncertain}, // hangs after the whole message arrived
	}
	for _, tc := range cases {
		t.Run(tc.stage, func(t *testing.T) {
			srv := startSandbox(t, sandbox.SMTPOptions{})
			s := dial(t, smtpConfig(t, srv, "127.0.0.1", "none", "", ""))
			srv.Fail(sandbox.Fault{Stage: tc.stage, Hang: true})
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := s.Send(ctx, composeN(t, 1))
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("Send returned before cancel: %v", err)
			case <-time.After(50 * time.Millisecond):
			}
			cancel()
			err := <-done
			se := wantFate(t, err, tc.fate, 0)
			if !errors.Is(se, context.Canceled) {
				t.Errorf("error %v does not wrap context.Canceled", se)
			}
		})
	}
}

func TestCancelAbortsHungDial(t *testing.T) {
	// A server that accepts and never greets.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.Atoi(port)
	cfg := config.SMTP{Server: config.Server{Host: "127.0.0.1", Port: p, TLS: "none", Timeout: "1h"}}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = NewClient(cfg, nil).Dial(ctx)
	se := wantFate(t, err, Temporary, 0)
	if !errors.Is(se, context.Canceled) {
		t.Errorf("Dial error %v does not wrap context.Canceled", se)
	}
}

func BenchmarkComposeSend(b *testing.B) {
	srv := startSandbox(b, sandbox.SMTPOptions{})
	s := dial(b, smtpConfig(b, srv, "127.0.0.1", "none", "", ""))
	m := baseMessage()
	m.Calendar = &CalendarPart{Method: "REQUEST", Data: []byte(testICS)}
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		m.MessageID = "bench." + strconv.Itoa(i) + "@example.com"
		c, err := Compose(m)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Send(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	if n := srv.Connections(); n != 1 {
		b.Fatalf("%d connections, want 1", n)
	}
}

func TestAuthMechanisms(t *testing.T) {
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		t.Run(mech, func(t *testing.T) {
			srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: testPass}, Mechanisms: []string{mech}})
			s := dial(t, smtpConfig(t, srv, "localhost", "starttls", testUser, testPass))
			if _, err := s.Send(t.Context(), composeN(t, 1)); err != nil {
				t.Fatalf("Send: %v", err)
			}
		})
	}
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: testPass}, Mechanisms: []string{"XOAUTH2"}})
	_, err := NewClient(smtpConfig(t, srv, "localhost", "starttls", testUser, testPass), nil).Dial(t.Context())
	var ae *AuthError
	if !errors.As(err, &ae) || !strings.Contains(ae.Error(), "neither AUTH PLAIN nor AUTH LOGIN") {
		t.Fatalf("Dial to a server without PLAIN/LOGIN = %v, want *AuthError saying so", err)
	}
}

func TestNoAuthWithoutUsername(t *testing.T) {
	// The server requires AUTH; with no username the client must not try, and
	// MAIL is refused with the server's words.
	srv := startSandbox(t, sandbox.SMTPOptions{TLS: true, Users: map[string]string{testUser: testPass}})
	s := dial(t, smtpConfig(t, srv, "localhost", "starttls", "", ""))
	_, err := s.Send(t.Context(), composeN(t, 1))
	se := wantFate(t, err, Permanent, 502)
	if !strings.Contains(se.Error(), "authenticate") {
		t.Errorf("error %q lacks the server's words", se)
	}
}

func TestSendRefusesBadEnvelope(t *testing.T) {
	srv := startSandbox(t, sandbox.SMTPOptions{})
	s := dial(t, smtpConfig(t, srv, "127.0.0.1", "none", "", ""))
	good := composeN(t, 1)
	for _, c := range []*Composed{
		{Raw: good.Raw, From: "sam@example.com\r\nRCPT TO:<evil@example.com>", Rcpts: good.Rcpts},
		{Raw: good.Raw, From: good.From, Rcpts: []string{"jane@example.org> NOTIFY=NEVER"}},
		{Raw: good.Raw, From: good.From},
	} {
		_, err := s.Send(t.Context(), c)
		wantFate(t, err, Permanent, 0)
	}
	if _, err := s.Send(t.Context(), good); err != nil {
		t.Fatalf("the session broke on a refused envelope: %v", err)
	}
	if n := len(srv.Received()); n != 1 {
		t.Errorf("received %d, want 1", n)
	}
}
