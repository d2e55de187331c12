package mailer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/wneessen/go-mail/smtp"
)

// Fate is what became of one delivery attempt.
type Fate int

const (
	// Sent: the server accepted the message (250 after DATA).
	Sent Fate = iota
	// Temporary: not delivered; try again later (4xx, or no connection).
	Temporary
	// Permanent: not delivered and retrying will not help (5xx).
	Permanent
	// Uncertain: the connection broke after the message data began; the
	// server may have accepted it. Never resend on its own.
	Uncertain
)

func (f Fate) String() string {
	switch f {
	case Sent:
		return "sent"
	case Temporary:
		return "temporary"
	case Permanent:
		return "permanent"
	case Uncertain:
		return "uncertain"
	}
	return "fate(" + strconv.Itoa(int(f)) + ")"
}

// SendError is a failed (or possibly failed) delivery. Fate alone decides
// whether to retry.
type SendError struct {
	Fate     Fate
	Code     int    // the SMTP reply code; 0 when the connection failed
	Enhanced string // e.g. "5.1.1", when the server gave one
	Text     string // the server's words, or what happened to the connection
	Rcpt     string // the refused recipient, for a RCPT failure
	Err      error
}

func (e *SendError) Error() string {
	var b strings.Builder
	b.WriteString("smtp ")
	b.WriteString(e.Fate.String())
	b.WriteString(" failure")
	if e.Rcpt != "" {
		b.WriteString(" for recipient " + e.Rcpt)
	}
	if e.Code != 0 {
		b.WriteString(": " + strconv.Itoa(e.Code))
		if e.Enhanced != "" {
			b.WriteString(" " + e.Enhanced)
		}
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	if e.Err != nil && (e.Code == 0 || e.Text == "") {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *SendError) Unwrap() error { return e.Err }

// AuthError is a refused login: no mail can go until the user fixes the
// credentials.
type AuthError struct {
	Account string // the user name
	Server  string // host:port
	Hint    string // the setting to check, e.g. "smtp.password_cmd"
	Err     error
}

func (e *AuthError) Error() string {
	s := fmt.Sprintf("smtp login as %s on %s refused: %v", e.Account, e.Server, e.Err)
	if e.Hint != "" {
		s += " (check " + e.Hint + ")"
	}
	return s
}

func (e *AuthError) Unwrap() error { return e.Err }

// Log keys.
const (
	logAddr  = "addr"
	logTLS   = "tls"
	logMsgID = "message_id"
	logRcpts = "rcpts"
	logReply = "reply"
	logFate  = "fate"
	logErr   = "err"
)

// Client delivers over one configured SMTP server.
type Client struct {
	cfg config.SMTP
	log *slog.Logger
	// HelloName is the EHLO name; the host name (or "localhost") when empty.
	HelloName string
}

// NewClient returns a client for cfg. log may be nil.
func NewClient(cfg config.SMTP, log *slog.Logger) *Client {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{cfg: cfg, log: log}
}

// Session is one authenticated SMTP connection, reused for a batch. It is
// not safe for concurrent use.
type Session struct {
	c       *smtp.Client
	conn    net.Conn // the TCP connection under any TLS: deadlines and abort
	log     *slog.Logger
	timeout time.Duration
	tlsMode string
	broken  error // set once the connection is unusable
	mu      sync.Mutex
}

// Dial connects, secures the connection as smtp.tls says, and logs in when
// smtp.username is set. Errors: *AuthError when the login is refused,
// *SendError (Temporary) when the server cannot be reached or fails the
// handshake, and a plain error for a configuration problem (it names the key).
func (c *Client) Dial(ctx context.Context) (*Session, error) {
	cfg := c.cfg.Server
	mode := strings.ToLower(strings.TrimSpace(cfg.TLS))
	switch mode {
	case "implicit", "starttls":
	case "none":
		if !config.IsLoopback(cfg.Host) {
			return nil, fmt.Errorf("smtp.tls = \"none\" is allowed only for a loopback host, not %q: use \"starttls\" or \"implicit\"", cfg.Host)
		}
	case "":
		return nil, errors.New("smtp.tls: empty; want \"implicit\", \"starttls\" or \"none\"")
	default:
		return nil, fmt.Errorf("smtp.tls = %q: want \"implicit\", \"starttls\" or \"none\"", cfg.TLS)
	}
	if cfg.Host == "" {
		return nil, errors.New("smtp.host: empty")
	}
	var tlsCfg *tls.Config
	if mode != "none" {
		var err error
		if tlsCfg, err = cfg.TLSConfig(); err != nil {
			return nil, err
		}
	}
	var secret string
	if cfg.Username != "" {
		var err error
		if secret, err = cfg.Secret(ctx); err != nil {
			return nil, fmt.Errorf("smtp login as %s: %w", cfg.Username, err)
		}
	}
	addr := cfg.Addr()
	timeout := cfg.DialTimeout()
	log := c.log.With(logAddr, addr, logTLS, mode)
	connErr := func(what string, err error) error {
		text := what + ": " + err.Error()
		var uerr x509.UnknownAuthorityError
		var herr x509.HostnameError
		var cerr *tls.CertificateVerificationError
		if errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) {
			text += " (check smtp.ca_file and smtp.host)"
		}
		return &SendError{Fate: Temporary, Text: text, Err: err}
	}

	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, connErr("connect to "+addr, err)
	}
	conn := raw
	// Until the session is ready, ctx cancellation closes the connection.
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	fail := func(e error) (*Session, error) {
		stop()
		_ = raw.Close()
		if ctx.Err() != nil {
			return nil, &SendError{Fate: Temporary, Text: "smtp connect to " + addr + " cancelled", Err: ctx.Err()}
		}
		return nil, e
	}
	_ = raw.SetDeadline(time.Now().Add(timeout))
	if mode == "implicit" {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(connErr("tls handshake with "+addr, err))
		}
		conn = tc
	}
	sc, err := smtp.NewClient(conn, cfg.Host)
	if err != nil {
		return fail(replyError(err, "greeting from "+addr))
	}
	if err := sc.Hello(c.helloName()); err != nil {
		return fail(replyError(err, "EHLO to "+addr))
	}
	if mode == "starttls" {
		if ok, _ := sc.Extension("STARTTLS"); !ok {
			return fail(&SendError{Fate: Temporary, Text: addr + " does not offer STARTTLS (check smtp.tls and smtp.port)"})
		}
		if err := sc.StartTLS(tlsCfg); err != nil {
			var te *textproto.Error
			if errors.As(err, &te) {
				return fail(replyError(err, "STARTTLS with "+addr))
			}
			return fail(connErr("STARTTLS with "+addr, err))
		}
	}
	if cfg.Username != "" {
		if err := c.auth(sc, mode, secret); err != nil {
			var te *textproto.Error
			if errors.As(err, &te) && te.Code/100 == 4 {
				return fail(replyError(err, "AUTH at "+addr))
			}
			if errors.As(err, &te) || errors.Is(err, errNoMechanism) || errors.Is(err, smtp.ErrUnencrypted) {
				return fail(&AuthError{Account: cfg.Username, Server: addr, Hint: c.secretKey(), Err: err})
			}
			return fail(connErr("AUTH at "+addr, err))
		}
	}
	stop()
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	_ = raw.SetDeadline(time.Time{})
	log.Debug("smtp session ready")
	return &Session{c: sc, conn: raw, log: log, timeout: timeout, tlsMode: mode}, nil
}

var errNoMechanism = errors.New("server offers neither AUTH PLAIN nor AUTH LOGIN")

func (c *Client) auth(sc *smtp.Client, mode, secret string) error {
	cfg := c.cfg.Server
	if strings.EqualFold(cfg.Auth, config.AuthXOAuth2) {
		return sc.Auth(smtp.XOAuth2Auth(cfg.Username, secret))
	}
	_, mechs := sc.Extension("AUTH")
	offered := map[string]bool{}
	for _, m := range strings.Fields(mechs) {
		offered[strings.ToUpper(m)] = true
	}
	// Plain text mechanisms only over TLS, or to a loopback address.
	allowUnenc := mode == "none"
	switch {
	case offered["PLAIN"]:
		return sc.Auth(smtp.PlainAuth("", cfg.Username, secret, cfg.Host, allowUnenc))
	case offered["LOGIN"]:
		return sc.Auth(smtp.LoginAuth(cfg.Username, secret, cfg.Host, allowUnenc))
	}
	return fmt.Errorf("%w (offered: %q)", errNoMechanism, mechs)
}

// secretKey names the setting the secret came from, for error hints.
func (c *Client) secretKey() string {
	s := c.cfg.Server
	switch {
	case strings.EqualFold(s.Auth, config.AuthXOAuth2):
		return "smtp.token_cmd"
	case strings.TrimSpace(s.PasswordCmd) != "":
		return "smtp.password_cmd"
	case s.PasswordEnv != "":
		return "smtp.password_env"
	case s.Password != "":
		return "smtp.password"
	}
	return "smtp.username"
}

func (c *Client) helloName() string {
	if c.HelloName != "" {
		return c.HelloName
	}
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// Verify checks connection, TLS and login without sending mail (for
// `coffeechat doctor`).
func (c *Client) Verify(ctx context.Context) error {
	s, err := c.Dial(ctx)
	if err != nil {
		return err
	}
	if err := s.Verify(ctx); err != nil {
		_ = s.Close()
		return err
	}
	return s.Close()
}

// Verify checks that the session is still usable and secured as configured:
// a NOOP round trip, and TLS unless smtp.tls is "none". It sends no mail.
func (s *Session) Verify(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken != nil {
		return &SendError{Fate: Temporary, Text: "smtp connection already lost", Err: s.broken}
	}
	if s.tlsMode != "none" {
		if _, ok := s.c.TLSConnectionState(); !ok {
			return errors.New("smtp connection is not encrypted (check smtp.tls)")
		}
	}
	stop := s.watch(ctx)
	defer stop()
	_ = s.conn.SetDeadline(time.Now().Add(s.timeout))
	if err := s.c.Noop(); err != nil {
		return s.classify(ctx, err, false, "NOOP")
	}
	return nil
}

// Send delivers one composed message and returns the server's final reply
// (the text after 250, usually naming its queue id). The error is always a
// *SendError:
//   - 4xx, or no usable connection before the data began: Temporary;
//   - 5xx, including a refused recipient (then nothing is sent to anyone):
//     Permanent, with the server's words;
//   - the connection lost or ctx cancelled once the data began: Uncertain.
//
// After a Temporary or Uncertain error caused by the connection, the session
// is unusable: Close it and Dial again.
//
// Send writes Raw itself after DATA (through go-mail's smtp client), so the
// server receives exactly Raw. It issues no RSET after an accepted message
// (go-mail's ErrSMTPReset case cannot arise); a problem with the next
// transaction is that message's own Temporary error.
func (s *Session) Send(ctx context.Context, m *Composed) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == nil || len(m.Raw) == 0 || m.From == "" || len(m.Rcpts) == 0 {
		return "", &SendError{Fate: Permanent, Text: "nothing to send: empty message, sender or recipients"}
	}
	if err := checkEnvelope(m); err != nil {
		return "", &SendError{Fate: Permanent, Text: err.Error(), Err: err}
	}
	if s.broken != nil {
		return "", &SendError{Fate: Temporary, Text: "smtp connection lost earlier; dial again", Err: s.broken}
	}
	if err := ctx.Err(); err != nil {
		return "", &SendError{Fate: Temporary, Text: "cancelled before sending", Err: err}
	}
	log := s.log.With(logMsgID, m.MessageID)
	stop := s.watch(ctx)
	defer stop()

	deadline := func(d time.Duration) { _ = s.conn.SetDeadline(time.Now().Add(d)) }
	deadline(s.timeout)
	if err := s.c.Mail("<" + m.From + ">"); err != nil {
		return "", s.abort(ctx, err, "MAIL FROM", "")
	}
	for _, r := range m.Rcpts {
		deadline(s.timeout)
		if err := s.c.Rcpt("<" + r + ">"); err != nil {
			return "", s.abort(ctx, err, "RCPT TO", r)
		}
	}
	deadline(s.timeout)
	id, err := s.c.Text.Cmd("DATA")
	if err == nil {
		s.c.Text.StartResponse(id)
		_, _, err = s.c.Text.ReadResponse(354)
		s.c.Text.EndResponse(id)
	}
	if err != nil {
		return "", s.abort(ctx, err, "DATA", "")
	}
	// From here on, a lost connection may have delivered the message.
	deadline(s.timeout + time.Duration(len(m.Raw)/4096)*time.Second)
	w := s.c.Text.DotWriter()
	if _, err := w.Write(m.Raw); err != nil {
		_ = w.Close()
		return "", s.classify(ctx, err, true, "message data")
	}
	if err := w.Close(); err != nil {
		return "", s.classify(ctx, err, true, "end of data")
	}
	// RFC 5321 gives the server up to 10 minutes for the final reply.
	deadline(max(s.timeout, 10*time.Minute))
	_, reply, err := s.c.Text.ReadResponse(250)
	if err != nil {
		serr := s.classify(ctx, err, true, "reply to data")
		log.Warn("smtp data not accepted", logFate, serr.Fate.String(), logErr, serr.Error())
		return "", serr
	}
	_ = s.conn.SetDeadline(time.Time{})
	log.Debug("smtp sent", logRcpts, len(m.Rcpts), logReply, reply)
	return reply, nil
}

// checkEnvelope refuses envelope addresses that could break an SMTP command
// (Compose makes good ones; a hand-made Composed may not).
func checkEnvelope(m *Composed) error {
	for i, a := range append([]string{m.From}, m.Rcpts...) {
		field := "envelope recipient"
		if i == 0 {
			field = "envelope sender"
		}
		if err := CheckHeader(field, a); err != nil {
			return err
		}
		if a == "" || strings.ContainsAny(a, "<> \t") || !strings.Contains(a, "@") {
			return fmt.Errorf("%s %q: not a bare address", field, clip(a))
		}
	}
	return nil
}

// watch closes the connection if ctx ends before stop is called.
func (s *Session) watch(ctx context.Context) (stop func() bool) {
	return context.AfterFunc(ctx, func() { _ = s.conn.Close() })
}

// abort turns an error before DATA into a SendError and resets the
// transaction when the connection still works.
func (s *Session) abort(ctx context.Context, err error, stage, rcpt string) *SendError {
	serr := s.classify(ctx, err, false, stage)
	serr.Rcpt = rcpt
	if s.broken == nil {
		_ = s.conn.SetDeadline(time.Now().Add(s.timeout))
		if rerr := s.c.Reset(); rerr != nil {
			s.broken = rerr
		}
	}
	return serr
}

// classify maps err from stage to a SendError. A server reply decides by its
// code; anything else means the connection is gone, which is Uncertain once
// the message data began (afterData) and Temporary before.
func (s *Session) classify(ctx context.Context, err error, afterData bool, stage string) *SendError {
	var te *textproto.Error
	if errors.As(err, &te) {
		serr := replyError(err, stage)
		if te.Code == 421 {
			s.broken = err // the server closes after 421
		}
		return serr
	}
	s.broken = err
	_ = s.conn.Close()
	fate := Temporary
	text := "connection lost at " + stage + "; not delivered"
	if afterData {
		fate = Uncertain
		text = "connection lost at " + stage + "; the message may have been delivered"
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		text = strings.Replace(text, "connection lost", "cancelled", 1)
	}
	return &SendError{Fate: fate, Text: text, Err: err}
}

// replyError turns a server reply error into a SendError by its code; any
// other error is a Temporary connection failure.
func replyError(err error, stage string) *SendError {
	var te *textproto.Error
	if !errors.As(err, &te) {
		return &SendError{Fate: Temporary, Text: stage + ": " + err.Error(), Err: err}
	}
	fate := Temporary
	if te.Code >= 500 {
		fate = Permanent
	}
	enh, text := splitEnhanced(te.Msg)
	return &SendError{Fate: fate, Code: te.Code, Enhanced: enh, Text: text, Err: err}
}

// splitEnhanced separates an RFC 3463 status code ("5.1.1") from the text.
func splitEnhanced(msg string) (enh, text string) {
	msg = strings.ReplaceAll(msg, "\n", " ")
	first, rest, _ := strings.Cut(msg, " ")
	parts := strings.Split(first, ".")
	if len(parts) == 3 && (parts[0] == "2" || parts[0] == "4" || parts[0] == "5") {
		for _, p := range parts[1:] {
			if _, err := strconv.Atoi(p); err != nil || len(p) == 0 || len(p) > 3 {
				return "", msg
			}
		}
		return first, rest
	}
	return "", msg
}

// Close ends the session politely (QUIT) and closes the connection. It waits
// for a Send in progress: cancel that Send's ctx to abort it.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.broken == nil {
		_ = s.conn.SetDeadline(time.Now().Add(min(s.timeout, 5*time.Second)))
		_ = s.c.Quit()
		s.broken = net.ErrClosed
	}
	err := s.c.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close smtp connection: %w", err)
	}
	return nil
}
