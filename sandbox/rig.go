package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Rig describes the real servers that scripts/mailrig runs on loopback: Postfix
// (SMTP with STARTTLS and implicit TLS, both with AUTH; an MX port without AUTH), Dovecot (IMAP with STARTTLS,
// IMAPS) and Radicale (CalDAV). Any user of Domain logs in with Password. Postfix
// refuses recipients named nouser-*@Domain with 550 and tempfail-*@Domain with 450,
// and bounces mail for any other domain back to the sender.
type Rig struct {
	SMTP     string // host:port, STARTTLS then AUTH
	SMTPS    string // host:port, implicit TLS
	MX       string // host:port, inbound mail without AUTH (works while Dovecot is down)
	IMAP     string // host:port, STARTTLS
	IMAPS    string // host:port, implicit TLS
	CAFile   string // PEM of the CA that signed every server's certificate
	Password string // the password of every user
	Domain   string // the only domain the rig delivers to
	CalDAV   string // base URL of the CalDAV server
	MailDir  string // root of the Maildirs: MailDir/<domain>/<user>/Maildir
	Ctl      string // absolute path of scripts/mailrig

	dir  string   // the rig's folder, where the outage lock lives
	lock *os.File // shared outage lock held for the test's lifetime

	dovecotDown bool // StopDovecot ran and StartDovecot has not
}

// Environment variables written by scripts/mailrig start into .rig/env.
const (
	envRig      = "COFFEECHAT_RIG" // "required": a missing rig fails instead of skipping
	envSMTP     = "COFFEECHAT_RIG_SMTP"
	envSMTPS    = "COFFEECHAT_RIG_SMTPS"
	envMX       = "COFFEECHAT_RIG_MX"
	envIMAP     = "COFFEECHAT_RIG_IMAP"
	envIMAPS    = "COFFEECHAT_RIG_IMAPS"
	envCA       = "COFFEECHAT_RIG_CA"
	envPassword = "COFFEECHAT_RIG_PASSWORD"
	envDomain   = "COFFEECHAT_RIG_DOMAIN"
	envCalDAV   = "COFFEECHAT_RIG_CALDAV"
	envMailDir  = "COFFEECHAT_RIG_MAILDIR"
	envCtl      = "COFFEECHAT_RIG_CTL"
	envDir      = "COFFEECHAT_RIG_DIR"
)

// outageLockName is the file, in the rig's folder, that keeps outage tests (which
// stop Dovecot) from running while a test of another package uses the rig: every
// Rig holds a shared lock on it for its test's lifetime, StopDovecot an exclusive one.
const outageLockName = "outage.lock"

// RigFromEnv returns the rig described by the COFFEECHAT_RIG_* variables. It skips
// the test when COFFEECHAT_RIG_SMTP is unset, unless COFFEECHAT_RIG=required, where
// it fails the test instead.
//
// The Rig holds a shared lock until the test ends, so that an outage test
// (StopDovecot) waits for it: call t.Parallel before RigFromEnv, not after, and call
// RigFromEnv once per test, or an outage test can wait on a paused test for minutes.
func RigFromEnv(t testing.TB) *Rig {
	t.Helper()
	if os.Getenv(envSMTP) == "" {
		const why = "no real-server rig: run scripts/test as root, or scripts/mailrig start and source .rig/env"
		if os.Getenv(envRig) == "required" {
			t.Fatalf("COFFEECHAT_RIG=required but %s is unset: %s", envSMTP, why)
		}
		t.Skip(why)
	}
	r := &Rig{
		SMTP:     os.Getenv(envSMTP),
		SMTPS:    os.Getenv(envSMTPS),
		MX:       os.Getenv(envMX),
		IMAP:     os.Getenv(envIMAP),
		IMAPS:    os.Getenv(envIMAPS),
		CAFile:   os.Getenv(envCA),
		Password: os.Getenv(envPassword),
		Domain:   os.Getenv(envDomain),
		CalDAV:   os.Getenv(envCalDAV),
		MailDir:  os.Getenv(envMailDir),
		Ctl:      os.Getenv(envCtl),
		dir:      os.Getenv(envDir),
	}
	var missing []string
	for _, v := range []struct{ name, val string }{
		{envSMTPS, r.SMTPS}, {envMX, r.MX}, {envIMAP, r.IMAP}, {envIMAPS, r.IMAPS}, {envCA, r.CAFile},
		{envPassword, r.Password}, {envDomain, r.Domain}, {envCtl, r.Ctl},
	} {
		if v.val == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("rig environment incomplete: %s unset (source .rig/env)", strings.Join(missing, ", "))
	}
	if r.dir != "" {
		f, err := lockFile(t, filepath.Join(r.dir, outageLockName), syscall.LOCK_SH)
		if err != nil {
			t.Fatalf("rig: %v", err)
		}
		r.lock = f
		t.Cleanup(func() { r.unlock() })
	}
	return r
}

// User returns a fresh address of the rig's domain, unique to this run, such as
// "alice-1f3a9c0d2b@example.test", so that tests never see each other's mail. name
// must be a plain local part (letters, digits, '-', '.', '_').
func (r *Rig) User(t testing.TB, name string) string {
	t.Helper()
	if name == "" || strings.IndexFunc(name, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_')
	}) >= 0 {
		t.Fatalf("rig user name %q: want letters, digits, '-', '.', '_'", name)
	}
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("rig user name: %v", err)
	}
	return fmt.Sprintf("%s-%x@%s", strings.ToLower(name), b, r.Domain)
}

// CAPool returns a pool holding the rig's CA, for tls.Config.RootCAs.
func (r *Rig) CAPool(t testing.TB) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatalf("read rig CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("rig CA %s: no certificate in it", r.CAFile)
	}
	return pool
}

// StopDovecot stops the rig's Dovecot (IMAP, LMTP and the SMTP AUTH backend), for
// outage tests. While it is down the AUTH ports drop every client (Postfix
// authenticates through Dovecot); mail to the MX port is queued and delivered once
// Dovecot is back. It first waits until no test of another package uses the rig, and
// keeps them out until StartDovecot or the end of the test, which starts Dovecot
// again if the test did not.
func (r *Rig) StopDovecot(t testing.TB) {
	t.Helper()
	if r.dir != "" && r.lock != nil {
		// Trade this test's shared lock for an exclusive one.
		r.unlock()
		f, err := lockFile(t, filepath.Join(r.dir, outageLockName), syscall.LOCK_EX)
		if err != nil {
			t.Fatalf("rig: %v", err)
		}
		r.lock = f
	}
	r.dovecotDown = true
	t.Cleanup(func() {
		if r.dovecotDown {
			if err := r.ctl("start-dovecot"); err != nil {
				t.Errorf("rig: restart dovecot after the test: %v", err)
			}
		}
	})
	if err := r.ctl("stop-dovecot"); err != nil {
		t.Fatalf("rig: %v", err)
	}
}

// StartDovecot starts the rig's Dovecot again after StopDovecot and waits until it
// greets.
func (r *Rig) StartDovecot(t testing.TB) {
	t.Helper()
	if err := r.ctl("start-dovecot"); err != nil {
		t.Fatalf("rig: %v", err)
	}
	r.dovecotDown = false
}

// ctl runs scripts/mailrig with one subcommand. The script sends the daemons'
// output to files, so waiting for its output cannot hang on a daemon.
func (r *Rig) ctl(sub string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, r.Ctl, sub)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", r.Ctl, sub, err, out)
	}
	return nil
}

func (r *Rig) unlock() {
	if r.lock != nil {
		r.lock.Close() // closing the descriptor drops the flock
		r.lock = nil
	}
}

// lockFile opens path and takes a flock of the given kind on it, waiting up to
// five minutes for other holders.
func lockFile(t testing.TB, path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("open outage lock: %w", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	logged := false
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("lock %s: still held by another test after 5 minutes", path)
		}
		if !logged {
			t.Logf("rig: waiting for %s (an outage test, or the tests it waits for)", path)
			logged = true
		}
		time.Sleep(50 * time.Millisecond)
	}
}
