package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/demo"
)

func (a *app) demoCmd() *cobra.Command {
	var keep bool
	var dir string
	cmd := &cobra.Command{
		Use:   "demo [--dir DIR] [--keep]",
		Short: "Play the whole story against an embedded mail sandbox, with simulated people",
		Long: `coffeechat demo starts an SMTP and an IMAP server inside this process, on loopback,
with a mailbox for you (Sam Rivera <sam@example.test>) and for each simulated person,
and runs the real daemon (the loops of coffeechat run) and the real commands against
them. The people read their mail and answer the way people do, from Gmail, Outlook
and Apple Mail; the demo approves the drafts itself and says so, and moves a clock
forward instead of waiting for days. Nothing leaves your machine.

--dir keeps everything in DIR (default: a new temporary folder): the config, the
database, the sent messages as .eml files and the calendar's .ics files.
--keep leaves the sandbox and the daemon running afterwards, so you can try the
commands against it; Ctrl-C stops it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runDemo(cmd.Context(), dir, keep) },
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the sandbox running afterwards (Ctrl-C stops it)")
	cmd.Flags().StringVar(&dir, "dir", "", "folder for the demo's files (default: a new temporary folder)")
	return cmd
}

// runDemo is `coffeechat demo`.
func (a *app) runDemo(ctx context.Context, dir string, keep bool) error {
	start := time.Now()
	if dir == "" {
		d, err := os.MkdirTemp("", "coffeechat-demo-")
		if err != nil {
			return fmt.Errorf("demo folder: %w", err)
		}
		dir = d
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo folder: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "coffeechat.db")); err == nil {
		return withHint(fmt.Errorf("%s already holds a demo", dir), "coffeechat demo --dir NEW_FOLDER")
	}
	const zoneName = "America/Los_Angeles"
	zone, err := time.LoadLocation(zoneName)
	if err != nil {
		return fmt.Errorf("demo zone: %w", err)
	}
	me, dad, jane, priya, rachel, tom := demo.NewPeople("example.test", zone)
	everyone := []demo.Person{me, dad, jane, priya, rachel, tom}
	var addrs []string
	for _, p := range everyone {
		addrs = append(addrs, p.Email)
	}

	sbCtx, stopSandbox := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSandbox()
	sb, err := demo.StartSandbox(sbCtx, addrs)
	if err != nil {
		return err
	}
	defer sb.Close()

	cfgPath := filepath.Join(dir, "config", "config.toml")
	if err := writeDemoConfig(cfgPath, dir, zoneName, me, sb); err != nil {
		return err
	}
	clock := &demo.Clock{Path: filepath.Join(dir, "clock")}
	if err := os.WriteFile(clock.Path, []byte("0s\n"), 0o600); err != nil {
		return fmt.Errorf("demo clock: %w", err)
	}
	getenv := func(k string) string {
		switch k {
		case clockFileEnv:
			return clock.Path
		case "XDG_CONFIG_HOME":
			return filepath.Join(dir, "config-home")
		case "XDG_DATA_HOME":
			return filepath.Join(dir, "data-home")
		case "EDITOR", "VISUAL":
			return ""
		}
		return a.getenv(k)
	}
	cli := func(ctx context.Context, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"--config", cfgPath}, args...), getenv, strings.NewReader(""), &out, &errOut)
		if err != nil {
			return out.String(), fmt.Errorf("%w %s", err, strings.TrimSpace(errOut.String()))
		}
		return out.String(), nil
	}

	w := a.stdout
	fmt.Fprintf(w, "coffeechat demo: a mail sandbox on %s (SMTP) and %s (IMAP), files in %s\n", sb.SMTP.Addr, sb.IMAP.Addr, dir)
	fmt.Fprintf(w, "You are %s <%s>. Everyone else is simulated; nothing leaves this machine.\n\n", me.Name, me.Email)
	if _, err := cli(ctx, "init"); err != nil {
		return err
	}

	// The daemon: `coffeechat run` itself, in this process.
	logPath := filepath.Join(dir, "daemon.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("daemon log: %w", err)
	}
	defer logFile.Close()
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	daemonDone := make(chan error, 1)
	go func() {
		daemonDone <- run(dctx, []string{"--config", cfgPath, "run"}, getenv, strings.NewReader(""), logFile, logFile)
	}()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		stopDaemon()
		return <-daemonDone
	}
	defer stop()

	story := &demo.Story{
		CLI: cli, Mail: sb.Postbox(), Clock: clock, Out: w, Zone: zone, Me: me,
		Dad: dad, Jane: jane, Priya: priya, Rachel: rachel, Tom: tom,
	}
	storyCtx, cancelStory := context.WithCancel(ctx)
	defer cancelStory()
	go func() { // a daemon that stops by itself ends the story
		select {
		case err := <-daemonDone:
			daemonDone <- err
			cancelStory()
		case <-storyCtx.Done():
		}
	}()
	if err := story.Demo(storyCtx); err != nil {
		select {
		case derr := <-daemonDone:
			daemonDone <- derr
			if derr != nil {
				return fmt.Errorf("the daemon stopped: %w (log: %s)", derr, logPath)
			}
		default:
		}
		return fmt.Errorf("demo: %w (daemon log: %s)", err, logPath)
	}
	cancelStory()

	fmt.Fprintln(w)
	rows, err := story.Summary(ctx)
	if err != nil {
		return err
	}
	sentDir := filepath.Join(dir, "sent")
	nSent, err := writeSent(sentDir, sb, me.Email)
	if err != nil {
		return err
	}
	dups, err := demo.Duplicates(ctx, sb.Postbox(), addrs)
	if err != nil {
		return err
	}
	icsDir := filepath.Join(dir, "calendar")
	ics, _ := filepath.Glob(filepath.Join(icsDir, "*.ics"))
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Database:       %s\n", filepath.Join(dir, "coffeechat.db"))
	fmt.Fprintf(w, "Sent messages:  %s (%d .eml files)\n", sentDir, nSent)
	fmt.Fprintf(w, "Calendar:       %s (%d .ics files)\n", icsDir, len(ics))
	fmt.Fprintf(w, "Config:         %s\n", cfgPath)
	fmt.Fprintf(w, "Daemon log:     %s\n", logPath)
	if len(dups) > 0 {
		return fmt.Errorf("a message was delivered twice: %v", dups)
	}
	fmt.Fprintf(w, "Delivered:      every Message-ID at most once in each mailbox\n")
	fmt.Fprintf(w, "Demo complete: %d asks, %d emails sent by coffeechat, %d .ics files, in %.1fs.\n",
		len(rows), nSent, len(ics), time.Since(start).Seconds())

	if !keep {
		if err := stop(); err != nil {
			return fmt.Errorf("daemon: %w (log: %s)", err, logPath)
		}
		return nil
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "The sandbox and the daemon keep running. Try, in another terminal:")
	for _, c := range []string{"asks", "queue", "timeline 1", "interviews", "contact list"} {
		fmt.Fprintf(w, "  coffeechat --config %s %s\n", cfgPath, c)
	}
	fmt.Fprintf(w, "The story moved the daemon's clock forward; to see what it sees, add COFFEECHAT_CLOCK_FILE=%s (test-only).\n", clock.Path)
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
	<-ctx.Done()
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// writeDemoConfig writes the demo's config: the sandbox without TLS on
// loopback, sending at any time without gaps, follow-ups after 3 days.
func writeDemoConfig(path, dir, zone string, me demo.Person, sb *demo.Sandbox) error {
	_, smtpPort, err := net.SplitHostPort(sb.SMTP.Addr)
	if err != nil {
		return err
	}
	_, imapPort, err := net.SplitHostPort(sb.IMAP.Addr)
	if err != nil {
		return err
	}
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	text := `# coffeechat demo: a sandbox on loopback. Written by coffeechat demo.
[account]
name = ` + q(me.Name) + `
email = ` + q(me.Email) + `
timezone = ` + q(zone) + `

[smtp]
host = "127.0.0.1"
port = ` + smtpPort + `
tls = "none"
username = ` + q(me.Email) + `
password = ` + q(demo.Password) + `

[imap]
host = "127.0.0.1"
port = ` + imapPort + `
tls = "none"
username = ` + q(me.Email) + `
password = ` + q(demo.Password) + `

[sending]
window = "always"
daily_cap = 0
min_gap = "0s"

[calendar]
location = "Video call (the link is in the invite)"
ics_dir = ` + q(filepath.Join(dir, "calendar")) + `

[followup]
after = "3d"
max = 1

[thanks]
after = "2h"

[store]
path = ` + q(filepath.Join(dir, "coffeechat.db")) + `
`
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	return nil
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

// writeSent writes every message the user's account sent as an .eml file.
func writeSent(dir string, sb *demo.Sandbox, from string) (int, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("sent folder: %w", err)
	}
	n := 0
	for _, r := range sb.SMTP.Received() {
		if !strings.EqualFold(r.From, from) {
			continue
		}
		n++
		subject := "message"
		if m, err := mail.ReadMessage(bytes.NewReader(r.Data)); err == nil {
			if s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject")); err == nil && s != "" {
				subject = s
			}
		}
		slug := strings.Trim(slugRE.ReplaceAllString(strings.ToLower(subject), "-"), "-")
		if len(slug) > 50 {
			slug = slug[:50]
		}
		name := filepath.Join(dir, fmt.Sprintf("%02d-%s.eml", n, slug))
		if err := os.WriteFile(name, r.Data, 0o600); err != nil {
			return n, fmt.Errorf("write %s: %w", name, err)
		}
	}
	return n, nil
}
