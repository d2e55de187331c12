package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/coffeechat/coffeechat/sandbox"
)

// Postbox is how simulated people use mail: they send through an SMTP
// server and read their INBOX over IMAP, as their client would.
type Postbox struct {
	SMTP     string // host:port
	StartTLS bool   // STARTTLS before AUTH (the real rig); else plain (loopback sandbox)
	IMAP     string // host:port
	IMAPTLS  bool   // implicit TLS
	TLS      *tls.Config
	// Password returns a user's password; nil: no AUTH for SMTP, and "" for IMAP.
	Password func(user string) string
}

func (p *Postbox) password(user string) string {
	if p.Password == nil {
		return ""
	}
	return p.Password(user)
}

// Send submits raw from one person to the addresses in its To and Cc.
func (p *Postbox) Send(ctx context.Context, from string, raw []byte) error {
	rcpts, err := recipients(raw)
	if err != nil {
		return err
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", p.SMTP)
	if err != nil {
		return fmt.Errorf("send as %s: %w", from, err)
	}
	host, _, _ := net.SplitHostPort(p.SMTP)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("send as %s: %w", from, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if p.StartTLS {
		if err := c.StartTLS(p.TLS); err != nil {
			return fmt.Errorf("send as %s: starttls: %w", from, err)
		}
	}
	if p.Password != nil {
		if err := c.Auth(smtp.PlainAuth("", from, p.password(from), host)); err != nil {
			return fmt.Errorf("send as %s: auth: %w", from, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("send as %s: %w", from, err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("send as %s: rcpt %s: %w", from, r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("send as %s: %w", from, err)
	}
	if _, err := w.Write(raw); err != nil {
		return fmt.Errorf("send as %s: %w", from, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("send as %s: %w", from, err)
	}
	return c.Quit()
}

// Inbox returns the raw messages in user's INBOX, oldest first, read with
// BODY.PEEK from a read-only EXAMINE.
func (p *Postbox) Inbox(ctx context.Context, user string) ([][]byte, error) {
	opts := &imapclient.Options{TLSConfig: p.TLS}
	var c *imapclient.Client
	var err error
	if p.IMAPTLS {
		c, err = imapclient.DialTLS(p.IMAP, opts)
	} else {
		c, err = imapclient.DialInsecure(p.IMAP, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s's inbox: %w", user, err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := c.Login(user, p.password(user)).Wait(); err != nil {
		return nil, fmt.Errorf("read %s's inbox: login: %w", user, err)
	}
	sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil, fmt.Errorf("read %s's inbox: %w", user, err)
	}
	if sel.NumMessages == 0 {
		_ = c.Logout().Wait()
		return nil, nil
	}
	body := &imap.FetchItemBodySection{Peek: true}
	var set imap.SeqSet
	set.AddRange(1, sel.NumMessages)
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{body}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("read %s's inbox: %w", user, err)
	}
	sort.Slice(bufs, func(i, j int) bool { return bufs[i].UID < bufs[j].UID })
	out := make([][]byte, 0, len(bufs))
	for _, b := range bufs {
		out = append(out, b.FindBodySection(body))
	}
	_ = c.Logout().Wait()
	return out, nil
}

// recipients are the addresses in To and Cc (Bcc is never in a sent message).
func recipients(raw []byte) ([]string, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	var out []string
	for _, f := range []string{"To", "Cc"} {
		list, err := m.Header.AddressList(f)
		if err != nil && !errors.Is(err, mail.ErrHeaderNotPresent) {
			return nil, fmt.Errorf("read %s: %w", f, err)
		}
		for _, a := range list {
			out = append(out, a.Address)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("message has no recipient")
	}
	return out, nil
}

// MessageID returns the Message-ID of raw, without <>.
func MessageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	return strings.Trim(strings.TrimSpace(m.Header.Get("Message-Id")), "<>")
}

// Sandbox is the demo's mail world: an SMTP server on loopback that routes
// each accepted message into the IMAP mailbox of every recipient it knows
// (the user and the simulated people), as an MTA with local delivery does.
type Sandbox struct {
	SMTP *sandbox.SMTPServer
	IMAP *sandbox.IMAPServer

	mu      sync.Mutex
	users   map[string]bool // lower-cased addresses with a mailbox
	unknown []string        // recipients without a mailbox, dropped
}

// Password is the sandbox password of every account.
const Password = "demo"

// StartSandbox starts the servers with a mailbox for each address.
func StartSandbox(ctx context.Context, addrs []string) (*Sandbox, error) {
	s := &Sandbox{users: map[string]bool{}}
	users := map[string]string{}
	for _, a := range addrs {
		users[a] = Password
		s.users[strings.ToLower(a)] = true
	}
	im, err := sandbox.StartIMAP(ctx, sandbox.IMAPOptions{Users: users})
	if err != nil {
		return nil, err
	}
	sm, err := sandbox.StartSMTP(ctx, sandbox.SMTPOptions{Users: users, Mechanisms: []string{"PLAIN", "LOGIN"}, Deliver: s.deliver})
	if err != nil {
		im.Close()
		return nil, err
	}
	s.SMTP, s.IMAP = sm, im
	return s, nil
}

// deliver is the SMTP hook: one copy into each known recipient's INBOX.
func (s *Sandbox) deliver(from string, rcpts []string, data []byte) error {
	stamped := append([]byte("Return-Path: <"+from+">\r\n"), data...)
	for _, r := range rcpts {
		s.mu.Lock()
		known := s.users[strings.ToLower(r)]
		if !known {
			s.unknown = append(s.unknown, r)
		}
		s.mu.Unlock()
		if !known {
			continue
		}
		if err := s.IMAP.Deliver(r, "INBOX", stamped); err != nil {
			return err
		}
	}
	return nil
}

// Postbox is how people reach this sandbox.
func (s *Sandbox) Postbox() *Postbox {
	return &Postbox{SMTP: s.SMTP.Addr, IMAP: s.IMAP.Addr, Password: func(string) string { return Password }}
}

// Close stops both servers.
func (s *Sandbox) Close() {
	s.SMTP.Close()
	s.IMAP.Close()
}

// Duplicates counts, per mailbox, Message-IDs found more than once.
func Duplicates(ctx context.Context, pb *Postbox, users []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, u := range users {
		msgs, err := pb.Inbox(ctx, u)
		if err != nil {
			return nil, err
		}
		seen := map[string]int{}
		for _, m := range msgs {
			seen[MessageID(m)]++
		}
		for id, n := range seen {
			if n > 1 {
				out[u] = append(out[u], fmt.Sprintf("%s (%d times)", id, n))
			}
		}
	}
	return out, nil
}
