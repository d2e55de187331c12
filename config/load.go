package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Default is the configuration before any file is read: every default of
// config.example.toml, with account.timezone set to the system's zone.
func Default() *Config {
	return defaultFor(OSEnv)
}

func defaultFor(env Env) *Config {
	c := &Config{
		Account: Account{Timezone: SystemTimezone(env)},
		SMTP: SMTP{
			Server:   Server{Port: 587, TLS: TLSStartTLS, Timeout: "30s", section: "smtp"},
			SaveSent: SaveSentAuto,
		},
		IMAP: IMAP{
			Server:  Server{Port: 993, TLS: TLSImplicit, Timeout: "30s", section: "imap"},
			Mailbox: "INBOX",
		},
		Sending: Sending{Window: "Mon-Fri 08:00-18:00", DailyCap: 20, MinGap: "2m"},
		Availability: Availability{
			Days: "Mon-Fri", Hours: "09:00-17:00", Slot: "30m", Propose: 3,
			MinNotice: "24h", Horizon: "14d", Busy: []string{},
		},
		Calendar: Calendar{AutoInvite: true, env: env},
		Followup: Followup{After: "7d", Max: 1},
		Thanks:   Thanks{After: "2h"},
		Log:      Log{Level: "info", Format: "text"},
		env:      env,
	}
	c.SMTP.env, c.IMAP.env = env, env
	return c
}

// save_sent values.
const (
	SaveSentAuto   = "auto"   // file a copy unless the provider does (Gmail, Outlook, iCloud)
	SaveSentAlways = "always" // always APPEND a copy to the Sent folder
	SaveSentNever  = "never"
)

// Parse reads a TOML configuration over Default and validates it. An unknown
// key is an error naming it and its line; so is a syntax error. Parse does not
// require the servers to be filled in: see CheckServers.
func Parse(r io.Reader) (*Config, error) {
	return parse(r, OSEnv)
}

func parse(r io.Reader, env Env) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	c := defaultFor(env)
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(c)
	if err != nil {
		return nil, tomlError(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		if line := keyLine(data, k); line > 0 {
			return nil, fmt.Errorf("unknown key %s (line %d)", k, line)
		}
		return nil, fmt.Errorf("unknown key %s", k)
	}
	// A port left out follows the TLS mode: 465 for SMTP with implicit TLS, 143
	// for IMAP with STARTTLS or none, 25 for SMTP without TLS.
	if !md.IsDefined("smtp", "port") {
		switch c.SMTP.TLS {
		case TLSImplicit:
			c.SMTP.Port = 465
		case TLSNone:
			c.SMTP.Port = 25
		}
	}
	if !md.IsDefined("imap", "port") && (c.IMAP.TLS == TLSStartTLS || c.IMAP.TLS == TLSNone) {
		c.IMAP.Port = 143
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// tomlError rewrites the decoder's errors without the "toml: " prefix and with
// the line first.
func tomlError(err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			return fmt.Errorf("line %d: %s: %s", pe.Position.Line, pe.LastKey, msg)
		}
		return fmt.Errorf("line %d: %s", pe.Position.Line, msg)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "toml: "))
}

// keyLine finds the line where key is set (or, for a table, opened), scanning the
// text: the decoder does not say. It returns 0 when it cannot tell.
func keyLine(data []byte, key toml.Key) int {
	want := key.String()
	table := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#':
			continue
		case strings.HasPrefix(line, "["):
			name := strings.Trim(stripComment(line), "[] \t")
			table = normKey(name)
			if table == want {
				return n
			}
		default:
			eq := strings.IndexByte(line, '=')
			if eq < 0 {
				continue
			}
			k := normKey(line[:eq])
			full := k
			if table != "" {
				full = table + "." + k
			}
			if full == want || strings.HasPrefix(want, full+".") {
				return n
			}
		}
	}
	return 0
}

// normKey turns `a . "b"` into a.b, the form toml.Key.String gives for plain keys.
func normKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if uq, err := strconv.Unquote(p); err == nil {
			p = uq
		} else {
			p = strings.Trim(p, "'")
		}
		parts[i] = p
	}
	return strings.Join(parts, ".")
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i]
	}
	return s
}

// Load reads and parses the file at path; errors start with the path. Check
// Warnings afterwards for what is allowed but unwise.
func Load(path string) (*Config, error) { return Env(OSEnv).Load(path) }

// Load is Load with e as the environment of the Config: its default paths
// (DBPath, ICSDir), the system time zone and password_env are looked up in e.
func (e Env) Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already names the path
	}
	defer f.Close()
	c, err := parse(f, e)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.path = path
	if fi, err := f.Stat(); err == nil {
		c.mode = fi.Mode().Perm()
	}
	return c, nil
}

// Path is the file the configuration was loaded from, empty for Parse.
func (c *Config) Path() string { return c.path }

// Warnings lists settings that work but are unwise: a literal password in a file
// readable by group or others.
func (c *Config) Warnings() []string {
	var w []string
	if c.path != "" && c.mode&0o077 != 0 {
		for _, s := range []Server{c.SMTP.Server, c.IMAP.Server} {
			if s.Password != "" {
				w = append(w, fmt.Sprintf("%s holds a literal password (%s) and is readable by others (mode %04o): run chmod 600 %s, or use password_cmd or password_env",
					c.path, s.key("password"), c.mode, c.path))
			}
		}
	}
	return w
}
