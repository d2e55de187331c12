package config

import (
	"os"
	"time"
)

// Config is the whole configuration file. Durations and windows are kept as the
// strings the user wrote; the parsed forms are filled in by Validate.
type Config struct {
	Account      Account      `toml:"account"`
	SMTP         SMTP         `toml:"smtp"`
	IMAP         IMAP         `toml:"imap"`
	Sending      Sending      `toml:"sending"`
	Availability Availability `toml:"availability"`
	Calendar     Calendar     `toml:"calendar"`
	Followup     Followup     `toml:"followup"`
	Thanks       Thanks       `toml:"thanks"`
	Store        Store        `toml:"store"`
	Log          Log          `toml:"log"`

	path string         // the file Load read
	mode os.FileMode    // its permissions
	loc  *time.Location // account.timezone, resolved by Validate
	env  Env            // environment for paths; nil: the process environment
}

// Account is the person coffeechat writes for.
type Account struct {
	Name     string `toml:"name"`
	Email    string `toml:"email"`
	Timezone string `toml:"timezone"`
}

// Server holds what SMTP and IMAP share: where, how to secure, how to log in.
type Server struct {
	Host        string `toml:"host"`
	Port        int    `toml:"port"`
	TLS         string `toml:"tls"` // "implicit" | "starttls" | "none"
	Username    string `toml:"username"`
	Password    string `toml:"password"` // literal; discouraged
	PasswordCmd string `toml:"password_cmd"`
	PasswordEnv string `toml:"password_env"`
	Auth        string `toml:"auth"` // "" (plain/login as offered) | "xoauth2"
	TokenCmd    string `toml:"token_cmd"`
	CAFile      string `toml:"ca_file"`
	Timeout     string `toml:"timeout"` // dial and command timeout, e.g. "30s"

	section string // "smtp" or "imap", for error messages; set by Default and Parse
	env     Env    // where password_env is looked up; nil: the process environment
}

// Auth values.
const (
	AuthDefault = ""        // PLAIN or LOGIN, as the server offers
	AuthXOAuth2 = "xoauth2" // OAuth2 bearer token from token_cmd
)

// TLS modes.
const (
	TLSImplicit = "implicit"
	TLSStartTLS = "starttls"
	TLSNone     = "none"
)

// SMTP is the outgoing server.
type SMTP struct {
	Server
	SaveSent string `toml:"save_sent"` // "auto" | "always" | "never"
}

// IMAP is the incoming server.
type IMAP struct {
	Server
	Mailbox    string `toml:"mailbox"`
	SentFolder string `toml:"sent_folder"`
}

// Sending limits when and how fast approved mail leaves.
type Sending struct {
	Window   string `toml:"window"`
	DailyCap int    `toml:"daily_cap"`
	MinGap   string `toml:"min_gap"`
}

// Availability is when the user can meet.
type Availability struct {
	Days      string   `toml:"days"`
	Hours     string   `toml:"hours"`
	Slot      string   `toml:"slot"`
	Propose   int      `toml:"propose"`
	MinNotice string   `toml:"min_notice"`
	Horizon   string   `toml:"horizon"`
	Busy      []string `toml:"busy"`
}

// Calendar is where events go.
type Calendar struct {
	AutoInvite        bool   `toml:"auto_invite"`
	Location          string `toml:"location"`
	ICSDir            string `toml:"ics_dir"`
	CalDAVURL         string `toml:"caldav_url"`
	CalDAVUsername    string `toml:"caldav_username"`
	CalDAVPasswordCmd string `toml:"caldav_password_cmd"`
	CalDAVPasswordEnv string `toml:"caldav_password_env"`

	env Env // where caldav_password_env is looked up; nil: the process environment
}

// Followup says when to nudge.
type Followup struct {
	After string `toml:"after"`
	Max   int    `toml:"max"`
}

// Thanks says when to draft thank-you notes.
type Thanks struct {
	After string `toml:"after"`
}

// Store is where the database lives.
type Store struct {
	Path string `toml:"path"`
}

// Log is how the daemon logs.
type Log struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}
