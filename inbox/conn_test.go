package inbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/sandbox"
)

func TestDialTLSModes(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{TLS: true})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, srv.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		mode, addr string
	}{
		{config.TLSStartTLS, srv.Addr},
		{config.TLSImplicit, srv.TLSAddr},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			cfg := imapConfig(t, tc.addr)
			cfg.Host = "localhost" // the certificate names localhost
			cfg.TLS = tc.mode
			cfg.CAFile = ca
			c, err := Dial(ctx, cfg, testLogger(t))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			if err := c.CheckIdle(ctx); err != nil {
				t.Errorf("CheckIdle: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}

			cfg.CAFile = ""
			_, err = Dial(ctx, cfg, testLogger(t))
			if err == nil || !strings.Contains(err.Error(), "imap.ca_file") {
				t.Errorf("Dial without the CA = %v, want an error pointing at imap.ca_file", err)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	ctx := context.Background()

	cfg := imapConfig(t, srv.Addr)
	cfg.Password = "wrong"
	_, err := Dial(ctx, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), testUser) || !strings.Contains(err.Error(), "imap.username") {
		t.Errorf("Dial with a wrong password = %v, want an error naming the account and imap.username", err)
	}

	cfg = imapConfig(t, srv.Addr)
	cfg.Host = "imap.example.com"
	_, err = Dial(ctx, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("Dial tls=none to a remote host = %v, want a refusal naming loopback", err)
	}

	// Nothing listens: the error says what to check.
	cfg = imapConfig(t, srv.Addr)
	srv.Close()
	_, err = Dial(ctx, cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "imap.port") {
		t.Errorf("Dial to a closed port = %v, want an error naming imap.host/imap.port", err)
	}
}

func TestDialXOAUTH2Refused(t *testing.T) {
	// The sandbox offers no XOAUTH2: the server refuses, and the error says
	// what to check.
	srv := startServer(t, sandbox.IMAPOptions{})
	cfg := imapConfig(t, srv.Addr)
	cfg.Auth = config.AuthXOAuth2
	cfg.TokenCmd = "echo tok"
	_, err := Dial(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "token_cmd") || !strings.Contains(err.Error(), "AUTHENTICATE XOAUTH2") {
		t.Errorf("Dial xoauth2 = %v, want a refused AUTHENTICATE XOAUTH2 naming token_cmd", err)
	}
}

func TestXOAUTH2Initial(t *testing.T) {
	x := &xoauth2{user: "sam@example.com", token: "ya29.tok"}
	mech, ir, err := x.Start()
	if mech != "XOAUTH2" || err != nil || string(ir) != "user=sam@example.com\x01auth=Bearer ya29.tok\x01\x01" {
		t.Errorf("Start() = %q, %q, %v", mech, ir, err)
	}
	resp, _ := x.Next([]byte(`{"status":"401"}`))
	if len(resp) != 0 || !strings.Contains(x.detail, "401") {
		t.Errorf("Next() = %q (detail %q), want an empty answer and the detail kept", resp, x.detail)
	}
}

func TestWatchdogClosesStalledCommand(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	proxy, err := sandbox.StartProxy(context.Background(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	cfg := imapConfig(t, proxy.Addr)
	cfg.Timeout = "300ms"
	c, err := Dial(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	proxy.Stall(true)
	done := make(chan error, 1)
	go func() {
		_, err := c.SentFolder(context.Background(), "")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) {
			t.Errorf("SentFolder on a stalled server = %v, want ErrTimeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a command on a stalled server never returned")
	}
	select {
	case <-c.Closed():
	case <-time.After(5 * time.Second):
		t.Error("the connection stayed open after the watchdog fired")
	}
	// Later commands fail at once.
	if err := c.AppendSent(context.Background(), "Sent", []byte("x"), time.Time{}); err == nil {
		t.Error("AppendSent on a closed connection succeeded")
	}
}
