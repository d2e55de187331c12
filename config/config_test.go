package config

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/coffeechat/coffeechat"
)

// testEnv is a fixed environment so tests never read or change the process's.
func testEnv(kv ...string) Env {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// flatten maps every TOML key of v ("smtp.port") to its value, following the
// toml tags and flattening embedded structs the way the decoder does.
func flatten(prefix string, v reflect.Value, out map[string]any) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Anonymous && f.Tag.Get("toml") == "" {
			flatten(prefix, v.Field(i), out)
			continue
		}
		name := strings.Split(f.Tag.Get("toml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		if f.Type.Kind() == reflect.Struct {
			flatten(key, v.Field(i), out)
			continue
		}
		out[key] = v.Field(i).Interface()
	}
}

func keysOf(c *Config) map[string]any {
	m := map[string]any{}
	flatten("", reflect.ValueOf(*c), m)
	return m
}

// exampleMayDiffer lists the keys where config.example.toml may differ from
// Default(): the account, smtp and imap identity fields, which the user fills in.
// Today only account.timezone does differ: Default() resolves the system's zone
// while the example leaves it empty ("the system's zone").
var exampleMayDiffer = map[string]bool{
	"account.name": true, "account.email": true, "account.timezone": true,
	"smtp.host": true, "smtp.username": true, "smtp.password_cmd": true, "smtp.password_env": true, "smtp.password": true,
	"imap.host": true, "imap.username": true, "imap.password_cmd": true, "imap.password_env": true, "imap.password": true,
}

func TestExampleMatchesDefault(t *testing.T) {
	env := testEnv("TZ", "America/New_York", "HOME", "/home/sam")
	c, err := parse(bytes.NewReader(coffeechat.ExampleConfig), env)
	if err != nil {
		t.Fatalf("Parse(config.example.toml): %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate(config.example.toml): %v", err)
	}
	got, want := keysOf(c), keysOf(defaultFor(env))
	for k, w := range want {
		g := got[k]
		if reflect.DeepEqual(g, w) {
			continue
		}
		if exampleMayDiffer[k] {
			t.Logf("%s: example %#v, default %#v (identity field, allowed)", k, g, w)
			continue
		}
		t.Errorf("config.example.toml %s = %#v, Default() has %#v", k, g, w)
	}
	if got := c.Location().String(); got != "America/New_York" {
		t.Errorf("example Location() = %s, want the system zone America/New_York", got)
	}
}

func TestExampleHasEveryKey(t *testing.T) {
	var raw map[string]any
	if _, err := toml.Decode(string(coffeechat.ExampleConfig), &raw); err != nil {
		t.Fatal(err)
	}
	inExample := map[string]bool{}
	for sec, v := range raw {
		tbl, ok := v.(map[string]any)
		if !ok {
			t.Errorf("example: top-level key %s is not a table", sec)
			continue
		}
		for k := range tbl {
			inExample[sec+"."+k] = true
		}
	}
	fields := keysOf(Default())
	if len(fields) < 45 {
		t.Fatalf("found only %d config fields: flatten is broken", len(fields))
	}
	for k := range fields {
		if !inExample[k] {
			t.Errorf("config.example.toml lacks %s", k)
		}
	}
	// Each key has a comment on its line.
	for i, line := range strings.Split(string(coffeechat.ExampleConfig), "\n") {
		l := strings.TrimSpace(line)
		if strings.Contains(l, "=") && !strings.HasPrefix(l, "#") && !strings.Contains(l, "#") {
			t.Errorf("config.example.toml line %d has no comment: %s", i+1, l)
		}
	}
}

func TestDefault(t *testing.T) {
	c := defaultFor(testEnv("TZ", "Europe/Berlin"))
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	if c.Account.Timezone != "Europe/Berlin" {
		t.Errorf("Default timezone = %q, want Europe/Berlin from TZ", c.Account.Timezone)
	}
	if c.SMTP.Addr() != ":587" || c.IMAP.Port != 993 || c.IMAP.TLS != "implicit" || c.SMTP.TLS != "starttls" {
		t.Errorf("Default servers: %+v %+v", c.SMTP, c.IMAP)
	}
	if c.FollowupAfter().Hours() != 7*24 || c.Horizon().Hours() != 14*24 || c.ThanksAfter().Hours() != 2 ||
		c.MinGap().Minutes() != 2 || c.Slot().Minutes() != 30 || c.MinNotice().Hours() != 24 {
		t.Errorf("duration getters wrong")
	}
	if err := c.CheckServers(); err == nil {
		t.Errorf("CheckServers() on Default() = nil, want an error naming account.email")
	}
}

// parseString parses a config body with a fixed environment.
func parseString(s string) (*Config, error) {
	return parse(strings.NewReader(s), testEnv("TZ", "UTC", "HOME", "/home/sam", "MAILPW", "x"))
}

func TestBrokenConfigs(t *testing.T) {
	tests := []struct {
		body, key, msg string
	}{
		{"[account]\nemail = \"not an address\"", "account.email", "not an email address"},
		{"[account]\nemail = \"Sam <sam@example.com>\"", "account.email", "bare address"},
		{"[account]\nname = \"Sam\\r\\nBcc: x@evil.test\"", "account.name", "line breaks"},
		{"[account]\ntimezone = \"Mars/Olympus\"", "account.timezone", "unknown time zone"},
		{"[smtp]\ntls = \"ssl\"", "smtp.tls", "must be implicit, starttls or none"},
		{"[imap]\ntls = \"STARTTLS!\"", "imap.tls", "must be implicit, starttls or none"},
		{"[smtp]\nhost = \"smtp.example.com\"\ntls = \"none\"", "smtp.tls", "loopback"},
		{"[smtp]\nport = 0", "smtp.port", "between 1 and 65535"},
		{"[imap]\nport = 70000", "imap.port", "between 1 and 65535"},
		{"[smtp]\nhost = \"smtp.example.com:587\"", "smtp.host", "smtp.port"},
		{"[smtp]\nsave_sent = \"sometimes\"", "smtp.save_sent", "auto, always or never"},
		{"[smtp]\nusername = \"sam@example.com\"", "smtp.username", "password_cmd"},
		{"[imap]\nusername = \"sam\"\nauth = \"xoauth2\"", "imap.token_cmd", "required"},
		{"[imap]\nauth = \"cram-md5\"", "imap.auth", "xoauth2"},
		{"[smtp]\ntimeout = \"soon\"", "smtp.timeout", "duration"},
		{"[smtp]\npassword_env = \"$MAILPW\"", "smtp.password_env", "without $"},
		{"[imap]\nmailbox = \"\"", "imap.mailbox", "must name a mailbox"},
		{"[sending]\nwindow = \"weekdays 8-6\"", "sending.window", "Mon-Fri"},
		{"[sending]\nwindow = \"Mon-Fri 18:00-08:00\"", "sending.window", "Mon-Fri"},
		{"[sending]\ndaily_cap = -1", "sending.daily_cap", "0 (no limit)"},
		{"[sending]\nmin_gap = \"2 minutes\"", "sending.min_gap", "duration"},
		{"[availability]\ndays = \"Mon-Fryday\"", "availability.days", "unknown day"},
		{"[availability]\nhours = \"9-5\"", "availability.hours", "HH:MM"},
		{"[availability]\nhours = \"17:00-09:00\"", "availability.hours", "HH:MM"},
		{"[availability]\nslot = \"0m\"", "availability.slot", "more than zero"},
		{"[availability]\nslot = \"9h\"", "availability.slot", "longer than availability.hours"},
		{"[availability]\npropose = 0", "availability.propose", "between 1 and 10"},
		{"[availability]\npropose = 11", "availability.propose", "between 1 and 10"},
		{"[availability]\nmin_notice = \"-1h\"", "availability.min_notice", "duration"},
		{"[availability]\nhorizon = \"2y\"", "availability.horizon", "duration"},
		{"[availability]\nbusy = [\"\"]", "availability.busy[0]", ".ics"},
		{"[calendar]\nlocation = \"Room 1\\nX-Evil: 1\"", "calendar.location", "line breaks"},
		{"[calendar]\ncaldav_url = \"ftp://dav.example.com/\"", "calendar.caldav_url", "http(s)"},
		{"[calendar]\ncaldav_url = \"http://dav.example.com/\"", "calendar.caldav_url", "https"},
		{"[followup]\nafter = \"0d\"", "followup.after", "more than zero"},
		{"[followup]\nmax = -2", "followup.max", "0 (no follow-ups)"},
		{"[thanks]\nafter = \"later\"", "thanks.after", "duration"},
		{"[log]\nlevel = \"verbose\"", "log.level", "debug, info, warn or error"},
		{"[log]\nformat = \"yaml\"", "log.format", "text or json"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := parseString(tt.body)
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse(%q) error = %v, want a *ValidationError for %s", tt.body, err, tt.key)
			}
			if ve.Key != tt.key || !strings.Contains(ve.Msg, tt.msg) {
				t.Fatalf("Parse(%q) = %v, want key %s and message containing %q", tt.body, err, tt.key, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), tt.key) {
				t.Fatalf("error %q does not start with the key %s", err, tt.key)
			}
		})
	}
}

func TestValidationErrorText(t *testing.T) {
	_, err := parseString("[smtp]\ntls = \"ssl\"\n")
	if got, want := err.Error(), `smtp.tls = "ssl": must be implicit, starttls or none`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	_, err = parseString("[smtp]\nport = 0\n")
	if got, want := err.Error(), `smtp.port = 0: must be between 1 and 65535`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestGoodConfigs(t *testing.T) {
	good := []string{
		"",
		"[smtp]\nhost = \"localhost\"\nport = 2525\ntls = \"none\"",
		"[smtp]\nhost = \"::1\"\ntls = \"none\"",
		"[imap]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"sam\"\npassword_env = \"MAILPW\"",
		"[smtp]\nusername = \"sam\"\nauth = \"xoauth2\"\ntoken_cmd = \"oauth2 token\"",
		"[sending]\nwindow = \"always\"\ndaily_cap = 0",
		"[availability]\ndays = \"Sat-Mon\"\nhours = \"00:00-24:00\"\nhorizon = \"1d12h\"",
		"[calendar]\ncaldav_url = \"http://127.0.0.1:5232/sam/\"",
		"\ufeff[account]\nemail = \"sam@example.com\"\nname = \"Sam Rivera\"\ntimezone = \"America/Los_Angeles\"",
	}
	for _, body := range good {
		if _, err := parseString(body); err != nil {
			t.Errorf("Parse(%q) = %v, want nil", body, err)
		}
	}
}

func TestPortFollowsTLS(t *testing.T) {
	c, err := parseString("[smtp]\ntls = \"implicit\"\n[imap]\ntls = \"starttls\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Port != 465 || c.IMAP.Port != 143 {
		t.Errorf("ports = %d, %d, want 465, 143", c.SMTP.Port, c.IMAP.Port)
	}
	c, err = parseString("[smtp]\ntls = \"implicit\"\nport = 2465\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Port != 2465 {
		t.Errorf("explicit port = %d, want 2465", c.SMTP.Port)
	}
}

func TestUnknownKey(t *testing.T) {
	body := "# my config\n[account]\nemail = \"sam@example.com\"\n\n[smtp]\nhost = \"smtp.example.com\"\npasword = \"x\"\n"
	_, err := parseString(body)
	if err == nil || err.Error() != "unknown key smtp.pasword (line 7)" {
		t.Fatalf("Parse() error = %v, want unknown key smtp.pasword (line 7)", err)
	}
	_, err = parseString("[account]\nemail = \"sam@example.com\"\n[smpt]\nhost = \"x\"\n")
	if err == nil || err.Error() != "unknown key smpt (line 3)" {
		t.Fatalf("Parse() error = %v, want unknown key smpt (line 3)", err)
	}
	_, err = parseString("timezone = \"UTC\"\n")
	if err == nil || err.Error() != "unknown key timezone (line 1)" {
		t.Fatalf("Parse() error = %v, want unknown key timezone (line 1)", err)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := parseString("[account]\nname = \"Sam\"\nemail = sam@example.com\n")
	if err == nil || !strings.HasPrefix(err.Error(), "line 3:") {
		t.Fatalf("Parse() error = %v, want it to start with line 3:", err)
	}
	_, err = parseString("[smtp]\nhost = \"x\"\n\nport = \"587\"\n")
	if err == nil || !strings.Contains(err.Error(), "line 4") || !strings.Contains(err.Error(), "smtp.port") {
		t.Fatalf("Parse() type error = %v, want line 4 and smtp.port", err)
	}
}

func TestLoadAndPermissionWarning(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	body := "[smtp]\nusername = \"sam\"\npassword = \"hunter2\"\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // umask-proof
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	w := c.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "smtp.password") || !strings.Contains(w[0], "chmod 600") {
		t.Fatalf("Warnings() = %q, want one about smtp.password and chmod 600", w)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(path); err != nil || len(c.Warnings()) != 0 {
		t.Fatalf("Load() of a 0600 file: warnings %q, err %v; want none", c.Warnings(), err)
	}
	// A group-readable file with password_cmd is fine.
	os.WriteFile(path, []byte("[smtp]\nusername = \"sam\"\npassword_cmd = \"pass show mail\"\n"), 0o640)
	os.Chmod(path, 0o640)
	if c, err = Load(path); err != nil || len(c.Warnings()) != 0 {
		t.Fatalf("Load() with password_cmd: warnings %q, err %v; want none", c.Warnings(), err)
	}

	os.WriteFile(path, []byte("[smtp]\ntls = \"ssl\"\n"), 0o600)
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+": smtp.tls") {
		t.Fatalf("Load() error = %v, want it prefixed with the path", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Fatalf("Load(missing) error = %v", err)
	}
}

func TestPaths(t *testing.T) {
	env := testEnv("HOME", "/home/sam")
	check := func(name string, got string, err error, want string) {
		t.Helper()
		if err != nil || got != want {
			t.Errorf("%s = %q, %v, want %q", name, got, err, want)
		}
	}
	p, err := env.DefaultPath()
	check("DefaultPath", p, err, "/home/sam/.config/coffeechat/config.toml")
	p, err = env.TemplatesDir()
	check("TemplatesDir", p, err, "/home/sam/.config/coffeechat/templates")
	p, err = env.DataDir()
	check("DataDir", p, err, "/home/sam/.local/share/coffeechat")

	env = testEnv("HOME", "/home/sam", "XDG_CONFIG_HOME", "/cfg", "XDG_DATA_HOME", "/data")
	p, err = env.ConfigDir()
	check("ConfigDir", p, err, "/cfg/coffeechat")
	c := defaultFor(env)
	p, err = c.DBPath()
	check("DBPath", p, err, "/data/coffeechat/coffeechat.db")
	p, err = c.ICSDir()
	check("ICSDir", p, err, "/data/coffeechat/calendar")
	c.Store.Path = "~/db/cc.db"
	p, err = c.DBPath()
	check("DBPath ~", p, err, "/home/sam/db/cc.db")
	c.Calendar.ICSDir = "~/cal"
	p, err = c.ICSDir()
	check("ICSDir ~", p, err, "/home/sam/cal")
	// Without HOME, either way, the error names the key once.
	for _, dir := range []string{"~/cal", ""} {
		c := defaultFor(testEnv())
		c.Calendar.ICSDir = dir
		if _, err := c.ICSDir(); err == nil || strings.Count(err.Error(), "calendar.ics_dir") != 1 {
			t.Errorf("ICSDir(%q) without HOME: %v, want one error naming calendar.ics_dir", dir, err)
		}
	}

	// A relative XDG value is ignored, as the spec says.
	p, err = testEnv("HOME", "/h", "XDG_DATA_HOME", "rel").DataDir()
	check("DataDir relative", p, err, "/h/.local/share/coffeechat")
	if _, err := testEnv().DataDir(); err == nil {
		t.Errorf("DataDir() without HOME = nil error")
	}
}

// TestEnvLoad: a config loaded with an Env takes its default paths, its
// password_env and the time zone's fallback from that Env, not from the
// process environment.
func TestEnvLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	body := "[smtp]\nusername = \"sam\"\npassword_env = \"CC_TEST_ENV_LOAD_PASS\"\n[store]\npath = \"~/cc.db\"\n" +
		"[calendar]\ncaldav_url = \"https://dav.example.com/cal/\"\ncaldav_username = \"sam\"\ncaldav_password_env = \"CC_TEST_ENV_LOAD_DAV\"\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testEnv("HOME", "/home/sam", "XDG_DATA_HOME", "/data", "TZ", "Asia/Tokyo", "CC_TEST_ENV_LOAD_PASS", "s3cret", "CC_TEST_ENV_LOAD_DAV", "dav-s3cret")
	c, err := env.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.DBPath(); err != nil || p != "/home/sam/cc.db" {
		t.Errorf("DBPath() = %q, %v; want /home/sam/cc.db", p, err)
	}
	if p, err := c.ICSDir(); err != nil || p != "/data/coffeechat/calendar" {
		t.Errorf("ICSDir() = %q, %v; want /data/coffeechat/calendar", p, err)
	}
	if got := c.Location().String(); got != "Asia/Tokyo" {
		t.Errorf("Location() = %s, want the Env's TZ Asia/Tokyo", got)
	}
	if s, err := c.SMTP.Secret(t.Context()); err != nil || s != "s3cret" {
		t.Errorf("SMTP.Secret() = %q, %v; want the Env's s3cret", s, err)
	}
	if s, err := c.Calendar.CalDAVSecret(t.Context()); err != nil || s != "dav-s3cret" {
		t.Errorf("Calendar.CalDAVSecret() = %q, %v; want the Env's dav-s3cret", s, err)
	}
	if c, err = testEnv().Load(path); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DBPath(); err == nil || !strings.Contains(err.Error(), "store.path") {
		t.Errorf("DBPath() of ~/cc.db without HOME: %v, want an error naming store.path", err)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	l, err := NewLogger(&buf, Log{Level: "warn", Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", "k", 1)
	if s := buf.String(); strings.Contains(s, "hidden") || !strings.Contains(s, `"msg":"shown"`) {
		t.Errorf("json logger wrote %q", s)
	}
	buf.Reset()
	l, _ = NewLogger(&buf, Log{Level: "debug", Format: "text"})
	l.Debug("dbg")
	if !strings.Contains(buf.String(), "msg=dbg") {
		t.Errorf("text logger wrote %q", buf.String())
	}
	if _, err := NewLogger(&buf, Log{Level: "loud", Format: "text"}); err == nil {
		t.Errorf("NewLogger(level loud) = nil error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(string(coffeechat.ExampleConfig))
	f.Add("[smtp]\nhost = \"localhost\"\ntls = \"none\"\n")
	f.Add("[sending]\nwindow = \"Sat-Mon 00:00-24:00\"\n")
	f.Add("[availability]\nhorizon = \"1d12h\"\nbusy = [\"a.ics\"]\n")
	f.Add("[smtp]\npasword = 1\n")
	f.Fuzz(func(t *testing.T, body string) {
		c, err := parseString(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		// A config that parses must validate again, and its getters must be usable.
		if err := c.Validate(); err != nil {
			t.Fatalf("re-Validate: %v", err)
		}
		w := c.SendingWindow()
		if len(w.Days) == 0 {
			t.Fatalf("valid config with an empty sending window: %q", c.Sending.Window)
		}
		if c.Slot() <= 0 || c.Horizon() <= 0 || c.FollowupAfter() <= 0 {
			t.Fatalf("valid config with non-positive durations")
		}
	})
}
