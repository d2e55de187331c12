package sandbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const testMsg = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\n.dot line\r\nbody\r\n"

func start(t *testing.T, opts SMTPOptions) *SMTPServer {
	t.Helper()
	s, err := StartSMTP(t.Context(), opts)
	if err != nil {
		t.Fatalf("StartSMTP: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func clientTLS(t *testing.T, s *SMTPServer, name string) *tls.Config {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	return &tls.Config{RootCAs: pool, ServerName: name}
}

func send(c *smtp.Client, from string, to ...string) error {
	return c.SendMail(from, to, strings.NewReader(testMsg))
}

func TestRecordsAndDelivers(t *testing.T) {
	var delivered []string
	s := start(t, SMTPOptions{Deliver: func(from string, rcpts []string, data []byte) error {
		delivered = append(delivered, from+">"+strings.Join(rcpts, ","))
		return nil
	}})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		if err := send(c, "a@example.com", "b@example.com", "c@example.com"); err != nil {
			t.Fatalf("SendMail: %v", err)
		}
	}
	got := s.Received()
	if len(got) != 2 || string(got[0].Data) != testMsg || got[0].From != "a@example.com" || len(got[0].Rcpts) != 2 || got[0].At.IsZero() {
		t.Fatalf("Received() = %+v", got)
	}
	if len(delivered) != 2 || delivered[0] != "a@example.com>b@example.com,c@example.com" {
		t.Errorf("Deliver calls = %q", delivered)
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections() = %d, want 1", n)
	}
}

func TestDeliverErrorIsTemporary(t *testing.T) {
	s := start(t, SMTPOptions{Deliver: func(string, []string, []byte) error { return errors.New("mailbox full") }})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var se *smtp.SMTPError
	if err := send(c, "a@example.com", "b@example.com"); !errors.As(err, &se) || se.Code != 451 || !strings.Contains(se.Message, "mailbox full") {
		t.Fatalf("SendMail = %v, want 451 naming the delivery error", err)
	}
}

func TestAuthAndSTARTTLS(t *testing.T) {
	s := start(t, SMTPOptions{TLS: true, Users: map[string]string{"u@example.com": "pw"}})
	for _, name := range []string{"localhost", "127.0.0.1"} {
		c, err := smtp.DialStartTLS(s.Addr, clientTLS(t, s, name))
		if err != nil {
			t.Fatalf("DialStartTLS(%s): %v", name, err)
		}
		if err := send(c, "a@example.com", "b@example.com"); err == nil {
			t.Errorf("MAIL without AUTH accepted")
		}
		if err := c.Auth(sasl.NewPlainClient("", "u@example.com", "bad")); err == nil {
			t.Errorf("wrong password accepted")
		}
		c.Close()
		c, err = smtp.DialStartTLS(s.Addr, clientTLS(t, s, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sasl.NewPlainClient("", "u@example.com", "pw")); err != nil {
			t.Fatalf("Auth: %v", err)
		}
		if err := send(c, "a@example.com", "b@example.com"); err != nil {
			t.Fatalf("SendMail after AUTH: %v", err)
		}
		c.Close()
	}
	// The certificate is not trusted without CAPEM.
	// (go-smtp shakes hands lazily, at the next command.)
	c, err := smtp.DialStartTLS(s.Addr, &tls.Config{ServerName: "localhost"})
	if err == nil {
		err = c.Noop()
		c.Close()
	}
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Errorf("STARTTLS without the CA = %v, want x509.UnknownAuthorityError", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	s := start(t, SMTPOptions{TLS: true, ImplicitTLS: true})
	c, err := smtp.DialTLS(s.Addr, clientTLS(t, s, "127.0.0.1"))
	if err != nil {
		t.Fatalf("DialTLS: %v", err)
	}
	defer c.Close()
	if err := send(c, "a@example.com", "b@example.com"); err != nil {
		t.Fatal(err)
	}
}

func TestFaults(t *testing.T) {
	s := start(t, SMTPOptions{})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code := func(err error) int {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se.Code
		}
		return 0
	}
	s.Fail(Fault{Stage: "mail", Code: 450, Times: 2})
	s.Fail(Fault{Stage: "rcpt", Code: 550, Rcpt: "BAD@example.com"})
	s.Fail(Fault{Stage: "data", Code: 554, Text: "spam, go away"})
	for i := range 2 {
		if got := code(send(c, "a@example.com", "b@example.com")); got != 450 {
			t.Fatalf("transaction %d: code %d, want 450", i, got)
		}
		_ = c.Reset()
	}
	// The recipient fault only hits its address.
	err = send(c, "a@example.com", "good@example.com", "bad@example.com")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || !strings.Contains(se.Message, "<bad@example.com>: Recipient address rejected") {
		t.Fatalf("rcpt fault = %v", err)
	}
	_ = c.Reset()
	err = send(c, "a@example.com", "b@example.com")
	if !errors.As(err, &se) || se.Code != 554 || se.Message != "spam, go away" {
		t.Fatalf("data fault = %v", err)
	}
	if err := send(c, "a@example.com", "b@example.com"); err != nil {
		t.Fatalf("faults not used up: %v", err)
	}
	if n := len(s.Received()); n != 1 {
		t.Errorf("Received() has %d, want 1", n)
	}
}

func TestDropAfterDataRecords(t *testing.T) {
	s := start(t, SMTPOptions{})
	s.Fail(Fault{DropAfterData: true})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = send(c, "a@example.com", "b@example.com")
	var se *smtp.SMTPError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("SendMail = %v, want a connection error", err)
	}
	if n := len(s.Received()); n != 1 {
		t.Errorf("Received() has %d, want 1", n)
	}
}

func TestDropMidDataDoesNotRecord(t *testing.T) {
	s := start(t, SMTPOptions{})
	s.Fail(Fault{DropMidData: true})
	c, err := smtp.Dial(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("a@example.com", []string{"b@example.com"}, strings.NewReader(testMsg+strings.Repeat("x", 100000)+"\r\n")); err == nil {
		t.Fatal("SendMail succeeded through a dropped connection")
	}
	if n := len(s.Received()); n != 0 {
		t.Errorf("Received() has %d, want 0", n)
	}
}

func TestContextStopsServer(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	s, err := StartSMTP(ctx, SMTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for {
		c, err := smtp.Dial(s.Addr)
		if err != nil {
			break // closed
		}
		c.Close()
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after ctx: %v", err)
	}
}

func TestNewTestCert(t *testing.T) {
	cfg, caPEM, err := NewTestCert()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	leaf := cfg.Certificates[0].Leaf
	for _, name := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool}); err != nil {
			t.Errorf("certificate does not verify for %s: %v", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool}); err == nil {
		t.Errorf("certificate verifies for example.com")
	}
}
