package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // account.timezone must load on systems without zoneinfo
)

// ValidationError is a setting with a bad value.
type ValidationError struct {
	Key   string // "smtp.tls"
	Value any    // the value as read
	Msg   string // what is wrong, and what is wanted
}

func (e *ValidationError) Error() string {
	switch v := e.Value.(type) {
	case string:
		return fmt.Sprintf("%s = %q: %s", e.Key, v, e.Msg)
	case nil:
		return fmt.Sprintf("%s: %s", e.Key, e.Msg)
	default:
		return fmt.Sprintf("%s = %v: %s", e.Key, v, e.Msg)
	}
}

func invalid(key string, value any, format string, args ...any) *ValidationError {
	return &ValidationError{Key: key, Value: value, Msg: fmt.Sprintf(format, args...)}
}

// Validate checks every setting and returns the first bad one as a
// *ValidationError. Empty server hosts and an empty account.email are allowed
// (a fresh config before the user filled it in); CheckServers requires them.
func (c *Config) Validate() error {
	if c.SMTP.section == "" {
		c.SMTP.section = "smtp"
	}
	if c.IMAP.section == "" {
		c.IMAP.section = "imap"
	}
	if err := c.validateAccount(); err != nil {
		return err
	}
	if err := c.SMTP.validate(); err != nil {
		return err
	}
	switch c.SMTP.SaveSent {
	case SaveSentAuto, SaveSentAlways, SaveSentNever:
	default:
		return invalid("smtp.save_sent", c.SMTP.SaveSent, "must be auto, always or never")
	}
	if err := c.IMAP.validate(); err != nil {
		return err
	}
	if strings.TrimSpace(c.IMAP.Mailbox) == "" {
		return invalid("imap.mailbox", c.IMAP.Mailbox, "must name a mailbox, e.g. INBOX")
	}
	if err := c.validateSchedule(); err != nil {
		return err
	}
	if err := c.validateCalendar(); err != nil {
		return err
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "warning", "error":
	default:
		return invalid("log.level", c.Log.Level, "must be debug, info, warn or error")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		return invalid("log.format", c.Log.Format, "must be text or json")
	}
	return nil
}

func (c *Config) validateAccount() error {
	a := c.Account
	if hasLineBreak(a.Name) {
		return invalid("account.name", a.Name, "must not contain line breaks or control characters")
	}
	if a.Email != "" {
		if err := checkAddress(a.Email); err != nil {
			return invalid("account.email", a.Email, "%v", err)
		}
	}
	tz := a.Timezone
	if tz == "" {
		tz = SystemTimezone(c.env)
	}
	if tz == "Local" {
		return invalid("account.timezone", a.Timezone, "name a zone such as America/Los_Angeles")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return invalid("account.timezone", a.Timezone, "unknown time zone: name one such as America/Los_Angeles or UTC")
	}
	c.loc = loc
	return nil
}

// checkAddress accepts a bare address, "sam@example.com".
func checkAddress(s string) error {
	if hasLineBreak(s) {
		return fmt.Errorf("must not contain line breaks")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("not an email address: %v", err)
	}
	if a.Name != "" || a.Address != strings.TrimSpace(s) {
		return fmt.Errorf("must be a bare address like sam@example.com (the name goes in account.name)")
	}
	return nil
}

// hasLineBreak reports CR, LF, NEL, U+2028, U+2029 or another control character.
func hasLineBreak(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return true
		}
	}
	return false
}

func (s Server) validate() error {
	if s.Host != "" {
		if strings.ContainsAny(s.Host, " \t\r\n/@") || hasLineBreak(s.Host) {
			return invalid(s.key("host"), s.Host, "must be a host name or IP address")
		}
		if _, _, err := net.SplitHostPort(s.Host); err == nil && net.ParseIP(s.Host) == nil {
			return invalid(s.key("host"), s.Host, "must not include the port: put it in %s", s.key("port"))
		}
	}
	if s.Port < 1 || s.Port > 65535 {
		return invalid(s.key("port"), s.Port, "must be between 1 and 65535")
	}
	switch s.TLS {
	case TLSImplicit, TLSStartTLS:
	case TLSNone:
		if s.Host != "" && !IsLoopback(s.Host) {
			return invalid(s.key("tls"), s.TLS, "none is only allowed for a loopback host (localhost, 127.0.0.1, ::1), not %s", s.Host)
		}
	default:
		return invalid(s.key("tls"), s.TLS, "must be implicit, starttls or none")
	}
	if d, err := ParseDuration(s.Timeout); s.Timeout != "" && (err != nil || d <= 0) {
		return invalid(s.key("timeout"), s.Timeout, "must be a positive duration such as 30s")
	}
	if hasLineBreak(s.Username) {
		return invalid(s.key("username"), s.Username, "must not contain line breaks")
	}
	switch s.Auth {
	case AuthDefault:
	case AuthXOAuth2:
		if strings.TrimSpace(s.TokenCmd) == "" {
			return invalid(s.key("token_cmd"), s.TokenCmd, "required when %s = %q", s.key("auth"), AuthXOAuth2)
		}
		if s.Username == "" && !IsLoopback(s.Host) {
			return invalid(s.key("username"), s.Username, "required when %s = %q", s.key("auth"), AuthXOAuth2)
		}
		return nil
	default:
		return invalid(s.key("auth"), s.Auth, "must be empty (PLAIN/LOGIN) or xoauth2")
	}
	if s.PasswordEnv != "" && strings.ContainsAny(s.PasswordEnv, "= \t\r\n$") {
		return invalid(s.key("password_env"), s.PasswordEnv, "must be the name of an environment variable, without $")
	}
	if s.Username != "" && strings.TrimSpace(s.PasswordCmd) == "" && s.PasswordEnv == "" && s.Password == "" {
		return invalid(s.key("username"), s.Username, "set %s, %s or %s to log in", s.key("password_cmd"), s.key("password_env"), s.key("password"))
	}
	return nil
}

// isLoopback reports a host that cannot leave the machine.
// IsLoopback reports whether host names this machine: localhost (and
// *.localhost, RFC 6761) or a loopback address, bracketed or not. Only
// there may mail go without TLS or a login.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateSchedule() error {
	if _, err := ParseWindow(c.Sending.Window, c.Location()); err != nil {
		return invalid("sending.window", c.Sending.Window, "want e.g. \"Mon-Fri 08:00-18:00\" or \"always\"")
	}
	if c.Sending.DailyCap < 0 {
		return invalid("sending.daily_cap", c.Sending.DailyCap, "must be 0 (no limit) or more")
	}
	if err := checkDuration("sending.min_gap", c.Sending.MinGap, false); err != nil {
		return err
	}
	av := c.Availability
	if _, err := ParseDays(av.Days); err != nil {
		return invalid("availability.days", av.Days, "%v", err)
	}
	from, to, err := ParseHours(av.Hours)
	if err != nil {
		return invalid("availability.hours", av.Hours, "want HH:MM-HH:MM, e.g. 09:00-17:00")
	}
	if err := checkDuration("availability.slot", av.Slot, true); err != nil {
		return err
	}
	if slot, _ := ParseDuration(av.Slot); slot > to-from {
		return invalid("availability.slot", av.Slot, "longer than availability.hours %s", av.Hours)
	}
	if av.Propose < 1 || av.Propose > 10 {
		return invalid("availability.propose", av.Propose, "must be between 1 and 10")
	}
	if err := checkDuration("availability.min_notice", av.MinNotice, false); err != nil {
		return err
	}
	if err := checkDuration("availability.horizon", av.Horizon, true); err != nil {
		return err
	}
	if h, _ := ParseDuration(av.Horizon); h > 366*24*time.Hour {
		return invalid("availability.horizon", av.Horizon, "must be at most a year (366d)")
	}
	for i, b := range av.Busy {
		if strings.TrimSpace(b) == "" || hasLineBreak(b) {
			return invalid(fmt.Sprintf("availability.busy[%d]", i), b, "must be an .ics file path or an http(s) URL")
		}
	}
	if err := checkDuration("followup.after", c.Followup.After, true); err != nil {
		return err
	}
	if c.Followup.Max < 0 {
		return invalid("followup.max", c.Followup.Max, "must be 0 (no follow-ups) or more")
	}
	return checkDuration("thanks.after", c.Thanks.After, false)
}

func checkDuration(key, v string, positive bool) error {
	d, err := ParseDuration(v)
	if err != nil {
		return invalid(key, v, "want a duration such as 30m, 2h or 7d")
	}
	if positive && d <= 0 {
		return invalid(key, v, "must be more than zero")
	}
	return nil
}

func (c *Config) validateCalendar() error {
	cal := c.Calendar
	if hasLineBreak(cal.Location) {
		return invalid("calendar.location", cal.Location, "must not contain line breaks")
	}
	if cal.CalDAVURL != "" {
		u, err := url.Parse(cal.CalDAVURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return invalid("calendar.caldav_url", cal.CalDAVURL, "must be an http(s) URL")
		}
		if u.Scheme == "http" && !IsLoopback(u.Hostname()) {
			return invalid("calendar.caldav_url", cal.CalDAVURL, "must use https unless the host is loopback")
		}
	}
	if cal.CalDAVPasswordEnv != "" && strings.ContainsAny(cal.CalDAVPasswordEnv, "= \t\r\n$") {
		return invalid("calendar.caldav_password_env", cal.CalDAVPasswordEnv, "must be the name of an environment variable, without $")
	}
	return nil
}

// CheckServers reports what run and doctor need beyond Validate: account.email,
// smtp.host, imap.host, their usernames (unless the host is loopback) and a
// readable ca_file for each server.
func (c *Config) CheckServers() error {
	if c.Account.Email == "" {
		return invalid("account.email", c.Account.Email, "required: the address you send from")
	}
	for _, s := range []Server{c.SMTP.Server, c.IMAP.Server} {
		if s.Host == "" {
			return invalid(s.key("host"), s.Host, "required: your provider's %s server, e.g. %s.example.com", strings.ToUpper(s.section), s.section)
		}
		if s.Username == "" && !IsLoopback(s.Host) {
			return invalid(s.key("username"), s.Username, "required: usually your email address")
		}
		if _, err := s.TLSConfig(); err != nil {
			return err
		}
	}
	return nil
}
