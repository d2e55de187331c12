package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSecret(t *testing.T) {
	env := Env(func(k string) string {
		if k == "CC_TEST_PW" {
			return "from-env"
		}
		return ""
	})
	smtp := func(s Server) Server { s.section = "smtp"; return s.WithEnv(env) }
	tests := []struct {
		name    string
		s       Server
		want    string
		wantErr string
	}{
		{"cmd", smtp(Server{PasswordCmd: "printf 'hunter2\\nsecond line\\n'", PasswordEnv: "CC_TEST_PW", Password: "lit"}), "hunter2", ""},
		{"cmd trimmed", smtp(Server{PasswordCmd: "echo '  spaced  '"}), "spaced", ""},
		{"env", smtp(Server{PasswordEnv: "CC_TEST_PW", Password: "lit"}), "from-env", ""},
		{"env unset", smtp(Server{PasswordEnv: "CC_UNSET"}), "", "smtp.password_env: environment variable CC_UNSET is empty or unset"},
		{"literal", smtp(Server{Password: "lit"}), "lit", ""},
		{"token", smtp(Server{Auth: AuthXOAuth2, TokenCmd: "echo tok123", PasswordCmd: "echo nope"}), "tok123", ""},
		{"token missing", smtp(Server{Auth: AuthXOAuth2, PasswordCmd: "echo nope"}), "", "smtp.token_cmd: required"},
		{"failing cmd", smtp(Server{PasswordCmd: "echo 'gpg: decryption failed' >&2; exit 1"}), "", "smtp.password_cmd: exit status 1: gpg: decryption failed"},
		{"empty output", smtp(Server{PasswordCmd: "true"}), "", "smtp.password_cmd: command printed nothing"},
		{"none", smtp(Server{}), "", "smtp: no password_cmd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Secret(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Secret() error = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Secret() = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestSecretContextCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s := Server{section: "imap", PasswordCmd: "sleep 30"}
	_, err := s.Secret(ctx)
	if err == nil || !strings.Contains(err.Error(), "imap.password_cmd") || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Secret() error = %v, want imap.password_cmd deadline", err)
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	s := Server{section: "imap", Host: "mail.example.test", Port: 993}
	c, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerName != "mail.example.test" || c.MinVersion != 0x0303 || c.RootCAs == nil {
		t.Fatalf("TLSConfig() = %+v", c)
	}

	s.CAFile = filepath.Join(dir, "missing.pem")
	if _, err := s.TLSConfig(); err == nil || !strings.Contains(err.Error(), "imap.ca_file") {
		t.Fatalf("TLSConfig() with missing ca_file: err = %v", err)
	}
	s.CAFile = filepath.Join(dir, "junk.pem")
	os.WriteFile(s.CAFile, []byte("not a cert"), 0o600)
	if _, err := s.TLSConfig(); err == nil || !strings.Contains(err.Error(), "imap.ca_file") {
		t.Fatalf("TLSConfig() with junk ca_file: err = %v", err)
	}

	// A self-signed CA in ca_file must be trusted.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "coffeechat test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	s.CAFile = filepath.Join(dir, "ca.pem")
	os.WriteFile(s.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	c, err = s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: c.RootCAs}); err != nil {
		t.Fatalf("ca_file certificate not in RootCAs: %v", err)
	}
}

func TestAddrTimeout(t *testing.T) {
	s := Server{Host: "::1", Port: 587}
	if got := s.Addr(); got != "[::1]:587" {
		t.Errorf("Addr() = %q", got)
	}
	if got := s.DialTimeout(); got != DefaultTimeout {
		t.Errorf("DialTimeout() = %v, want %v", got, DefaultTimeout)
	}
	s.Timeout = "45s"
	if got := s.DialTimeout(); got != 45*time.Second {
		t.Errorf("DialTimeout() = %v, want 45s", got)
	}
}
