package inbox

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/charset"
	"github.com/emersion/go-sasl"

	"github.com/coffeechat/coffeechat/config"
)

// ErrTimeout is wrapped by errors from a command the server did not finish
// within the command timeout; the connection is closed by then.
var ErrTimeout = errors.New("no answer")

// Conn is one IMAP connection. Every command runs under a watchdog: when the
// server does not finish it within the command timeout (imap.timeout), or
// ctx ends first, the connection is closed and the command returns an error.
// A Conn is not for concurrent use.
type Conn struct {
	client  *imapclient.Client
	raw     net.Conn
	cfg     config.IMAP
	log     *slog.Logger
	timeout time.Duration
	account string // "imap sam@example.com at imap.example.com:993", for errors
	caps    imap.CapSet

	updates chan struct{} // a new EXISTS arrived; buffered, never blocks the reader
	dead    atomic.Bool
	closeMu sync.Mutex

	selected string
	readOnly bool
}

// Dial connects, secures and logs in as cfg says: tls "implicit", "starttls"
// or "none" (loopback hosts only), ca_file trusted besides the system roots,
// LOGIN (or AUTHENTICATE PLAIN where LOGIN is disabled) with the password, or
// XOAUTH2 with the token of token_cmd when auth = "xoauth2". Errors name the
// account and say what to check.
func Dial(ctx context.Context, cfg config.IMAP, log *slog.Logger) (*Conn, error) {
	return dial(ctx, cfg, log, cfg.DialTimeout())
}

func dial(ctx context.Context, cfg config.IMAP, log *slog.Logger, timeout time.Duration) (*Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if timeout <= 0 {
		timeout = config.DefaultTimeout
	}
	account := fmt.Sprintf("imap %s at %s", cfg.Username, cfg.Addr())
	mode := cfg.TLS
	if mode == "" {
		mode = config.TLSImplicit
	}
	if mode == config.TLSNone && !config.IsLoopback(cfg.Host) {
		return nil, fmt.Errorf("%s: imap.tls = \"none\" is allowed only for a loopback host; use \"implicit\" or \"starttls\"", account)
	}
	secret, err := cfg.Secret(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", account, err)
	}
	var tlsCfg *tls.Config
	if mode != config.TLSNone {
		if tlsCfg, err = cfg.TLSConfig(); err != nil {
			return nil, fmt.Errorf("%s: %w", account, err)
		}
	}

	dctx, cancel := context.WithTimeout(ctx, timeout)
	raw, err := (&net.Dialer{}).DialContext(dctx, "tcp", cfg.Addr())
	cancel()
	if err != nil {
		return nil, fmt.Errorf("%s: connect: %w (check imap.host, imap.port and the network)", account, err)
	}
	c := &Conn{
		raw:     raw,
		cfg:     cfg,
		log:     log,
		timeout: timeout,
		account: account,
		updates: make(chan struct{}, 1),
	}
	opts := &imapclient.Options{
		WordDecoder: &mime.WordDecoder{CharsetReader: charset.Reader},
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			// Runs on the client's reader goroutine: only signal.
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					c.signal()
				}
			},
		},
	}
	fail := func(err error) (*Conn, error) {
		c.kill()
		if c.client != nil {
			c.client.Close()
		}
		return nil, err
	}

	switch mode {
	case config.TLSImplicit:
		tc := tls.Client(raw, tlsCfg)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("%s: TLS handshake: %w (check imap.tls = \"implicit\" matches the port, and imap.ca_file for a self-signed server)", account, err))
		}
		c.client = imapclient.New(tc, opts)
	case config.TLSStartTLS:
		opts.TLSConfig = tlsCfg
		err := c.guard(ctx, "STARTTLS", func(func()) error {
			cl, err := imapclient.NewStartTLS(raw, opts)
			c.client = cl
			return err
		})
		if err != nil {
			return fail(fmt.Errorf("%w (check imap.tls = \"starttls\" matches the port, and imap.ca_file for a self-signed server)", err))
		}
	case config.TLSNone:
		c.client = imapclient.New(raw, opts)
	default:
		return fail(fmt.Errorf("%s: imap.tls = %q: want \"implicit\", \"starttls\" or \"none\"", account, cfg.TLS))
	}

	if err := c.guard(ctx, "greeting", func(func()) error { return c.client.WaitGreeting() }); err != nil {
		return fail(fmt.Errorf("%w (is %s an IMAP server?)", err, cfg.Addr()))
	}

	var caps imap.CapSet
	if err := c.guard(ctx, "CAPABILITY", func(func()) error {
		caps = c.client.Caps()
		if caps == nil {
			return errors.New("no capabilities")
		}
		return nil
	}); err != nil {
		return fail(err)
	}

	if cfg.Auth == config.AuthXOAuth2 {
		if !caps.Has(imap.AuthCap("XOAUTH2")) {
			c.log.Warn("server does not announce AUTH=XOAUTH2; trying anyway", "account", account)
		}
		x := &xoauth2{user: cfg.Username, token: secret}
		err := c.guard(ctx, "AUTHENTICATE XOAUTH2", func(func()) error { return c.client.Authenticate(x) })
		if err != nil {
			if x.detail != "" {
				err = fmt.Errorf("%w: %s", err, x.detail)
			}
			return fail(fmt.Errorf("%w (check imap.username and that imap.token_cmd prints a fresh access token)", err))
		}
	} else {
		var err error
		if caps.Has(imap.CapLoginDisabled) && caps.Has(imap.AuthCap(sasl.Plain)) {
			err = c.guard(ctx, "AUTHENTICATE PLAIN", func(func()) error {
				return c.client.Authenticate(sasl.NewPlainClient("", cfg.Username, secret))
			})
		} else {
			err = c.guard(ctx, "LOGIN", func(func()) error { return c.client.Login(cfg.Username, secret).Wait() })
		}
		if err != nil {
			return fail(fmt.Errorf("%w (check imap.username and the password of imap.password_cmd, password_env or password)", err))
		}
	}

	// Login usually changes the capabilities; ask again.
	if err := c.guard(ctx, "CAPABILITY", func(func()) error {
		c.caps = c.client.Caps()
		if c.caps == nil {
			return errors.New("no capabilities")
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	c.log.Debug("imap connected", "account", account, "tls", mode)
	return c, nil
}

// Close logs out (briefly waiting) and closes the connection.
func (c *Conn) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.client == nil {
		return nil
	}
	if !c.dead.Load() {
		short := c.timeout
		if short > 2*time.Second {
			short = 2 * time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), short)
		c.guard(ctx, "LOGOUT", func(func()) error { return c.client.Logout().Wait() })
		cancel()
	}
	c.kill()
	c.client.Close()
	return nil
}

// Caps are the server's capabilities after login.
func (c *Conn) Caps() imap.CapSet { return c.caps }

// Closed is closed once the connection is gone.
func (c *Conn) Closed() <-chan struct{} { return c.client.Closed() }

func (c *Conn) signal() {
	select {
	case c.updates <- struct{}{}:
	default:
	}
}

func (c *Conn) kill() {
	c.dead.Store(true)
	c.raw.Close()
}

// guard runs fn under the watchdog. fn calls alive() when it makes progress
// (a streamed message arrived), which restarts the timeout.
func (c *Conn) guard(ctx context.Context, what string, fn func(alive func()) error) error {
	if c.dead.Load() {
		return fmt.Errorf("%s: %s: connection closed", c.account, what)
	}
	kick := make(chan struct{}, 1)
	stop := make(chan struct{})
	fired := make(chan error, 1)
	go func() {
		t := time.NewTimer(c.timeout)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fired <- nil
				return
			case <-kick:
				if !t.Stop() {
					select {
					case <-t.C:
					default:
					}
				}
				t.Reset(c.timeout)
			case <-t.C:
				c.kill()
				fired <- fmt.Errorf("%w within %s; connection closed (check the network, or raise imap.timeout)", ErrTimeout, c.timeout)
				return
			case <-ctx.Done():
				c.kill()
				fired <- ctx.Err()
				return
			}
		}
	}()
	alive := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	err := fn(alive)
	close(stop)
	if werr := <-fired; werr != nil {
		return fmt.Errorf("%s: %s: %w", c.account, what, werr)
	}
	if err != nil {
		return fmt.Errorf("%s: %s: %w", c.account, what, err)
	}
	return nil
}

// examine opens mailbox read-only (EXAMINE): nothing this connection does
// can set \Seen or remove a message there.
func (c *Conn) examine(ctx context.Context, mailbox string) (*imap.SelectData, error) {
	var data *imap.SelectData
	err := c.guard(ctx, "EXAMINE "+mailbox, func(func()) error {
		var err error
		data, err = c.client.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
		return err
	})
	if err != nil {
		c.selected = ""
		return nil, err
	}
	c.selected, c.readOnly = mailbox, true
	return data, nil
}

// fetchHeaders returns the header fields of the messages of set, by UID.
func (c *Conn) fetchHeaders(ctx context.Context, set imap.UIDSet) ([]*Headers, error) {
	section := &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: HeaderFields, Peek: true}
	var out []*Headers
	err := c.fetchEach(ctx, set, section, "headers", func(uid imap.UID, body []byte) {
		out = append(out, ParseHeaders(uid, body))
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, nil
}

// fetchBodies returns whole messages (BODY.PEEK[]) by UID.
func (c *Conn) fetchBodies(ctx context.Context, uids []imap.UID) (map[imap.UID][]byte, error) {
	out := make(map[imap.UID][]byte, len(uids))
	if len(uids) == 0 {
		return out, nil
	}
	err := c.fetchEach(ctx, imap.UIDSetNum(uids...), &imap.FetchItemBodySection{Peek: true}, "BODY.PEEK[]", func(uid imap.UID, body []byte) {
		if body != nil {
			out[uid] = body
		}
	})
	return out, err
}

// fetchEach runs one guarded UID FETCH of section over set and hands each
// message's UID and section bytes to got (messages without a UID are skipped:
// they are unilateral FETCH responses, not answers).
func (c *Conn) fetchEach(ctx context.Context, set imap.UIDSet, section *imap.FetchItemBodySection, what string, got func(imap.UID, []byte)) error {
	return c.guard(ctx, "UID FETCH "+set.String()+" "+what, func(alive func()) error {
		cmd := c.client.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
		for {
			msg := cmd.Next()
			if msg == nil {
				break
			}
			alive()
			uid, body, err := readFetched(msg)
			if err != nil {
				cmd.Close()
				return err
			}
			if uid != 0 {
				got(uid, body)
			}
		}
		return cmd.Close()
	})
}

func readFetched(msg *imapclient.FetchMessageData) (imap.UID, []byte, error) {
	var uid imap.UID
	var body []byte
	for {
		item := msg.Next()
		if item == nil {
			return uid, body, nil
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = it.UID
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			b, err := io.ReadAll(it.Literal)
			if err != nil {
				return 0, nil, fmt.Errorf("read message %d: %w", msg.SeqNum, err)
			}
			body = b
		}
	}
}

// uidSearch runs UID SEARCH and returns the UIDs in ascending order.
func (c *Conn) uidSearch(ctx context.Context, criteria *imap.SearchCriteria) ([]imap.UID, error) {
	var uids []imap.UID
	err := c.guard(ctx, "UID SEARCH", func(func()) error {
		data, err := c.client.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return err
		}
		uids = data.AllUIDs()
		return nil
	})
	sort.Slice(uids, func(i, j int) bool { return uids[i] < uids[j] })
	return uids, err
}

func (c *Conn) noop(ctx context.Context) error {
	return c.guard(ctx, "NOOP", func(func()) error { return c.client.Noop().Wait() })
}

// idle waits in IDLE until the server reports new mail, refresh passes, the
// connection ends or ctx is done (then it returns ctx.Err()). Starting and
// ending IDLE are guarded like any command.
func (c *Conn) idle(ctx context.Context, refresh time.Duration) error {
	cmd, err := c.startIdle(ctx)
	if err != nil {
		return err
	}
	t := time.NewTimer(refresh)
	defer t.Stop()
	var waitErr error
	select {
	case <-c.updates:
	case <-t.C:
	case <-c.client.Closed():
		waitErr = fmt.Errorf("%s: IDLE: connection closed by the server", c.account)
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	if waitErr != nil {
		c.kill()
		cmd.Close()
		return waitErr
	}
	return c.endIdle(ctx, cmd)
}

// startIdle sends IDLE, guarded like any command.
func (c *Conn) startIdle(ctx context.Context) (*imapclient.IdleCommand, error) {
	var cmd *imapclient.IdleCommand
	err := c.guard(ctx, "IDLE", func(func()) error {
		var err error
		cmd, err = c.client.Idle()
		return err
	})
	return cmd, err
}

// endIdle sends DONE and waits for the server's answer, guarded.
func (c *Conn) endIdle(ctx context.Context, cmd *imapclient.IdleCommand) error {
	return c.guard(ctx, "DONE", func(func()) error {
		if err := cmd.Close(); err != nil {
			return err
		}
		return cmd.Wait()
	})
}

// pending reports (and clears) whether the server announced new messages.
func (c *Conn) pending() bool {
	select {
	case <-c.updates:
		return true
	default:
		return false
	}
}

// CheckIdle tells whether the server offers IDLE and answers it, on the
// configured mailbox (for `coffeechat doctor`).
func (c *Conn) CheckIdle(ctx context.Context) error {
	if !c.caps.Has(imap.CapIdle) {
		return fmt.Errorf("%s: the server does not offer IDLE; new mail will be found by polling", c.account)
	}
	if _, err := c.examine(ctx, mailboxName(c.cfg)); err != nil {
		return err
	}
	cmd, err := c.startIdle(ctx)
	if err != nil {
		return err
	}
	return c.endIdle(ctx, cmd)
}

func mailboxName(cfg config.IMAP) string {
	if cfg.Mailbox == "" {
		return "INBOX"
	}
	return cfg.Mailbox
}

// xoauth2 is the XOAUTH2 SASL mechanism (Gmail, Outlook): the bearer token in
// the initial response. On failure the server sends a JSON challenge, which is
// answered empty and kept for the error message.
type xoauth2 struct {
	user, token string
	detail      string
}

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

func (x *xoauth2) Next(challenge []byte) ([]byte, error) {
	x.detail = strings.TrimSpace(string(challenge))
	return []byte{}, nil
}
