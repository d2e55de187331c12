package sandbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// SMTPOptions configures StartSMTP.
type SMTPOptions struct {
	// TLS serves with a fresh self-signed certificate (see NewTestCert): STARTTLS
	// is offered, or, with ImplicitTLS, the whole connection is TLS (port 465 style).
	TLS         bool
	ImplicitTLS bool
	// Users are the AUTH PLAIN/LOGIN (and XOAUTH2, the value then being the
	// token) accounts. Empty: no authentication is offered or required.
	Users map[string]string
	// Mechanisms limits the AUTH mechanisms offered (PLAIN, LOGIN, XOAUTH2);
	// empty offers all three.
	Mechanisms []string
	// Deliver, if set, is called for each accepted message after it is
	// recorded; an error turns the reply into a 451.
	Deliver func(from string, rcpts []string, data []byte) error
}

// Received is one message the server accepted (or, with DropAfterData,
// received in full before hanging up).
type Received struct {
	From  string
	Rcpts []string
	Data  []byte
	At    time.Time
}

// Fault makes the next transactions fail. Stage is "mail", "rcpt" or "data".
type Fault struct {
	Stage    string
	Code     int    // the reply code, e.g. 421, 450, 550
	Enhanced string // e.g. "5.1.1"; a default per code when empty
	Text     string // the server's words; a default per code when empty
	Times    int    // how many transactions it hits; 0 means 1
	// Rcpt limits a "rcpt" fault to this recipient address (case-insensitive).
	Rcpt string
	// DropMidData closes the connection while the DATA is streaming, without
	// recording the message. DropAfterData receives and records the message,
	// then closes the connection without replying. Both imply Stage "data".
	DropMidData   bool
	DropAfterData bool
	// Hang makes the stage wait without replying until the client goes away
	// or the server closes.
	Hang bool
}

// SMTPServer is a go-smtp server on 127.0.0.1 that records what it receives.
type SMTPServer struct {
	Addr  string // host:port
	CAPEM []byte // the certificate to trust when TLS is on

	srv  *smtp.Server
	ln   net.Listener
	opts SMTPOptions
	done chan struct{}

	mu       sync.Mutex
	received []Received
	faults   []*Fault
	conns    int
	queued   int
	closed   bool
}

// StartSMTP starts a server on 127.0.0.1:0; it stops when ctx ends or Close
// is called.
func StartSMTP(ctx context.Context, opts SMTPOptions) (*SMTPServer, error) {
	s := &SMTPServer{opts: opts, done: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.MaxMessageBytes = 32 << 20
	srv.MaxRecipients = 100
	srv.EnableSMTPUTF8 = true
	srv.ReadTimeout = time.Minute
	srv.WriteTimeout = time.Minute
	if opts.TLS {
		cfg, caPEM, err := NewTestCert()
		if err != nil {
			return nil, err
		}
		srv.TLSConfig = cfg
		s.CAPEM = caPEM
	} else {
		srv.AllowInsecureAuth = true // loopback only
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sandbox listen: %w", err)
	}
	ln = &countingListener{Listener: ln, s: s}
	if opts.TLS && opts.ImplicitTLS {
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	s.srv, s.ln, s.Addr = srv, ln, ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// Received returns a copy of the messages accepted so far, in order.
func (s *SMTPServer) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Received, len(s.received))
	copy(out, s.received)
	return out
}

// Connections is how many TCP connections the server has accepted.
func (s *SMTPServer) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Fail queues a fault for the next transactions. Faults are consumed in the
// order they were queued.
func (s *SMTPServer) Fail(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	if f.DropMidData || f.DropAfterData {
		f.Stage = "data"
	}
	f.Stage = strings.ToLower(f.Stage)
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// Close stops the server and closes every connection.
func (s *SMTPServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	s.mu.Unlock()
	// Closed here too: go-smtp's Close knows only the listeners Serve has
	// registered, and a Close right after StartSMTP can come first, leaving
	// the server accepting forever.
	s.ln.Close()
	if err := s.srv.Close(); err != nil && !errors.Is(err, smtp.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close smtp sandbox: %w", err)
	}
	return nil
}

// fault takes one use of the first fault for stage that applies to rcpt.
func (s *SMTPServer) fault(stage, rcpt string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Stage != stage || (f.Rcpt != "" && !strings.EqualFold(f.Rcpt, rcpt)) {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

func (s *SMTPServer) record(r Received) {
	s.mu.Lock()
	s.received = append(s.received, r)
	s.mu.Unlock()
}

func (s *SMTPServer) queueID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queued++
	return fmt.Sprintf("Q%06d", s.queued)
}

type countingListener struct {
	net.Listener
	s *SMTPServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

func (s *SMTPServer) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &smtpSession{s: s, c: c}, nil
}

type smtpSession struct {
	s      *SMTPServer
	c      *smtp.Conn
	authed bool
	from   string
	rcpts  []string
}

func (ss *smtpSession) AuthMechanisms() []string {
	if len(ss.s.opts.Users) == 0 {
		return nil
	}
	if len(ss.s.opts.Mechanisms) > 0 {
		return ss.s.opts.Mechanisms
	}
	return []string{sasl.Plain, sasl.Login, "XOAUTH2"}
}

func (ss *smtpSession) Auth(mech string) (sasl.Server, error) {
	check := func(user, pass string) error {
		want, ok := ss.s.opts.Users[user]
		if !ok || want != pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}
	mech = strings.ToUpper(mech)
	offered := false
	for _, m := range ss.AuthMechanisms() {
		offered = offered || strings.EqualFold(m, mech)
	}
	if !offered {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return smtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	case "XOAUTH2":
		return &xoauth2Server{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (ss *smtpSession) Reset() { ss.from, ss.rcpts = "", nil }

func (ss *smtpSession) Logout() error { return nil }

func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.s.opts.Users) > 0 && !ss.authed {
		return smtp.ErrAuthRequired
	}
	if f := ss.s.fault("mail", ""); f != nil {
		return ss.apply(f)
	}
	ss.from, ss.rcpts = from, nil
	return nil
}

func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if f := ss.s.fault("rcpt", to); f != nil {
		if f.Rcpt != "" && f.Text == "" {
			f.Text = "<" + to + ">: Recipient address rejected: User unknown in local recipient table"
		}
		return ss.apply(f)
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *smtpSession) Data(r io.Reader) error {
	f := ss.s.fault("data", "")
	if f != nil && f.DropMidData {
		buf := make([]byte, 64)
		_, _ = io.ReadFull(r, buf)
		_ = ss.c.Conn().Close()
		return errors.New("dropped mid-data")
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "read data: " + err.Error()}
	}
	rec := Received{From: ss.from, Rcpts: append([]string(nil), ss.rcpts...), Data: data, At: time.Now()}
	if f != nil && f.DropAfterData {
		ss.s.record(rec)
		_ = ss.c.Conn().Close()
		return errors.New("dropped after data")
	}
	if f != nil {
		return ss.apply(f)
	}
	ss.s.record(rec)
	if d := ss.s.opts.Deliver; d != nil {
		if err := d(rec.From, rec.Rcpts, rec.Data); err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "local delivery: " + err.Error()}
		}
	}
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK: queued as " + ss.s.queueID()}
}

// apply answers with a fault: hang, or reply with its code (and hang up
// after a 421, as real servers do).
func (ss *smtpSession) apply(f *Fault) error {
	if f.Hang {
		// The client sends nothing while it waits for our reply: this read
		// returns when it hangs up or the server closes.
		_, _ = ss.c.Conn().Read(make([]byte, 1))
		return errors.New("hung up")
	}
	code := f.Code
	if code == 0 {
		code = 451
	}
	enh, text := faultDefaults(code)
	if f.Enhanced != "" {
		enh = f.Enhanced
	}
	if f.Text != "" {
		text = f.Text
	}
	if code == 421 {
		nc := ss.c.Conn()
		_, _ = fmt.Fprintf(nc, "421 %s %s\r\n", enh, text)
		_ = nc.Close()
		return errors.New("closing")
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: parseEnhanced(enh), Message: text}
}

func faultDefaults(code int) (enh, text string) {
	switch code {
	case 421:
		return "4.3.2", "Service not available, closing transmission channel"
	case 450:
		return "4.2.1", "Mailbox temporarily unavailable, try again later"
	case 451:
		return "4.3.0", "Local error in processing, try again later"
	case 452:
		return "4.3.1", "Insufficient system storage"
	case 550:
		return "5.1.1", "Mailbox unavailable"
	case 552:
		return "5.3.4", "Message size exceeds fixed limit"
	case 553:
		return "5.1.3", "Mailbox name not allowed"
	case 554:
		return "5.7.1", "Message rejected as spam"
	}
	if code >= 500 {
		return "5.0.0", "Permanent failure"
	}
	return "4.0.0", "Temporary failure"
}

func parseEnhanced(s string) smtp.EnhancedCode {
	var ec smtp.EnhancedCode
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return smtp.NoEnhancedCode
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return smtp.NoEnhancedCode
		}
		ec[i] = n
	}
	return ec
}

// loginServer is the server side of the obsolete but common AUTH LOGIN.
type loginServer struct {
	check func(user, pass string) error
	user  string
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step++
		if len(resp) > 0 { // initial response carries the user name
			l.user = string(resp)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(resp)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		return nil, true, l.check(l.user, string(resp))
	}
	return nil, false, errors.New("unexpected LOGIN response")
}

// xoauth2Server accepts "user=U\x01auth=Bearer TOKEN\x01\x01" with the token
// as the user's password.
type xoauth2Server struct {
	check func(user, pass string) error
}

func (x *xoauth2Server) Next(resp []byte) ([]byte, bool, error) {
	if resp == nil {
		return []byte{}, false, nil
	}
	var user, token string
	for _, kv := range strings.Split(string(resp), "\x01") {
		if v, ok := strings.CutPrefix(kv, "user="); ok {
			user = v
		}
		if v, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
			token = v
		}
	}
	return nil, true, x.check(user, token)
}
