package sandbox

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// rigSend sends one message with a fresh Message-ID from from to to over the SMTP
// port addr with STARTTLS, authenticating as from unless password is empty.
func rigSend(t *testing.T, r *Rig, addr, from, to, password string) (msgID string, err error) {
	t.Helper()
	msgID = fmt.Sprintf("%s.rigtest@coffeechat.test", strings.TrimSuffix(r.User(t, "id"), "@"+r.Domain))
	c, err := smtp.Dial(addr)
	if err != nil {
		return "", fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(addr)
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: r.CAPool(t)}); err != nil {
		return "", fmt.Errorf("starttls: %w", err)
	}
	if password != "" {
		if err := c.Auth(smtp.PlainAuth("", from, password, host)); err != nil {
			return "", fmt.Errorf("auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return "", fmt.Errorf("mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return "", fmt.Errorf("rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return "", fmt.Errorf("data: %w", err)
	}
	fmt.Fprintf(w, "From: <%s>\r\nTo: <%s>\r\nSubject: rig smoke\r\nMessage-ID: <%s>\r\n"+
		"Date: %s\r\n\r\nHello from the rig test.\r\n", from, to, msgID, time.Now().Format(time.RFC1123Z))
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("end data: %w", err)
	}
	return msgID, c.Quit()
}

func rigIMAP(t *testing.T, r *Rig, user, password string) (*imapclient.Client, error) {
	t.Helper()
	c, err := imapclient.DialTLS(r.IMAPS, &imapclient.Options{
		TLSConfig: &tls.Config{ServerName: "localhost", RootCAs: r.CAPool(t)},
	})
	if err != nil {
		return nil, fmt.Errorf("dial imaps: %w", err)
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, fmt.Errorf("login: %w", err)
	}
	return c, nil
}

// waitForMessage polls the user's INBOX until a message with msgID shows up.
func waitForMessage(t *testing.T, r *Rig, user, msgID string, within time.Duration) {
	t.Helper()
	c, err := rigIMAP(t, r, user, r.Password)
	if err != nil {
		t.Fatalf("imap: %v", err)
	}
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		if _, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			t.Fatalf("select INBOX: %v", err)
		}
		data, err := c.UIDSearch(&imap.SearchCriteria{
			Header: []imap.SearchCriteriaHeaderField{{Key: "Message-ID", Value: msgID}},
		}, nil).Wait()
		if err != nil {
			t.Fatalf("search: %v", err)
		}
		if len(data.AllUIDs()) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("message <%s> not in %s's INBOX after %v (see the rig's logs)", msgID, user, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRigDeliversToIMAP(t *testing.T) {
	t.Parallel()
	r := RigFromEnv(t)
	from, to := r.User(t, "alice"), r.User(t, "bob")
	if from == to {
		t.Fatalf("User gave %s twice", from)
	}
	msgID, err := rigSend(t, r, r.SMTP, from, to, r.Password)
	if err != nil {
		t.Fatalf("send over %s: %v", r.SMTP, err)
	}
	waitForMessage(t, r, to, msgID, 10*time.Second)
}

func TestRigImplicitTLSSubmission(t *testing.T) {
	t.Parallel()
	r := RigFromEnv(t)
	conn, err := tls.Dial("tcp", r.SMTPS, &tls.Config{ServerName: "localhost", RootCAs: r.CAPool(t)})
	if err != nil {
		t.Fatalf("dial %s: %v", r.SMTPS, err)
	}
	c, err := smtp.NewClient(conn, "localhost")
	if err != nil {
		t.Fatalf("smtp over TLS: %v", err)
	}
	defer c.Close()
	user := r.User(t, "carol")
	if err := c.Auth(smtp.PlainAuth("", user, r.Password, "localhost")); err != nil {
		t.Fatalf("auth over implicit TLS: %v", err)
	}
}

func TestRigRefusesWrongPassword(t *testing.T) {
	t.Parallel()
	r := RigFromEnv(t)
	user := r.User(t, "mallory")
	if _, err := rigSend(t, r, r.SMTP, user, r.User(t, "bob"), "wrong"); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Errorf("SMTP AUTH with a wrong password: got %v, want an auth error", err)
	}
	if c, err := rigIMAP(t, r, user, "wrong"); err == nil {
		c.Close()
		t.Errorf("IMAP LOGIN with a wrong password succeeded")
	}
	if c, err := rigIMAP(t, r, "eve@elsewhere.test", r.Password); err == nil {
		c.Close()
		t.Errorf("IMAP LOGIN of a user outside %s succeeded", r.Domain)
	}
}

func TestRigRefusesMarkedRecipients(t *testing.T) {
	t.Parallel()
	r := RigFromEnv(t)
	from := r.User(t, "alice")
	for _, tc := range []struct{ name, code string }{{"nouser", "550"}, {"tempfail", "450"}} {
		_, err := rigSend(t, r, r.SMTP, from, r.User(t, tc.name), r.Password)
		if err == nil || !strings.Contains(err.Error(), tc.code) {
			t.Errorf("recipient %s-*: got %v, want %s", tc.name, err, tc.code)
		}
	}
}

// TestRigDovecotOutage stops Dovecot: IMAP is refused, mail sent meanwhile to the MX
// port waits in Postfix's queue and arrives once Dovecot is back.
func TestRigDovecotOutage(t *testing.T) {
	r := RigFromEnv(t)
	to := r.User(t, "dave")
	r.StopDovecot(t)
	if c, err := rigIMAP(t, r, to, r.Password); err == nil {
		c.Close()
		t.Fatalf("IMAP login worked while Dovecot was stopped")
	}
	msgID, err := rigSend(t, r, r.MX, "erin@elsewhere.test", to, "")
	if err != nil {
		t.Fatalf("send while Dovecot is down: %v", err)
	}
	r.StartDovecot(t)
	waitForMessage(t, r, to, msgID, 20*time.Second)
}

func TestRigCalDAVAnswers(t *testing.T) {
	t.Parallel()
	r := RigFromEnv(t)
	if r.CalDAV == "" {
		t.Skip("radicale is not installed: no CalDAV in the rig")
	}
	user := r.User(t, "frank")
	req, err := http.NewRequestWithContext(t.Context(), "PROPFIND", r.CalDAV+user+"/", strings.NewReader(
		`<?xml version="1.0"?><propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Depth", "0")
	req.Header.Set("Content-Type", "application/xml")
	req.SetBasicAuth(user, r.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PROPFIND %s: %v", req.URL, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %s, want 207", req.URL, resp.Status)
	}
}
