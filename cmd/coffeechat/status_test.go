package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/daemon"
)

// waitLog waits (bounded) until the daemon's log holds a JSON line whose
// msg is msg, and returns it.
func waitLog(t *testing.T, buf *lockedBuf, msg string, after int) (map[string]any, int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		lines := strings.Split(buf.String(), "\n")
		for i := after; i < len(lines); i++ {
			var m map[string]any
			if json.Unmarshal([]byte(lines[i]), &m) == nil && m["msg"] == msg {
				return m, i + 1
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q line in the daemon's log:\n%s", msg, buf.String())
	return nil, 0
}

// runCLI runs one command in-process with the rig's environment.
func (r *daemonRig) runCLI(args ...string) (string, error) {
	env := map[string]string{"HOME": r.dir, "XDG_CONFIG_HOME": r.dir, "XDG_DATA_HOME": r.dir, "COFFEECHAT_TEST_PASSWORD": runPass}
	var out, errOut bytes.Buffer
	err := run(r.t.Context(), append([]string{"--config", r.cfg}, args...), func(k string) string { return env[k] },
		strings.NewReader(""), &out, &errOut)
	return out.String() + errOut.String(), err
}

func (r *daemonRig) statusJSON() Status {
	r.t.Helper()
	out, err := r.runCLI("status", "--json")
	if err != nil {
		r.t.Fatalf("status --json: %v\n%s", err, out)
	}
	var st Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		r.t.Fatalf("status --json printed %q: %v", out, err)
	}
	return st
}

// TestServiceLifecycle runs `coffeechat run` as a subprocess: ready line,
// JSON logs, status while it runs, a broken config refused on SIGHUP (the
// daemon keeps running), a good one reloaded, and SIGTERM → exit within 5 s.
func TestServiceLifecycle(t *testing.T) {
	r := newDaemonRig(t, nil)
	if st := r.statusJSON(); st.Daemon.Running {
		t.Fatalf("status before start: %+v, want not running", st.Daemon)
	}
	cmd, buf := r.start()
	ready, next := waitLog(t, buf, "ready", 0)
	if s, _ := ready["startup"].(string); s == "" {
		t.Errorf("ready line without the start-up time: %v", ready)
	}
	st := r.statusJSON()
	if !st.Daemon.Running || st.Daemon.PID != cmd.Process.Pid || st.Daemon.StartedAt.IsZero() {
		t.Fatalf("status while running: %+v, want running with PID %d", st.Daemon, cmd.Process.Pid)
	}
	text, err := r.runCLI("status")
	if err != nil || !strings.Contains(text, "running (PID ") || !strings.Contains(text, "queue:") {
		t.Fatalf("status: %v\n%s", err, text)
	}

	good, err := os.ReadFile(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.cfg, append(append([]byte{}, good...), "\n[followup]\nafter = \"soon\"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	refused, next := waitLog(t, buf, "reload refused; the running configuration stays", next)
	if e, _ := refused["err"].(string); !strings.Contains(e, "followup.after") {
		t.Errorf("refused reload names no key: %v", refused)
	}
	if pid, err := daemon.Holder(r.dbPath); err != nil || pid != cmd.Process.Pid {
		t.Fatalf("after a broken reload the lock holder is %d (%v), want the daemon %d still running", pid, err, cmd.Process.Pid)
	}
	if err := os.WriteFile(r.cfg, good, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGHUP)
	_, next = waitLog(t, buf, "reloading", next)
	if gen, _ := waitLog(t, buf, "daemon running", next); gen["generation"] != float64(2) {
		t.Errorf("after a good reload: %v, want generation 2", gen)
	}

	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, 5*time.Second)
	t.Logf("SIGTERM → exit in %v", time.Since(start).Round(time.Millisecond))
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Errorf("log.format = json, but a line is not JSON: %q", l)
		}
	}
	if st := r.statusJSON(); st.Daemon.Running {
		t.Errorf("status after stop: %+v, want not running", st.Daemon)
	}
}

// TestSystemdUnit checks dist/coffeechat.service: the settings the README
// promises, and `systemd-analyze verify` (when installed) with no warning.
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "dist", "coffeechat.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ExecStart=%h/go/bin/coffeechat run", "Restart=on-failure", "RestartSec=",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=read-only", "ReadWritePaths=", "PrivateTmp=yes",
		"ExecReload=/bin/kill -HUP $MAINPID", "WantedBy=default.target"} {
		if !bytes.Contains(unit, []byte("\n"+want)) {
			t.Errorf("dist/coffeechat.service lacks %q", want)
		}
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	// verify wants ExecStart to exist: point it at the binary the tests built.
	bin := buildDaemon(t)
	path := filepath.Join(t.TempDir(), "coffeechat.service")
	if err := os.WriteFile(path, bytes.ReplaceAll(unit, []byte("%h/go/bin/coffeechat"), []byte(bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("coffeechat.service")) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestRunWarnsOnceAtStart: the daemon reads its config once at start, so a
// warning about it is printed once, and again on each reload (which reads
// the file afresh).
func TestRunWarnsOnceAtStart(t *testing.T) {
	r := newDaemonRig(t, nil)
	conf, err := os.ReadFile(r.cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A literal password in a file others can read: one warning per server.
	conf = bytes.ReplaceAll(conf, []byte(`password_env = "COFFEECHAT_TEST_PASSWORD"`), []byte(fmt.Sprintf("password = %q", runPass)))
	if err := os.WriteFile(r.cfg, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.cfg, 0o644); err != nil { // umask-proof
		t.Fatal(err)
	}
	cmd, buf := r.start()
	_, next := waitLog(t, buf, "ready", 0)
	if n := strings.Count(buf.String(), "Warning: "); n != 2 {
		t.Errorf("%d warnings at start, want 2 (smtp.password and imap.password, once each):\n%s", n, buf.String())
	}
	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, buf, "daemon running", next)
	if n := strings.Count(buf.String(), "Warning: "); n != 4 {
		t.Errorf("%d warnings after a reload, want 4:\n%s", n, buf.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	waitExit(t, cmd, 5*time.Second)
}
