package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

// The daemon as a subprocess: the binary is built once per test run.
var daemonBin struct {
	once sync.Once
	path string
	err  error
}

func buildDaemon(t *testing.T) string {
	t.Helper()
	daemonBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "coffeechat-bin-")
		if err != nil {
			daemonBin.err = err
			return
		}
		daemonBin.path = filepath.Join(dir, "coffeechat")
		out, err := exec.Command("go", "build", "-o", daemonBin.path, ".").CombinedOutput()
		if err != nil {
			daemonBin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if daemonBin.err != nil {
		t.Fatal(daemonBin.err)
	}
	return daemonBin.path
}

const (
	runUser = "sam@example.test"
	runPass = "secret"
)

// daemonRig is a config and database in a temp folder, pointing at
// in-process SMTP and IMAP servers, and a way to start `coffeechat run`.
type daemonRig struct {
	t      *testing.T
	bin    string
	dir    string
	cfg    string
	dbPath string
	smtp   *sandbox.SMTPServer
	imap   *sandbox.IMAPServer
}

func newDaemonRig(t *testing.T, deliver func(from string, rcpts []string, data []byte) error) *daemonRig {
	t.Helper()
	r := &daemonRig{t: t, dir: t.TempDir()}
	var err error
	if r.smtp, err = sandbox.StartSMTP(t.Context(), sandbox.SMTPOptions{Users: map[string]string{runUser: runPass}, Deliver: deliver}); err != nil {
		t.Fatal(err)
	}
	if r.imap, err = sandbox.StartIMAP(t.Context(), sandbox.IMAPOptions{Users: map[string]string{runUser: runPass}}); err != nil {
		t.Fatal(err)
	}
	sh, sp, _ := net.SplitHostPort(r.smtp.Addr)
	ih, ip, _ := net.SplitHostPort(r.imap.Addr)
	r.dbPath = filepath.Join(r.dir, "data", "coffeechat.db")
	r.cfg = filepath.Join(r.dir, "config.toml")
	conf := fmt.Sprintf(`[account]
name = "Sam Rivera"
email = %q
timezone = "Europe/Berlin"

[smtp]
host = %q
port = %s
tls = "none"
username = %q
password_env = "COFFEECHAT_TEST_PASSWORD"
timeout = "5s"

[imap]
host = %q
port = %s
tls = "none"
username = %q
password_env = "COFFEECHAT_TEST_PASSWORD"
timeout = "5s"

[sending]
window = "always"
daily_cap = 0
min_gap = "0s"

[store]
path = %q

[log]
level = "info"
format = "json"
`, runUser, sh, sp, runUser, ih, ip, runUser, r.dbPath)
	if err := os.WriteFile(r.cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), r.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return r
}

// approve stores n approved messages and returns their Message-IDs by row id.
func (r *daemonRig) approve(n int) map[int64]string {
	r.t.Helper()
	ctx := r.t.Context()
	db, err := store.Open(ctx, r.dbPath)
	if err != nil {
		r.t.Fatal(err)
	}
	defer db.Close()
	ids := map[int64]string{}
	err = db.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			addr := fmt.Sprintf("p%d@example.test", i)
			c := &store.Contact{Name: fmt.Sprintf("Person %d", i), Emails: []string{addr}}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgApproved,
				MessageID: mailer.NewMessageID("example.test"), From: "Sam Rivera <" + runUser + ">", To: addr,
				Subject: fmt.Sprintf("Coffee %d?", i), Body: "Hello,\nwould you have 20 minutes?\n", ApprovedAt: tx.Now()}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
			ids[m.ID] = m.MessageID
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return ids
}

// start runs `coffeechat --config CFG run`; its stderr goes to a buffer.
func (r *daemonRig) start() (*exec.Cmd, *lockedBuf) {
	r.t.Helper()
	if r.bin == "" {
		r.bin = buildDaemon(r.t)
	}
	cmd := exec.Command(r.bin, "--config", r.cfg, "run")
	cmd.Env = append(os.Environ(), "COFFEECHAT_TEST_PASSWORD="+runPass, "HOME="+r.dir, "XDG_CONFIG_HOME="+r.dir, "XDG_DATA_HOME="+r.dir)
	buf := &lockedBuf{}
	cmd.Stdout, cmd.Stderr = buf, buf
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, buf
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// states reads every outgoing message's state and whether an uncertain one
// has its review item.
func (r *daemonRig) states() (map[int64]string, map[int64]bool) {
	r.t.Helper()
	ctx := r.t.Context()
	db, err := store.Open(ctx, r.dbPath)
	if err != nil {
		r.t.Fatal(err)
	}
	defer db.Close()
	states, reviewed := map[int64]string{}, map[int64]bool{}
	err = db.View(ctx, func(tx *store.Tx) error {
		ms, err := tx.Messages(ctx, store.MessageFilter{Direction: store.Out})
		if err != nil {
			return err
		}
		for _, m := range ms {
			states[m.ID] = m.State
			it, err := tx.OpenReviewFor(ctx, m.ID, outreach.ReviewUncertainSend)
			if err != nil {
				return err
			}
			reviewed[m.ID] = it != nil
		}
		return nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return states, reviewed
}

// delivered counts, per Message-ID, the messages the server accepted.
func (r *daemonRig) delivered() map[string]int {
	out := map[string]int{}
	for _, rc := range r.smtp.Received() {
		for _, line := range strings.Split(string(rc.Data), "\r\n") {
			if v, ok := strings.CutPrefix(line, "Message-ID: "); ok {
				out[strings.Trim(v, "<>")]++
				break
			}
			if line == "" {
				break
			}
		}
	}
	return out
}

func waitExit(t *testing.T, cmd *exec.Cmd, limit time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("coffeechat run did not exit within %v", limit)
		return nil
	}
}

func TestRunCrashExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon many times")
	}
	// A slow server, so that kills land inside transactions.
	r := newDaemonRig(t, func(string, []string, []byte) error {
		time.Sleep(time.Duration(40+rand.IntN(80)) * time.Millisecond)
		return nil
	})
	ids := r.approve(30)
	const rounds = 15
	for range rounds {
		cmd, _ := r.start()
		time.Sleep(time.Duration(20+rand.IntN(400)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
	}
	// A last run settles everything: every message sent, or uncertain with
	// a review item; then SIGTERM.
	cmd, logs := r.start()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "daemon running") {
		if time.Now().After(deadline) {
			t.Fatalf("the last run did not start:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		states, reviewed := r.states()
		settled := true
		for id := range ids {
			s := states[id]
			if s != store.MsgSent && !(s == store.MsgUncertain && reviewed[id]) {
				settled = false
			}
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after the last run: %v\n%s", states, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := waitExit(t, cmd, 10*time.Second); err != nil {
		t.Errorf("coffeechat run after SIGTERM: %v\n%s", err, logs)
	}

	states, _ := r.states()
	got := r.delivered()
	counts := map[string]int{}
	for id, mid := range ids {
		n := got[mid]
		switch {
		case n > 1:
			t.Errorf("message %d <%s> delivered %d times", id, mid, n)
			counts["twice"]++
		case states[id] == store.MsgSent && n != 1:
			t.Errorf("message %d is sent but the server has it %d times", id, n)
		case states[id] == store.MsgSent:
			counts["sent once"]++
		case states[id] == store.MsgUncertain && n == 1:
			counts["uncertain, delivered"]++
		case states[id] == store.MsgUncertain:
			counts["uncertain, not delivered"]++
		default:
			t.Errorf("message %d ends %s (delivered %d)", id, states[id], n)
		}
	}
	msg := fmt.Sprintf("crash test: %d messages, %d SIGKILLs: %d sent once, %d uncertain (delivered), %d uncertain (not delivered), %d delivered twice; %d SMTP connections",
		len(ids), rounds, counts["sent once"], counts["uncertain, delivered"], counts["uncertain, not delivered"], counts["twice"], r.smtp.Connections())
	t.Log(msg)
	if testing.Verbose() {
		fmt.Println(msg)
	}
	sent, err := r.imap.Stored(runUser, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	if len(sent) != counts["sent once"] {
		t.Errorf("Sent folder holds %d copies, want one per sent message (%d)", len(sent), counts["sent once"])
	}
}

func TestRunOneInstancePerDatabase(t *testing.T) {
	r := newDaemonRig(t, nil)
	ids := r.approve(1)
	first, logs := r.start()
	// Wait for the first to hold the lock and send.
	deadline := time.Now().Add(10 * time.Second)
	for len(r.delivered()) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("first daemon sent nothing:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	second, out := r.start()
	err := waitExit(t, second, 10*time.Second)
	want := "another coffeechat run holds the database (PID " + strconv.Itoa(first.Process.Pid)
	if err == nil || !strings.Contains(out.String(), want) {
		t.Errorf("second start: %v\n%s\nwant an error with %q", err, out, want)
	}
	first.Process.Signal(syscall.SIGINT)
	if err := waitExit(t, first, 10*time.Second); err != nil {
		t.Errorf("first daemon after SIGINT: %v\n%s", err, logs)
	}
	if !strings.Contains(logs.String(), `"msg":"coffeechat run stopped"`) {
		t.Errorf("log is not JSON or lacks the stop line:\n%s", logs)
	}
}

func TestClockFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "clock")
	os.WriteFile(f, []byte("72h\n"), 0o600)
	now := newClock(func(k string) string {
		if k == clockFileEnv {
			return f
		}
		return ""
	})
	if d := time.Until(now()); d < 71*time.Hour || d > 73*time.Hour {
		t.Errorf("clock with 72h = now + %v", d)
	}
	if got := newClock(func(string) string { return "" })(); time.Since(got) > time.Minute {
		t.Errorf("clock without the file is off by %v", time.Since(got))
	}
}

// queue and status say when each approved message will leave: with the
// clock moved to a Saturday in October, a window of Monday 09:00-10:00 in
// Berlin and a cap of one a day, the first goes on Monday 19 October (09:00
// CEST), the second a week later, after summer time ended (09:00 CET).
func TestQueueShowsWhenApprovedMailSends(t *testing.T) {
	r := newDaemonRig(t, nil)
	b, _ := os.ReadFile(r.cfg)
	b = bytes.Replace(b, []byte(`window = "always"`), []byte(`window = "Mon 09:00-10:00"`), 1)
	b = bytes.Replace(b, []byte(`daily_cap = 0`), []byte(`daily_cap = 1`), 1)
	os.WriteFile(r.cfg, b, 0o600)
	ids := r.approve(2)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// The test-only clock: now is Saturday 17 October 2026, 12:00 in Berlin
	// (to within the few milliseconds this test takes).
	clock := filepath.Join(r.dir, "clock")
	offset := time.Until(time.Date(2026, 10, 17, 12, 0, 0, 0, berlin))
	os.WriteFile(clock, []byte(offset.String()), 0o600)
	getenv := func(k string) string {
		switch k {
		case "HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME":
			return r.dir
		case clockFileEnv:
			return clock
		}
		return ""
	}
	cli := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(t.Context(), append([]string{"--config", r.cfg}, args...), getenv, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("coffeechat %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	first, second := int64(0), int64(0)
	for id := range ids {
		if first == 0 || id < first {
			first = id
		}
		second = max(second, id)
	}
	text := cli("queue")
	for id, want := range map[int64]string{first: "Mon Oct 19 09:00 CEST", second: "Mon Oct 26 09:00 CET"} {
		line := ""
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, strconv.FormatInt(id, 10)+" ") {
				line = l
			}
		}
		if !strings.Contains(text, "SENDS") || !strings.HasSuffix(strings.TrimSpace(line), want) {
			t.Errorf("queue: message %d sends %q, want %q\n%s", id, line, want, text)
		}
	}

	var st struct {
		NextSend struct {
			At      time.Time `json:"at"`
			Message int64     `json:"message"`
		} `json:"next_send"`
		Outgoing []struct {
			ID    int64      `json:"id"`
			Sends *time.Time `json:"sends"`
		} `json:"outgoing"`
	}
	if err := json.Unmarshal([]byte(cli("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 10, 19, 7, 0, 0, 0, time.UTC); !st.NextSend.At.Equal(want) || st.NextSend.Message != first {
		t.Errorf("status next_send = %+v, want message %d at %v", st.NextSend, first, want)
	}
	// Each approved message with its own time, for scripts.
	wantSends := map[int64]time.Time{
		first:  time.Date(2026, 10, 19, 7, 0, 0, 0, time.UTC),
		second: time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC),
	}
	if len(st.Outgoing) != len(wantSends) {
		t.Fatalf("status outgoing = %+v, want %d messages", st.Outgoing, len(wantSends))
	}
	for _, g := range st.Outgoing {
		if g.Sends == nil || !g.Sends.Equal(wantSends[g.ID]) {
			t.Errorf("status outgoing message %d sends %v, want %v", g.ID, g.Sends, wantSends[g.ID])
		}
	}
}

func TestApproveRejectUncertainSend(t *testing.T) {
	r := newDaemonRig(t, nil)
	ids := r.approve(2)
	ctx := t.Context()
	db, err := store.Open(ctx, r.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Both were being sent when a daemon died; nothing in Sent.
	for id := range ids {
		if err := db.Update(ctx, func(tx *store.Tx) error { return tx.BeginSending(ctx, id, []byte("x")) }); err != nil {
			t.Fatal(err)
		}
	}
	o := outreach.New(db, nil, nil, nil)
	if _, err := o.RecoverSending(ctx); err != nil {
		t.Fatal(err)
	}
	if _, asked, err := o.ResolveUncertain(ctx, nil, 0); asked != 2 || err != nil {
		t.Fatalf("ResolveUncertain: asked %d, %v", asked, err)
	}
	var items []*store.ReviewItem
	db.View(ctx, func(tx *store.Tx) error { items, err = tx.OpenReviewItems(ctx); return err })
	if len(items) != 2 {
		t.Fatalf("review items: %v", items)
	}
	getenv := func(k string) string {
		if k == "HOME" || k == "XDG_CONFIG_HOME" || k == "XDG_DATA_HOME" {
			return r.dir
		}
		return ""
	}
	cli := func(args ...string) string {
		var out, errb bytes.Buffer
		if err := run(ctx, append([]string{"--config", r.cfg}, args...), getenv, strings.NewReader(""), &out, &errb); err != nil {
			t.Fatalf("coffeechat %v: %v\n%s", args, err, errb.String())
		}
		return out.String()
	}
	cli("approve", "r"+strconv.FormatInt(items[0].ID, 10)) // send again
	cli("reject", "r"+strconv.FormatInt(items[1].ID, 10))  // it went: mark sent
	states, _ := r.states()
	if s := states[items[0].MessageID]; s != store.MsgApproved {
		t.Errorf("after approve rN the message is %s, want approved (to be sent again)", s)
	}
	if s := states[items[1].MessageID]; s != store.MsgSent {
		t.Errorf("after reject rN the message is %s, want sent", s)
	}
	if q := cli("queue"); strings.Contains(q, "uncertain_send") || !strings.Contains(q, "Approved, waiting to be sent") {
		t.Errorf("queue after resolving:\n%s", q)
	}
}
