// Command benchservice prints two figures of `coffeechat run` (nothing is
// asserted; scripts/bench-service runs it):
//
//   - start-up time to ready with a database of -asks asks (target < 200 ms):
//     from exec to the daemon's "ready" log line, measured outside, and the
//     daemon's own figure from that line;
//   - idle RSS after a demo-like story (target < 30 MB): four interview asks
//     approved and sent, the people answer (agree to a proposed slot, decline,
//     ask a question, out of office), the invite leaves; then the daemon idles
//     and /proc/PID/status is read (VmRSS, VmHWM).
//
// The mail servers are the in-process sandbox on loopback.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

const (
	user = "sam@example.test"
	pass = "secret"
)

func main() {
	bin := flag.String("bin", "", "the coffeechat binary")
	asks := flag.Int("asks", 10000, "asks in the start-up database")
	runs := flag.Int("runs", 5, "start-ups to time")
	idle := flag.Duration("idle", 10*time.Second, "how long the daemon idles before RSS is read")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *bin, *asks, *runs, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "bench-service:", err)
		os.Exit(1)
	}
}

type rig struct {
	bin, dir, cfg, db string
	smtp              *sandbox.SMTPServer
	imap              *sandbox.IMAPServer
}

func newRig(ctx context.Context, bin string) (*rig, error) {
	dir, err := os.MkdirTemp("", "coffeechat-bench-service-")
	if err != nil {
		return nil, err
	}
	r := &rig{bin: bin, dir: dir, cfg: filepath.Join(dir, "config.toml"), db: filepath.Join(dir, "coffeechat.db")}
	users := map[string]string{user: pass}
	if r.imap, err = sandbox.StartIMAP(ctx, sandbox.IMAPOptions{Users: users}); err != nil {
		return nil, err
	}
	if r.smtp, err = sandbox.StartSMTP(ctx, sandbox.SMTPOptions{Users: users}); err != nil {
		return nil, err
	}
	sh, sp, _ := net.SplitHostPort(r.smtp.Addr)
	ih, ip, _ := net.SplitHostPort(r.imap.Addr)
	conf := fmt.Sprintf(`[account]
name = "Sam Rivera"
email = %[1]q
timezone = "America/Los_Angeles"
[smtp]
host = %[2]q
port = %[3]s
tls = "none"
username = %[1]q
password = %[6]q
[imap]
host = %[4]q
port = %[5]s
tls = "none"
username = %[1]q
password = %[6]q
[sending]
window = "always"
daily_cap = 0
min_gap = "0s"
[availability]
days = "Mon-Sun"
hours = "00:00-23:59"
min_notice = "1h"
[store]
path = %[7]q
[log]
format = "json"
`, user, sh, sp, ih, ip, pass, r.db)
	return r, os.WriteFile(r.cfg, []byte(conf), 0o600)
}

func (r *rig) close() {
	r.smtp.Close()
	r.imap.Close()
	os.RemoveAll(r.dir)
}

// cli runs one command of the binary.
func (r *rig) cli(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.bin, append([]string{"--config", r.cfg}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+r.dir, "XDG_CONFIG_HOME="+r.dir, "XDG_DATA_HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("coffeechat %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// daemon is a running `coffeechat run` and its log lines.
type daemon struct {
	cmd   *exec.Cmd
	lines chan map[string]any
}

func (r *rig) start(ctx context.Context) (*daemon, time.Time, error) {
	cmd := exec.CommandContext(ctx, r.bin, "--config", r.cfg, "run")
	cmd.Env = append(os.Environ(), "HOME="+r.dir, "XDG_CONFIG_HOME="+r.dir, "XDG_DATA_HOME="+r.dir)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, time.Time{}, err
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, began, err
	}
	d := &daemon{cmd: cmd, lines: make(chan map[string]any, 1024)}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case d.lines <- m:
				default:
				}
			}
		}
		close(d.lines)
	}()
	return d, began, nil
}

func (d *daemon) waitFor(msg string, limit time.Duration) (map[string]any, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case m, ok := <-d.lines:
			if !ok {
				return nil, fmt.Errorf("the daemon exited before %q", msg)
			}
			if m["msg"] == msg {
				return m, nil
			}
		case <-t.C:
			return nil, fmt.Errorf("no %q line within %v", msg, limit)
		}
	}
}

func (d *daemon) stop() {
	d.cmd.Process.Signal(syscall.SIGTERM)
	d.cmd.Wait()
}

// fill writes n waiting asks, each with a sent request, in one transaction.
func fill(ctx context.Context, path string, n int) error {
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.Update(ctx, func(tx *store.Tx) error {
		for i := range n {
			addr := fmt.Sprintf("person%d@example.test", i)
			c := &store.Contact{Name: fmt.Sprintf("Person %d", i), Emails: []string{addr}}
			if err := tx.InsertContact(ctx, c); err != nil {
				return err
			}
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID, State: store.AskWaiting, LastSentAt: tx.Now(), Topic: "bench"}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgSent,
				MessageID: mailer.NewMessageID("example.test"), From: "Sam Rivera <" + user + ">", To: addr,
				Subject: "20 minutes of advice?", Body: "Hello,\nwould you have 20 minutes?\n", SentAt: tx.Now()}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
}

func run(ctx context.Context, bin string, nAsks, runs int, idle time.Duration) error {
	if bin == "" {
		return fmt.Errorf("-bin is required")
	}
	// Start-up with a big database.
	r, err := newRig(ctx, bin)
	if err != nil {
		return err
	}
	defer r.close()
	t0 := time.Now()
	if err := fill(ctx, r.db, nAsks); err != nil {
		return err
	}
	fmt.Printf("database: %d asks written in %v\n", nAsks, time.Since(t0).Round(time.Millisecond))
	var outside, inside []time.Duration
	for range runs {
		d, began, err := r.start(ctx)
		if err != nil {
			return err
		}
		m, err := d.waitFor("ready", 30*time.Second)
		if err != nil {
			d.stop()
			return err
		}
		outside = append(outside, time.Since(began))
		if s, ok := m["startup"].(string); ok {
			if v, err := time.ParseDuration(s); err == nil {
				inside = append(inside, v)
			}
		}
		d.stop()
	}
	med, lo, hi := spread(outside)
	inMed, _, _ := spread(inside)
	fmt.Printf("start-up to ready, %d asks (target < 200ms): exec→ready line median %v (min %v, max %v); the daemon's own figure median %v\n",
		nAsks, med, lo, hi, inMed)

	// Idle RSS after a demo-like story.
	s, err := newRig(ctx, bin)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.cli(ctx, "init", "--name", "Sam Rivera", "--email", user); err != nil {
		// init may refuse an existing config; the database is what matters.
		db, oerr := store.Open(ctx, s.db)
		if oerr != nil {
			return fmt.Errorf("%v; %v", err, oerr)
		}
		db.Close()
	}
	people := []string{"Jane Doe", "Bob Smith", "Carla Diaz", "Dev Patel"}
	for _, p := range people {
		first := strings.ToLower(strings.Fields(p)[0])
		if _, err := s.cli(ctx, "contact", "add", p, "--email", first+"@example.test"); err != nil {
			return err
		}
		if _, err := s.cli(ctx, "ask", "interview", "--to", first+"@example.test", "--topic", "sports marketing"); err != nil {
			return err
		}
	}
	if _, err := s.cli(ctx, "approve", "--all"); err != nil {
		return err
	}
	d, _, err := s.start(ctx)
	if err != nil {
		return err
	}
	defer d.stop()
	if _, err := d.waitFor("ready", 30*time.Second); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(s.smtp.Received()) < len(people) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	replies := map[string]string{
		"jane":  "Happy to help! The second time you proposed works for me.",
		"bob":   "Thanks for reaching out, but I am not able to take calls this month. Best of luck!",
		"carla": "Sure. Before we talk: are you thinking of agencies or in-house teams?",
		"dev":   "",
	}
	for _, rc := range s.smtp.Received() {
		raw := string(rc.Data)
		id := header(raw, "Message-ID")
		to := rc.Rcpts[0]
		first := strings.SplitN(to, "@", 2)[0]
		text, ok := replies[first]
		if !ok {
			continue
		}
		extra := ""
		subject := "Re: " + header(raw, "Subject")
		if text == "" {
			extra = "Auto-Submitted: auto-replied\r\n"
			subject = "Automatic reply: " + header(raw, "Subject")
			text = "I am out of the office until next Monday with limited access to email."
		}
		reply := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <r-%s>\r\nIn-Reply-To: %s\r\nReferences: %s\r\n%sContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
			to, user, subject, time.Now().Format(time.RFC1123Z), strings.Trim(id, "<>"), id, id, extra, text)
		if err := s.imap.Deliver(user, "INBOX", []byte(reply)); err != nil {
			return err
		}
	}
	// The invite to Jane leaves by itself once her reply is read.
	deadline = time.Now().Add(30 * time.Second)
	for len(s.smtp.Received()) < len(people)+1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("story: %d messages sent (4 requests and %d invite)\n", len(s.smtp.Received()), len(s.smtp.Received())-len(people))
	time.Sleep(idle)
	rss, hwm := procStatus(d.cmd.Process.Pid)
	fmt.Printf("idle RSS of coffeechat run after the story, %v idle (target < 30 MB): VmRSS %s, VmHWM %s\n", idle, rss, hwm)
	out, err := s.cli(ctx, "status")
	if err == nil {
		fmt.Print("status:\n" + indent(out))
	}
	return nil
}

func header(raw, name string) string {
	for _, l := range strings.Split(raw, "\r\n") {
		if l == "" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func procStatus(pid int) (rss, hwm string) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "?", "?"
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			rss = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			hwm = strings.TrimSpace(v)
		}
	}
	return rss, hwm
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// spread is the median, the least and the greatest of ds, rounded to 0.1 ms.
func spread(ds []time.Duration) (med, lo, hi time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond / 10) }
	return r(s[len(s)/2]), r(s[0]), r(s[len(s)-1])
}
