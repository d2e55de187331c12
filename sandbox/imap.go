package sandbox

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// IMAPOptions configures StartIMAP.
type IMAPOptions struct {
	// TLS serves a fresh self-signed certificate (NewTestCert): Addr then
	// offers STARTTLS and refuses LOGIN before it, and TLSAddr speaks
	// implicit TLS. Without TLS, Addr accepts LOGIN in clear (loopback only).
	TLS bool
	// Users maps an address (the login name) to its password.
	Users map[string]string
	// SentName is the name of each user's Sent folder; default "Sent".
	SentName string
	// NoSpecialUse hides SPECIAL-USE and LIST-EXTENDED, like an old server:
	// clients must find the Sent folder by its name.
	NoSpecialUse bool
	// NoSearch answers every SEARCH with NO, like a server whose SEARCH
	// cannot do what was asked: clients must fall back to reading headers.
	NoSearch bool
	// LazyIdle keeps imapmemserver's own IDLE, which announces only what
	// changes after IDLE started: a message delivered between the client's
	// last command and its IDLE is announced only when IDLE ends. Without
	// it, IDLE announces what is pending at once and then checks every
	// idleCheck, as Dovecot announces pending changes when IDLE starts.
	LazyIdle bool
	// Logger receives the server's error messages; nil discards them.
	Logger *slog.Logger
}

// IMAPServer is go-imap's imapserver over imapmemserver on 127.0.0.1. Each
// user has INBOX and a Sent folder, the latter marked \Sent in LIST unless
// NoSpecialUse. It supports IDLE, APPEND, UID SEARCH and HEADER.FIELDS.
type IMAPServer struct {
	Addr    string // host:port; STARTTLS when TLS is on
	TLSAddr string // host:port of implicit TLS; empty without TLS
	CAPEM   []byte // the certificate to trust when TLS is on

	opts IMAPOptions
	mem  *imapmemserver.Server
	srv  *imapserver.Server
	stop context.CancelFunc

	mu        sync.Mutex
	users     map[string]*sandboxUser
	conns     map[*imapserver.Conn]string // connection → logged-in user
	closed    bool
	serveDone sync.WaitGroup
}

type sandboxUser struct {
	mem       *imapmemserver.User
	password  string
	mailboxes map[string]bool
}

// StartIMAP starts the server on 127.0.0.1:0. It stops when ctx ends or on Close.
func StartIMAP(ctx context.Context, opts IMAPOptions) (*IMAPServer, error) {
	if opts.SentName == "" {
		opts.SentName = "Sent"
	}
	s := &IMAPServer{
		opts:  opts,
		mem:   imapmemserver.New(),
		users: make(map[string]*sandboxUser),
		conns: make(map[*imapserver.Conn]string),
	}
	caps := imap.CapSet{
		imap.CapIMAP4rev1: {},
		imap.CapUIDPlus:   {},
		imap.CapNamespace: {},
		imap.CapMove:      {},
	}
	if !opts.NoSpecialUse {
		caps[imap.CapSpecialUse] = struct{}{}
		caps[imap.CapListExtended] = struct{}{}
	}
	srvOpts := &imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{srv: s, conn: c}, nil, nil
		},
		Caps:         caps,
		Logger:       imapLogger{opts.Logger},
		InsecureAuth: !opts.TLS,
	}
	var tlsLn net.Listener
	if opts.TLS {
		tlsCfg, caPEM, err := NewTestCert()
		if err != nil {
			return nil, err
		}
		s.CAPEM = caPEM
		srvOpts.TLSConfig = tlsCfg
		raw, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("imap sandbox listen: %w", err)
		}
		tlsLn = tls.NewListener(raw, tlsCfg)
		s.TLSAddr = raw.Addr().String()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		if tlsLn != nil {
			tlsLn.Close()
		}
		return nil, fmt.Errorf("imap sandbox listen: %w", err)
	}
	s.Addr = ln.Addr().String()
	s.srv = imapserver.New(srvOpts)
	for user, pw := range opts.Users {
		if err := s.AddUser(user, pw); err != nil {
			ln.Close()
			if tlsLn != nil {
				tlsLn.Close()
			}
			return nil, err
		}
	}
	for _, l := range []net.Listener{ln, tlsLn} {
		if l == nil {
			continue
		}
		s.serveDone.Add(1)
		go func(l net.Listener) {
			defer s.serveDone.Done()
			s.srv.Serve(l)
		}(l)
	}
	ctx, s.stop = context.WithCancel(ctx)
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	return s, nil
}

// AddUser creates a user with an empty INBOX and Sent folder.
func (s *IMAPServer) AddUser(addr, password string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[addr]; ok {
		return fmt.Errorf("imap sandbox: user %s exists", addr)
	}
	u := imapmemserver.NewUser(addr, password)
	for _, name := range []string{"INBOX", s.opts.SentName} {
		if err := u.Create(name, nil); err != nil {
			return fmt.Errorf("imap sandbox: create %s for %s: %w", name, addr, err)
		}
	}
	s.mem.AddUser(u)
	s.users[addr] = &sandboxUser{mem: u, password: password, mailboxes: map[string]bool{"INBOX": true, s.opts.SentName: true}}
	return nil
}

func (s *IMAPServer) user(addr string) (*sandboxUser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[addr]
	if !ok {
		return nil, fmt.Errorf("imap sandbox: no user %s", addr)
	}
	return u, nil
}

// Deliver appends raw to a user's mailbox, as an MTA would: no flags, the
// current time as the internal date. Sessions idling on it are told.
func (s *IMAPServer) Deliver(user, mailbox string, raw []byte) error {
	return s.DeliverAt(user, mailbox, raw, time.Now())
}

// DeliverAt is Deliver with the internal date at (what SEARCH SINCE reads),
// for mail that arrived before a test began.
func (s *IMAPServer) DeliverAt(user, mailbox string, raw []byte, at time.Time) error {
	u, err := s.user(user)
	if err != nil {
		return err
	}
	_, err = u.mem.Append(mailbox, literal{bytes.NewReader(raw)}, &imap.AppendOptions{Time: at})
	if err != nil {
		return fmt.Errorf("imap sandbox: deliver to %s %s: %w", user, mailbox, err)
	}
	return nil
}

// Stored is one message as the server keeps it.
type Stored struct {
	UID   imap.UID
	Flags []imap.Flag
	Raw   []byte
}

// Messages returns the raw messages of a user's mailbox, oldest first.
func (s *IMAPServer) Messages(user, mailbox string) ([][]byte, error) {
	st, err := s.Stored(user, mailbox)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(st))
	for i, m := range st {
		out[i] = m.Raw
	}
	return out, nil
}

// Stored returns the messages of a user's mailbox with their UIDs and flags,
// read over IMAP (EXAMINE and BODY.PEEK, so reading changes nothing).
func (s *IMAPServer) Stored(user, mailbox string) ([]Stored, error) {
	u, err := s.user(user)
	if err != nil {
		return nil, err
	}
	opts := &imapclient.Options{}
	var c *imapclient.Client
	if s.opts.TLS {
		opts.TLSConfig = &tls.Config{InsecureSkipVerify: true} // our own loopback server
		c, err = imapclient.DialTLS(s.TLSAddr, opts)
	} else {
		c, err = imapclient.DialInsecure(s.Addr, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("imap sandbox: read %s: %w", user, err)
	}
	defer c.Close()
	if err := c.Login(user, u.password).Wait(); err != nil {
		return nil, fmt.Errorf("imap sandbox: read %s: %w", user, err)
	}
	sel, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("imap sandbox: read %s %s: %w", user, mailbox, err)
	}
	if sel.NumMessages == 0 {
		return nil, nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap sandbox: read %s %s: %w", user, mailbox, err)
	}
	out := make([]Stored, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, Stored{UID: b.UID, Flags: b.Flags, Raw: b.FindBodySection(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	c.Logout().Wait()
	return out, nil
}

// Recreate deletes a user's mailbox and creates it again, empty, with a new
// UIDVALIDITY. The user's connections are dropped, as a real server drops
// sessions whose selected mailbox vanished.
func (s *IMAPServer) Recreate(user, mailbox string) error {
	u, err := s.user(user)
	if err != nil {
		return err
	}
	if err := u.mem.Delete(mailbox); err != nil {
		return fmt.Errorf("imap sandbox: delete %s: %w", mailbox, err)
	}
	if err := u.mem.Create(mailbox, nil); err != nil {
		return fmt.Errorf("imap sandbox: create %s: %w", mailbox, err)
	}
	s.Kick(user)
	return nil
}

// Kick drops every connection logged in as user.
func (s *IMAPServer) Kick(user string) {
	s.mu.Lock()
	var victims []*imapserver.Conn
	for c, u := range s.conns {
		if u == user {
			victims = append(victims, c)
		}
	}
	s.mu.Unlock()
	for _, c := range victims {
		c.NetConn().Close()
	}
}

// Close stops the server and drops every connection.
func (s *IMAPServer) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
	err := s.srv.Close()
	s.serveDone.Wait()
	return err
}

// imapSession is imapmemserver's session with our own login (to know who is
// connected) and LIST (to mark the Sent folder \Sent).
type imapSession struct {
	*imapmemserver.UserSession
	srv  *IMAPServer
	conn *imapserver.Conn
	user string
}

func (s *imapSession) Login(username, password string) error {
	s.srv.mu.Lock()
	u := s.srv.users[username]
	s.srv.mu.Unlock()
	if u == nil {
		return imapserver.ErrAuthFailed
	}
	if err := u.mem.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u.mem)
	s.user = username
	s.srv.mu.Lock()
	s.srv.conns[s.conn] = username
	s.srv.mu.Unlock()
	return nil
}

func (s *imapSession) Close() error {
	s.srv.mu.Lock()
	delete(s.srv.conns, s.conn)
	s.srv.mu.Unlock()
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *imapSession) names() (*sandboxUser, []string) {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	u := s.srv.users[s.user]
	var names []string
	for n := range u.mailboxes {
		names = append(names, n)
	}
	sort.Strings(names)
	return u, names
}

func (s *imapSession) Create(name string, options *imap.CreateOptions) error {
	if err := s.UserSession.Create(name, options); err != nil {
		return err
	}
	s.srv.mu.Lock()
	s.srv.users[s.user].mailboxes[strings.TrimRight(name, "/")] = true
	s.srv.mu.Unlock()
	return nil
}

func (s *imapSession) Delete(name string) error {
	if err := s.UserSession.Delete(name); err != nil {
		return err
	}
	s.srv.mu.Lock()
	delete(s.srv.users[s.user].mailboxes, name)
	s.srv.mu.Unlock()
	return nil
}

func (s *imapSession) Rename(name, newName string, options *imap.RenameOptions) error {
	if err := s.UserSession.Rename(name, newName, options); err != nil {
		return err
	}
	s.srv.mu.Lock()
	mb := s.srv.users[s.user].mailboxes
	delete(mb, name)
	mb[strings.TrimRight(newName, "/")] = true
	s.srv.mu.Unlock()
	return nil
}

func (s *imapSession) List(w *imapserver.ListWriter, ref string, patterns []string, options *imap.ListOptions) error {
	if len(patterns) == 0 {
		return w.WriteList(&imap.ListData{Attrs: []imap.MailboxAttr{imap.MailboxAttrNoSelect}, Delim: '/'})
	}
	u, names := s.names()
	specialUse := !s.srv.opts.NoSpecialUse && (options.ReturnSpecialUse || options.SelectSpecialUse)
	for _, name := range names {
		match := false
		for _, p := range patterns {
			if imapserver.MatchList(name, '/', ref, p) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		isSent := name == s.srv.opts.SentName
		if options.SelectSpecialUse && !isSent {
			continue
		}
		data := &imap.ListData{Mailbox: name, Delim: '/'}
		if specialUse && isSent {
			data.Attrs = append(data.Attrs, imap.MailboxAttrSent)
		}
		if options.ReturnStatus != nil {
			st, err := u.mem.Status(name, options.ReturnStatus)
			if err != nil {
				return err
			}
			data.Status = st
		}
		if err := w.WriteList(data); err != nil {
			return err
		}
	}
	return nil
}

func (s *imapSession) Search(kind imapserver.NumKind, criteria *imap.SearchCriteria, options *imap.SearchOptions) (*imap.SearchData, error) {
	if s.srv.opts.NoSearch {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "SEARCH is not available here"}
	}
	return s.UserSession.Search(kind, criteria, options)
}

// idleCheck is how often a non-lazy IDLE looks for pending changes.
const idleCheck = 20 * time.Millisecond

// Idle announces mailbox changes until stop is closed. imapmemserver's own
// IDLE is woken only by changes queued after it began, so one queued in
// between would wait for the next command; polling the queue from the start
// closes that window (see LazyIdle).
func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if s.srv.opts.LazyIdle {
		return s.UserSession.Idle(w, stop)
	}
	t := time.NewTicker(idleCheck)
	defer t.Stop()
	for {
		if err := s.UserSession.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-t.C:
		}
	}
}

type literal struct{ *bytes.Reader }

func (l literal) Size() int64 { return l.Reader.Size() }

type imapLogger struct{ log *slog.Logger }

func (l imapLogger) Printf(format string, args ...any) {
	if l.log != nil {
		l.log.Debug("imap sandbox", "msg", fmt.Sprintf(format, args...))
	}
}
