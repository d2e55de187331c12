package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

// doctorRig is a home folder whose config points at in-process SMTP and IMAP
// servers speaking STARTTLS with a self-signed CA.
type doctorRig struct {
	t    *testing.T
	dir  string
	smtp *sandbox.SMTPServer
	imap *sandbox.IMAPServer
	ca   string // the servers' CA certificate file

	// What the config says; tests break one of these.
	smtpPort, imapPort string
	password           string
	passwordEnv        string // set: the config names this variable, given only to the command, instead of password
	caFile             string
}

func newDoctorRig(t *testing.T) *doctorRig {
	t.Helper()
	r := &doctorRig{t: t, dir: t.TempDir(), password: "secret"}
	var err error
	users := map[string]string{runUser: "secret"}
	if r.smtp, err = sandbox.StartSMTP(t.Context(), sandbox.SMTPOptions{TLS: true, Users: users}); err != nil {
		t.Fatal(err)
	}
	if r.imap, err = sandbox.StartIMAP(t.Context(), sandbox.IMAPOptions{TLS: true, Users: users}); err != nil {
		t.Fatal(err)
	}
	// One CA file trusting both servers' certificates.
	r.ca = filepath.Join(r.dir, "ca.pem")
	if err := os.WriteFile(r.ca, append(append([]byte{}, r.smtp.CAPEM...), r.imap.CAPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	r.caFile = r.ca
	_, r.smtpPort, _ = net.SplitHostPort(r.smtp.Addr)
	_, r.imapPort, _ = net.SplitHostPort(r.imap.Addr)
	db, err := store.Open(t.Context(), filepath.Join(r.dir, "data", "coffeechat.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return r
}

func (r *doctorRig) writeConfig() string {
	r.t.Helper()
	path := filepath.Join(r.dir, "coffeechat", "config.toml")
	secret := fmt.Sprintf("password = %q", r.password)
	if r.passwordEnv != "" {
		secret = fmt.Sprintf("password_env = %q", r.passwordEnv)
	}
	conf := fmt.Sprintf(`[account]
name = "Sam Rivera"
email = %[1]q
timezone = "America/Los_Angeles"

[smtp]
host = "127.0.0.1"
port = %[2]s
tls = "starttls"
username = %[1]q
%[4]s
ca_file = %[5]q
timeout = "5s"

[imap]
host = "127.0.0.1"
port = %[3]s
tls = "starttls"
username = %[1]q
%[4]s
ca_file = %[5]q
timeout = "5s"

[store]
path = %[6]q
`, runUser, r.smtpPort, r.imapPort, secret, r.caFile, filepath.Join(r.dir, "data", "coffeechat.db"))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return path
}

// doctor runs `coffeechat doctor --json` and returns the checks by name and
// whether it failed.
func (r *doctorRig) doctor() (map[string]Check, error) {
	r.t.Helper()
	path := r.writeConfig()
	env := map[string]string{"HOME": r.dir, "XDG_CONFIG_HOME": r.dir, "XDG_DATA_HOME": filepath.Join(r.dir, "share")}
	if r.passwordEnv != "" {
		env[r.passwordEnv] = r.password
	}
	var out, errOut bytes.Buffer
	err := run(r.t.Context(), []string{"--config", path, "doctor", "--json"}, func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errOut)
	var checks []Check
	if jerr := json.Unmarshal(out.Bytes(), &checks); jerr != nil {
		r.t.Fatalf("doctor --json printed %q (%v): %v", out.String(), err, jerr)
	}
	byName := map[string]Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	return byName, err
}

func TestDoctorSandboxAllPass(t *testing.T) {
	r := newDoctorRig(t)
	checks, err := r.doctor()
	if err != nil {
		t.Errorf("doctor on a good setup: %v", err)
	}
	for _, name := range []string{"config", "time zone", "templates", "database", "busy calendars", "smtp tcp", "smtp tls",
		"smtp login", "imap tcp", "imap tls", "imap login", "mailbox", "idle", "sent folder"} {
		c, ok := checks[name]
		if !ok || c.Result != checkPass {
			t.Errorf("check %q = %+v, want PASS", name, c)
		}
	}
	if !strings.Contains(checks["sent folder"].Detail, "coffeechat files a copy") {
		t.Errorf("sent folder = %q, want it to say coffeechat files the copy", checks["sent folder"].Detail)
	}

	// The text form: one PASS line per check and no FAIL.
	path := r.writeConfig()
	var out bytes.Buffer
	env := map[string]string{"HOME": r.dir}
	if err := run(t.Context(), []string{"--config", path, "doctor"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("doctor: %v\n%s", err, out.String())
	}
	t.Logf("doctor:\n%s", out.String())
	if strings.Contains(out.String(), "FAIL") || strings.Count(out.String(), "PASS") < 14 {
		t.Errorf("doctor output:\n%s", out.String())
	}
}

// TestDoctorPasswordEnvFromTheCommandsEnvironment: password_env is looked up
// in the environment the command was given, as every other variable is (the
// config's paths, HOME), not in the process's own.
func TestDoctorPasswordEnvFromTheCommandsEnvironment(t *testing.T) {
	r := newDoctorRig(t)
	r.passwordEnv = "COFFEECHAT_DOCTOR_TEST_PASSWORD"
	checks, err := r.doctor()
	if err != nil {
		t.Errorf("doctor: %v", err)
	}
	for _, name := range []string{"smtp login", "imap login"} {
		if c := checks[name]; c.Result != checkPass {
			t.Errorf("check %q = %+v, want PASS with the password from the command's environment", name, c)
		}
	}
}

func TestDoctorBrokenSetups(t *testing.T) {
	tests := []struct {
		name   string
		breakF func(r *doctorRig)
		failed map[string]string // check → a word its fix must contain
		passed []string
	}{
		{
			name:   "wrong password",
			breakF: func(r *doctorRig) { r.password = "wrong" },
			failed: map[string]string{"smtp login": "password", "imap login": "password"},
			passed: []string{"smtp tls", "imap tls", "config", "database"},
		},
		{
			name: "wrong port",
			breakF: func(r *doctorRig) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					r.t.Fatal(err)
				}
				_, r.imapPort, _ = net.SplitHostPort(l.Addr().String())
				l.Close()
			},
			failed: map[string]string{"imap tcp": "imap.port"},
			passed: []string{"smtp login", "config"},
		},
		{
			name: "bad ca_file",
			breakF: func(r *doctorRig) {
				_, other, err := sandbox.NewTestCert()
				if err != nil {
					r.t.Fatal(err)
				}
				r.caFile = filepath.Join(r.dir, "other-ca.pem")
				if err := os.WriteFile(r.caFile, other, 0o600); err != nil {
					r.t.Fatal(err)
				}
			},
			failed: map[string]string{"smtp tls": "smtp.ca_file", "imap tls": "imap.ca_file"},
			passed: []string{"smtp tcp", "imap tcp", "templates"},
		},
		{
			name: "missing template field",
			breakF: func(r *doctorRig) {
				dir := filepath.Join(r.dir, "coffeechat", "templates")
				if err := os.MkdirAll(dir, 0o700); err != nil {
					r.t.Fatal(err)
				}
				tmpl := "Subject: Thanks {{.To.FirstName}}\n\nHi,\n{{.Nickname}}\n"
				if err := os.WriteFile(filepath.Join(dir, "thanks.tmpl"), []byte(tmpl), 0o600); err != nil {
					r.t.Fatal(err)
				}
			},
			failed: map[string]string{"templates": "thanks.tmpl"},
			passed: []string{"smtp login", "imap login", "database"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newDoctorRig(t)
			tt.breakF(r)
			checks, err := r.doctor()
			if err == nil {
				t.Errorf("doctor exited 0 on a broken setup")
			}
			for name, word := range tt.failed {
				c := checks[name]
				if c.Result != checkFail || !strings.Contains(c.Fix+" "+c.Detail, word) {
					t.Errorf("check %q = %+v, want FAIL mentioning %q", name, c, word)
				}
			}
			for _, name := range tt.passed {
				if c := checks[name]; c.Result != checkPass {
					t.Errorf("check %q = %+v, want PASS", name, c)
				}
			}
			for name, c := range checks {
				if _, want := tt.failed[name]; c.Result == checkFail && !want {
					t.Errorf("check %q failed too: %+v", name, c)
				}
			}
		})
	}
}

// TestDoctorFreshInitNamesKeys runs doctor right after a bare `init`: the
// config check fails, and its fix names the keys still empty (not another
// section than the one at fault).
func TestDoctorFreshInitNamesKeys(t *testing.T) {
	e := newEnv(t)
	e.ok("init")
	out, _, err := e.run("doctor", "--json")
	if err == nil {
		t.Fatalf("doctor passed on an empty config")
	}
	var checks []Check
	if jerr := json.Unmarshal([]byte(out), &checks); jerr != nil {
		t.Fatalf("doctor --json printed %q: %v", out, jerr)
	}
	var cfgCheck Check
	for _, c := range checks {
		if c.Name == "config" {
			cfgCheck = c
		}
	}
	if cfgCheck.Result != checkFail {
		t.Fatalf("config check = %+v, want FAIL", cfgCheck)
	}
	for _, key := range []string{"account.email", "smtp.host", "imap.host", "config.toml"} {
		if !strings.Contains(cfgCheck.Fix, key) {
			t.Errorf("config fix %q does not name %s", cfgCheck.Fix, key)
		}
	}

	// With the servers filled in, the fix names the one key still wrong.
	path := filepath.Join(e.vars["XDG_CONFIG_HOME"], "coffeechat", "config.toml")
	conf := "[account]\nemail = \"sam@example.com\"\n[smtp]\nhost = \"smtp.example.com\"\nusername = \"sam\"\npassword_env = \"MAILPW\"\n[imap]\nhost = \"imap.example.com\"\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, _ = e.run("doctor", "--json")
	checks = nil
	if jerr := json.Unmarshal([]byte(out), &checks); jerr != nil {
		t.Fatalf("doctor --json printed %q: %v", out, jerr)
	}
	if c := checks[0]; c.Name != "config" || c.Result != checkFail || !strings.Contains(c.Fix, "imap.username") {
		t.Errorf("config check = %+v, want FAIL whose fix names imap.username", c)
	}
}
