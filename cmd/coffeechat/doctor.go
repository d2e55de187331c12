package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/smtp"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// Check is one line of `coffeechat doctor`.
type Check struct {
	Name   string `json:"name"`
	Result string `json:"result"` // PASS | FAIL | SKIP
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"` // on failure: what to change
}

// Check results.
const (
	checkPass = "PASS"
	checkFail = "FAIL"
	checkSkip = "SKIP"
)

// errChecksFailed makes doctor exit non-zero once everything is printed.
var errChecksFailed = errors.New("some checks failed: see FAIL above")

func (a *app) doctorCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the config, the database, SMTP and IMAP (DNS, TCP, TLS, login), folders, IDLE, the templates",
		Long: `doctor checks everything coffeechat needs, without sending mail or changing the
mailbox: the config, the database, DNS and TCP to both servers, TLS and the
certificate, SMTP AUTH, IMAP login, the mailbox, IDLE, the Sent folder, the time
zone, the templates and the busy calendars. Each check says PASS or FAIL and, on
failure, what to change. The exit status is non-zero when anything fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			checks := a.doctor(cmd.Context())
			failed := false
			for _, c := range checks {
				failed = failed || c.Result == checkFail
			}
			if asJSON {
				if err := a.printJSON(checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					fmt.Fprintf(a.stdout, "%s  %-16s %s\n", c.Result, c.Name, c.Detail)
					if c.Fix != "" {
						fmt.Fprintf(a.stdout, "      %-16s fix: %s\n", "", c.Fix)
					}
				}
			}
			if failed {
				return errChecksFailed
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// doctorRun collects the checks of one doctor run.
type doctorRun struct {
	checks []Check
}

func (d *doctorRun) pass(name, detail string) {
	d.checks = append(d.checks, Check{name, checkPass, detail, ""})
}
func (d *doctorRun) skip(name, why string) {
	d.checks = append(d.checks, Check{name, checkSkip, why, ""})
}
func (d *doctorRun) fail(name string, err error, fix string) {
	d.checks = append(d.checks, Check{name, checkFail, err.Error(), fix})
}

// doctor runs every check in order; a check whose ground failed is skipped.
func (a *app) doctor(ctx context.Context) []Check {
	d := &doctorRun{}
	path, err := a.cfgPath()
	if err != nil {
		d.fail("config", err, "pass --config PATH, or set HOME / XDG_CONFIG_HOME")
		return d.checks
	}
	cfg, err := a.env().Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.fail("config", fmt.Errorf("no config at %s", path), "run `coffeechat init --name \"Your Name\" --email you@example.com`")
		return d.checks
	case err != nil:
		d.fail("config", err, "edit "+path+" (the key is named above; config.example.toml documents every key)")
		return d.checks
	}
	serversOK := true
	if err := cfg.CheckServers(); err != nil {
		d.fail("config", err, serverSettingsFix(cfg, err, path))
		serversOK = false
	} else {
		d.pass("config", fmt.Sprintf("%s (account %s <%s>)", path, cfg.Account.Name, cfg.Account.Email))
	}

	d.timezone(cfg)
	dir := a.templatesDir(path)
	if _, err := outreach.LoadTemplates(dir); err != nil {
		d.fail("templates", err, "fix the named file in "+dir+", or move it out of that folder to use the built-in template")
	} else {
		d.pass("templates", fmt.Sprintf("%d templates (overrides from %s)", len(outreach.TemplateNames), dir))
	}
	d.database(ctx, cfg)
	d.busy(ctx, cfg)

	if !serversOK {
		for _, n := range []string{"smtp", "imap"} {
			d.skip(n, "waits for the config check above to pass")
		}
		return d.checks
	}
	if d.network(ctx, "smtp", cfg.SMTP.Server) {
		if err := mailer.NewClient(cfg.SMTP, nil).Verify(ctx); err != nil {
			var ae *mailer.AuthError
			fix := "check smtp.host, smtp.port and smtp.tls"
			if errors.As(err, &ae) {
				fix = "check smtp.username and the password (smtp.password_cmd / password_env; Gmail and iCloud need an app password)"
			} else if strings.Contains(err.Error(), "password") || strings.Contains(err.Error(), "token_cmd") {
				fix = "check smtp.password_cmd / smtp.password_env / smtp.token_cmd"
			}
			d.fail("smtp login", err, fix)
		} else {
			d.pass("smtp login", fmt.Sprintf("AUTH as %s accepted (no mail sent)", cfg.SMTP.Username))
		}
	} else {
		d.skip("smtp login", "the server cannot be reached")
	}
	if d.network(ctx, "imap", cfg.IMAP.Server) {
		d.imap(ctx, cfg)
	} else {
		for _, n := range []string{"imap login", "mailbox", "idle", "sent folder"} {
			d.skip(n, "the server cannot be reached")
		}
	}
	return d.checks
}

// serverSettingsFix names the keys to set when CheckServers failed: every
// required one still empty, else the one err names.
func serverSettingsFix(cfg *config.Config, err error, path string) string {
	var empty []string
	for _, k := range []struct{ key, value string }{
		{"account.email", cfg.Account.Email},
		{"smtp.host", cfg.SMTP.Host},
		{"imap.host", cfg.IMAP.Host},
	} {
		if k.value == "" {
			empty = append(empty, k.key)
		}
	}
	if len(empty) > 0 {
		return fmt.Sprintf("set %s in %s (with the usernames and a password_cmd; the README's First setup shows Gmail and a self-hosted server)", strings.Join(empty, ", "), path)
	}
	var ve *config.ValidationError
	if errors.As(err, &ve) {
		return fmt.Sprintf("set %s in %s", ve.Key, path)
	}
	return "fill in [account], [smtp] and [imap] in " + path
}

func (d *doctorRun) timezone(cfg *config.Config) {
	name := cfg.Account.Timezone
	if name == "" {
		name = "the system's zone"
	}
	if _, err := time.LoadLocation(cfg.Account.Timezone); cfg.Account.Timezone != "" && err != nil {
		d.fail("time zone", err, "set account.timezone to an IANA name such as \"America/Los_Angeles\"")
		return
	}
	now := time.Now().In(cfg.Location())
	d.pass("time zone", fmt.Sprintf("%s: now %s (UTC%s)", name, now.Format("Mon Jan 2 15:04 MST"), now.Format("-07:00")))
}

func (d *doctorRun) database(ctx context.Context, cfg *config.Config) {
	dbPath, err := cfg.DBPath()
	if err != nil {
		d.fail("database", err, "set store.path")
		return
	}
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		d.fail("database", fmt.Errorf("no database at %s", dbPath), "run `coffeechat init`, or set store.path to your database")
		return
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		fix := "check the file and its folder's permissions (store.path)"
		if errors.Is(err, store.ErrNewerSchema) {
			fix = "upgrade coffeechat (`go install` a newer version)"
		} else if errors.Is(err, store.ErrCorrupt) {
			fix = "move the file aside and restore a backup, or `coffeechat init` a fresh one"
		}
		d.fail("database", err, fix)
		return
	}
	defer db.Close()
	v, err := db.AppliedSchemaVersion(ctx)
	if err != nil {
		d.fail("database", err, "check the file (store.path)")
		return
	}
	problems, err := db.IntegrityCheck(ctx)
	if err != nil || len(problems) > 0 {
		if err == nil {
			err = fmt.Errorf("integrity check of %s: %s", dbPath, strings.Join(problems, "; "))
		}
		d.fail("database", err, "stop the daemon, copy the file aside, and restore a backup (sqlite3 .recover can save what is left)")
		return
	}
	d.pass("database", fmt.Sprintf("%s (schema %d of %d, integrity ok)", dbPath, v, store.SchemaVersion()))
}

func (d *doctorRun) busy(ctx context.Context, cfg *config.Config) {
	if len(cfg.Availability.Busy) == 0 {
		d.pass("busy calendars", "none configured (availability.busy)")
		return
	}
	now := time.Now()
	busy, errs := calendar.LoadBusy(ctx, nil, cfg.Availability.Busy, now, now.Add(cfg.Horizon()+24*time.Hour))
	if len(errs) > 0 {
		d.fail("busy calendars", errors.Join(errs...), "fix the calendar, or remove it from availability.busy")
		return
	}
	d.pass("busy calendars", fmt.Sprintf("%d read, %d busy periods ahead", len(cfg.Availability.Busy), len(busy)))
}

// network checks DNS, TCP and TLS with the certificate for one server, and
// reports whether it can be reached at all.
func (d *doctorRun) network(ctx context.Context, name string, s config.Server) bool {
	timeout := min(s.DialTimeout(), 10*time.Second)
	if net.ParseIP(strings.Trim(s.Host, "[]")) == nil {
		lctx, cancel := context.WithTimeout(ctx, timeout)
		addrs, err := net.DefaultResolver.LookupHost(lctx, s.Host)
		cancel()
		if err != nil {
			d.fail(name+" dns", err, fmt.Sprintf("check %s.host (%q) and your network", name, s.Host))
			return false
		}
		d.pass(name+" dns", fmt.Sprintf("%s → %s", s.Host, strings.Join(addrs, ", ")))
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", s.Addr())
	cancel()
	if err != nil {
		d.fail(name+" tcp", err, fmt.Sprintf("check %s.port (%d) and %s.host; a firewall may block it (%s)", name, s.Port, name, portHint(name)))
		return false
	}
	d.pass(name+" tcp", "connected to "+s.Addr())
	defer conn.Close()
	if s.TLS == config.TLSNone {
		d.skip(name+" tls", fmt.Sprintf("%s.tls = \"none\" (loopback only)", name))
		return true
	}
	tlsCfg, err := s.TLSConfig()
	if err != nil {
		d.fail(name+" tls", err, fmt.Sprintf("fix %s.ca_file: a PEM file with your server's CA certificate", name))
		return false
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	state, err := handshake(conn, name, s, tlsCfg)
	if err != nil {
		d.fail(name+" tls", err, tlsFix(name, s, err))
		return false
	}
	leaf := state.PeerCertificates[0]
	left := time.Until(leaf.NotAfter)
	detail := fmt.Sprintf("%s %s, certificate for %s valid until %s", tlsVersion(state.Version), s.TLS,
		certNames(leaf), leaf.NotAfter.Format("2006-01-02"))
	if left < 14*24*time.Hour {
		detail += fmt.Sprintf(" (expires in %s: renew it soon)", roughDuration(left))
	}
	d.pass(name+" tls", detail)
	return true
}

func portHint(name string) string {
	if name == "smtp" {
		return "usually 587 with tls = \"starttls\" or 465 with tls = \"implicit\""
	}
	return "usually 993 with tls = \"implicit\" or 143 with tls = \"starttls\""
}

// handshake speaks TLS on conn: at once (implicit), or after the protocol's
// STARTTLS.
func handshake(conn net.Conn, name string, s config.Server, cfg *tls.Config) (tls.ConnectionState, error) {
	if s.TLS == config.TLSImplicit {
		tc := tls.Client(conn, cfg)
		if err := tc.Handshake(); err != nil {
			return tls.ConnectionState{}, implicitHint(err, name, s)
		}
		return tc.ConnectionState(), nil
	}
	if name == "smtp" {
		c, err := smtp.NewClient(conn, s.Host)
		if err != nil {
			return tls.ConnectionState{}, fmt.Errorf("smtp greeting: %w", err)
		}
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return tls.ConnectionState{}, errors.New("the server does not offer STARTTLS")
		}
		if err := c.StartTLS(cfg); err != nil {
			return tls.ConnectionState{}, err
		}
		st, _ := c.TLSConnectionState()
		return st, nil
	}
	br := bufio.NewReader(conn)
	greet, err := br.ReadString('\n')
	if err != nil {
		return tls.ConnectionState{}, fmt.Errorf("imap greeting: %w", err)
	}
	if !strings.HasPrefix(greet, "* OK") {
		return tls.ConnectionState{}, fmt.Errorf("imap greeting %q: is this an IMAP port?", strings.TrimSpace(greet))
	}
	if _, err := fmt.Fprint(conn, "d1 STARTTLS\r\n"); err != nil {
		return tls.ConnectionState{}, err
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return tls.ConnectionState{}, fmt.Errorf("imap STARTTLS: %w", err)
		}
		if strings.HasPrefix(line, "d1 ") {
			if !strings.HasPrefix(line, "d1 OK") {
				return tls.ConnectionState{}, fmt.Errorf("imap STARTTLS refused: %s", strings.TrimSpace(line))
			}
			break
		}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return tls.ConnectionState{}, err
	}
	return tc.ConnectionState(), nil
}

// implicitHint explains a handshake that met a plain-text server.
func implicitHint(err error, name string, s config.Server) error {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return fmt.Errorf("%w: the server at %s speaks plain text first: it wants %s.tls = \"starttls\" (or another port)", err, s.Addr(), name)
	}
	return err
}

func tlsFix(name string, s config.Server, err error) string {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return fmt.Sprintf("set %s.ca_file to your server's CA certificate (a self-hosted server), or check %s.host", name, name)
	case errors.As(err, &he):
		return fmt.Sprintf("set %s.host to a name on the certificate (%s)", name, certNames(he.Certificate))
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		return "the server's certificate expired: renew it (or ask your provider)"
	case strings.Contains(err.Error(), "starttls"):
		return fmt.Sprintf("set %s.tls = \"starttls\" for this port, or use the implicit-TLS port", name)
	}
	return fmt.Sprintf("check %s.tls (%q) against %s.port (%d): %s", name, s.TLS, name, s.Port, portHint(name))
}

func certNames(c *x509.Certificate) string {
	var names []string
	names = append(names, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		names = append(names, c.Subject.CommonName)
	}
	return strings.Join(names, ", ")
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "TLS 1.3"
	case tls.VersionTLS12:
		return "TLS 1.2"
	}
	return fmt.Sprintf("TLS 0x%04x", v)
}

// imap logs in, then checks the mailbox, IDLE and the Sent folder.
func (d *doctorRun) imap(ctx context.Context, cfg *config.Config) {
	conn, err := inbox.Dial(ctx, cfg.IMAP, nil)
	if err != nil {
		fix := "check imap.username and the password (imap.password_cmd / password_env; Gmail and iCloud need an app password)"
		if strings.Contains(err.Error(), "connect") {
			fix = "check imap.host and imap.port"
		}
		d.fail("imap login", err, fix)
		for _, n := range []string{"mailbox", "idle", "sent folder"} {
			d.skip(n, "no IMAP login")
		}
		return
	}
	defer conn.Close()
	d.pass("imap login", "logged in as "+cfg.IMAP.Username)
	mailbox := cfg.IMAP.Mailbox
	if mailbox == "" {
		mailbox = "INBOX"
	}
	if n, _, err := conn.Examine(ctx, mailbox); err != nil {
		d.fail("mailbox", err, fmt.Sprintf("set imap.mailbox to a folder that exists (now %q)", mailbox))
	} else {
		d.pass("mailbox", fmt.Sprintf("%s: %d messages (read-only, nothing marked read)", mailbox, n))
	}
	if err := conn.CheckIdle(ctx); err != nil {
		if strings.Contains(err.Error(), "does not offer IDLE") {
			d.pass("idle", "not offered by the server: new mail is found by polling instead")
		} else {
			d.fail("idle", err, "check imap.mailbox; if the server's IDLE is broken, coffeechat still works by polling")
		}
	} else {
		d.pass("idle", "IDLE works: replies are seen as they arrive")
	}
	folder, err := conn.SentFolder(ctx, cfg.IMAP.SentFolder)
	if err != nil {
		d.fail("sent folder", err, "set imap.sent_folder to the name of your Sent folder")
		return
	}
	if cfg.IMAP.SentFolder != "" {
		if _, _, err := conn.Examine(ctx, folder); err != nil {
			d.fail("sent folder", err, fmt.Sprintf("imap.sent_folder = %q does not open: set it to the name of your Sent folder", folder))
			return
		}
	}
	itself := inbox.FilesSentItself(cfg.IMAP.Host, conn.Caps())
	how := "coffeechat files a copy of what it sends there"
	switch {
	case cfg.SMTP.SaveSent == config.SaveSentNever:
		how = "smtp.save_sent = never: no copy is filed"
	case itself && cfg.SMTP.SaveSent != config.SaveSentAlways:
		how = "the provider files sent mail itself: coffeechat adds no copy"
	case itself:
		how = "the provider files sent mail itself, and smtp.save_sent = always adds a second copy (set it to \"auto\")"
	}
	d.pass("sent folder", fmt.Sprintf("%q: %s", folder, how))
}
