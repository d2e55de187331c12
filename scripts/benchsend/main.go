// Command benchsend measures the sender against the real-server rig (run by
// scripts/bench-send): N approved messages through `coffeechat run` over one
// reused SMTP connection, then the same bytes through msmtp, one process per
// message, in a shell loop. It prints both rates, their ratio, and the
// daemon's peak resident memory (VmHWM). Nothing here asserts a time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/store"
)

func main() {
	n := flag.Int("n", 1000, "messages to send")
	bin := flag.String("bin", "", "the coffeechat binary")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *n, *bin)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-send:", err)
		os.Exit(1)
	}
}

func env(k string) (string, error) {
	v := os.Getenv(k)
	if v == "" {
		return "", fmt.Errorf("%s is unset: start the rig (scripts/mailrig start) and source .rig/env", k)
	}
	return v, nil
}

func run(ctx context.Context, n int, bin string) error {
	if bin == "" {
		return errors.New("-bin: the coffeechat binary is required")
	}
	smtpAddr, err := env("COFFEECHAT_RIG_SMTP")
	if err != nil {
		return err
	}
	imapAddr, err := env("COFFEECHAT_RIG_IMAP")
	if err != nil {
		return err
	}
	ca, err := env("COFFEECHAT_RIG_CA")
	if err != nil {
		return err
	}
	pass, err := env("COFFEECHAT_RIG_PASSWORD")
	if err != nil {
		return err
	}
	domain, err := env("COFFEECHAT_RIG_DOMAIN")
	if err != nil {
		return err
	}
	if _, err := exec.LookPath("msmtp"); err != nil {
		return errors.New("msmtp is not installed (apt-get install msmtp)")
	}
	dir, err := os.MkdirTemp("", "bench-send-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	tag := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffffff)
	sender := "bench-sam-" + tag + "@" + domain
	rcpt := "bench-jane-" + tag + "@" + domain
	sh, sp, _ := net.SplitHostPort(smtpAddr)
	ih, ip, _ := net.SplitHostPort(imapAddr)
	dbPath := filepath.Join(dir, "cc.db")
	cfgPath := filepath.Join(dir, "config.toml")
	conf := fmt.Sprintf(`[account]
name = "Bench Sam"
email = %q
timezone = "UTC"
[smtp]
host = %q
port = %s
tls = "starttls"
username = %q
password_env = "BENCH_PASSWORD"
ca_file = %q
save_sent = "always"
[imap]
host = %q
port = %s
tls = "starttls"
username = %q
password_env = "BENCH_PASSWORD"
ca_file = %q
[sending]
window = "always"
daily_cap = 0
min_gap = "0s"
[store]
path = %q
[log]
level = "warn"
`, sender, sh, sp, sender, ca, ih, ip, sender, ca, dbPath)
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		return err
	}

	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	body := strings.Repeat("I am a student curious about sports marketing, and would love 20 minutes of your advice.\n", 8)
	err = db.Update(ctx, func(tx *store.Tx) error {
		c := &store.Contact{Name: "Jane Doe", Emails: []string{rcpt}}
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		for i := range n {
			a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID, State: store.AskDraft}
			if err := tx.InsertAsk(ctx, a); err != nil {
				return err
			}
			m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgApproved,
				MessageID: mailer.NewMessageID(domain), From: "Bench Sam <" + sender + ">", To: "Jane Doe <" + rcpt + ">",
				Subject: fmt.Sprintf("A 20-minute chat? (%d)", i), Body: body, ApprovedAt: tx.Now()}
			if err := tx.InsertMessage(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	// 1. The daemon.
	cmd := exec.CommandContext(ctx, bin, "--config", cfgPath, "run")
	cmd.Env = append(os.Environ(), "BENCH_PASSWORD="+pass)
	logf, err := os.Create(filepath.Join(dir, "daemon.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer cmd.Process.Kill()
	count := func(q string) (int, error) {
		var k int
		err := db.View(ctx, func(tx *store.Tx) error {
			ms, err := tx.OutMessagesIn(ctx, q)
			k = len(ms)
			return err
		})
		return k, err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		sent, err := count(store.MsgSent)
		if err != nil {
			return err
		}
		if sent == n {
			break
		}
		if other, _ := count(store.MsgFailed); other > 0 {
			return fmt.Errorf("%d messages failed; see %s", other, logf.Name())
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("only %d of %d sent", sent, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	wall := time.Since(start)
	var first, last time.Time
	var raws [][]byte
	err = db.View(ctx, func(tx *store.Tx) error {
		ms, err := tx.OutMessagesIn(ctx, store.MsgSent)
		for _, m := range ms {
			if first.IsZero() || m.SentAt.Before(first) {
				first = m.SentAt
			}
			if m.SentAt.After(last) {
				last = m.SentAt
			}
			raws = append(raws, m.Raw)
		}
		return err
	})
	if err != nil {
		return err
	}
	// The copies in Sent, then the peak memory of the whole run.
	for {
		var pending int
		db.View(ctx, func(tx *store.Tx) error {
			ms, err := tx.PendingSentCopies(ctx, 1)
			pending = len(ms)
			return err
		})
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	filed := time.Since(start)
	hwm := vmHWM(cmd.Process.Pid)
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	daemonRate := float64(n) / wall.Seconds()
	steady := float64(n-1) / last.Sub(first).Seconds()

	// 2. msmtp, one process (and one SMTP connection) per message.
	msmtprc := filepath.Join(dir, "msmtprc")
	rc := fmt.Sprintf("defaults\nauth on\ntls on\ntls_starttls on\ntls_trust_file %s\nlogfile -\n\naccount bench\nhost %s\nport %s\nfrom %s\nuser %s\npassword %s\n\naccount default : bench\n",
		ca, sh, sp, sender, sender, pass)
	if err := os.WriteFile(msmtprc, []byte(rc), 0o600); err != nil {
		return err
	}
	msgDir := filepath.Join(dir, "eml")
	os.MkdirAll(msgDir, 0o700)
	for i, r := range raws {
		if err := os.WriteFile(filepath.Join(msgDir, fmt.Sprintf("%05d.eml", i)), r, 0o600); err != nil {
			return err
		}
	}
	loop := fmt.Sprintf(`for f in %s/*.eml; do msmtp -C %s -- %s < "$f" >/dev/null || exit 1; done`, msgDir, msmtprc, rcpt)
	ms := time.Now()
	if out, err := exec.CommandContext(ctx, "bash", "-c", loop).CombinedOutput(); err != nil {
		return fmt.Errorf("msmtp loop: %v\n%s", err, out)
	}
	msmtpWall := time.Since(ms)
	msmtpRate := float64(n) / msmtpWall.Seconds()

	fmt.Printf("bench-send: %d messages of %d bytes to the rig's Postfix (%s, STARTTLS + AUTH)\n", n, len(raws[0]), smtpAddr)
	fmt.Printf("  coffeechat run (one reused connection): %7.1f msg/s  (%.2f s from process start to the last one sent; %.1f msg/s between the first and the last)\n", daemonRate, wall.Seconds(), steady)
	fmt.Printf("  msmtp in a shell loop:                  %7.1f msg/s  (%.2f s)\n", msmtpRate, msmtpWall.Seconds())
	fmt.Printf("  ratio: %.1fx\n", daemonRate/msmtpRate)
	fmt.Printf("  daemon peak RSS (VmHWM): %s, after filing %d copies in Sent (%.2f s from start)\n", hwm, n, filed.Seconds())
	return nil
}

// vmHWM reads a process's peak resident set size from /proc.
func vmHWM(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
