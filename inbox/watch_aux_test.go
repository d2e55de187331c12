package inbox

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/sandbox"
)

// connProxy forwards to an IMAP server and numbers the connections it
// accepts; the second one (the catch-up's second connection) is refused at
// once (refuse), or dropped as soon as it asks for a whole message (die).
// With noBefore, every SEARCH with BEFORE is answered NO by the proxy.
type connProxy struct {
	ln       net.Listener
	target   string
	refuse   bool
	die      bool
	noBefore bool

	mu     sync.Mutex
	n      int
	bodies map[int]int // connection number → BODY.PEEK[] commands seen
	killed bool
}

func startConnProxy(t *testing.T, target string, refuse, die bool) *connProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &connProxy{ln: ln, target: target, refuse: refuse, die: die, bodies: map[int]int{}}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *connProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.n++
		n := p.n
		p.mu.Unlock()
		if n == 2 && p.refuse {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		go func() { io.Copy(c, s); c.Close() }()
		go func() {
			defer s.Close()
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				k, err := c.Read(buf)
				if k > 0 {
					if p.noBefore && bytes.Contains(buf[:k], []byte(" BEFORE ")) {
						tag, _, _ := bytes.Cut(buf[:k], []byte(" "))
						if _, err := c.Write(append(tag, " NO SEARCH BEFORE not here\r\n"...)); err != nil {
							return
						}
						continue
					}
					if bytes.Contains(buf[:k], []byte("BODY.PEEK[]")) {
						p.mu.Lock()
						p.bodies[n]++
						kill := n == 2 && p.die
						p.killed = p.killed || kill
						p.mu.Unlock()
						if kill {
							return
						}
					}
					if _, err := s.Write(buf[:k]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

func (p *connProxy) stats() (conns int, bodies map[int]int, killed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := map[int]int{}
	for k, v := range p.bodies {
		b[k] = v
	}
	return p.n, b, p.killed
}

// TestNarrowingSecondConnection: a narrowed catch-up reads bodies on a
// second connection; when that connection cannot open, or dies mid-way,
// the first reads them instead: every reply applied exactly once, the
// checkpoint at the end, nothing marked \Seen.
func TestNarrowingSecondConnection(t *testing.T) {
	for _, mode := range []string{"ok", "refuse", "die"} {
		t.Run(mode, func(t *testing.T) {
			srv := startServer(t, sandbox.IMAPOptions{})
			deliverMix(t, srv)
			proxy := startConnProxy(t, srv.Addr, mode == "refuse", mode == "die")
			rec := newRecorder(testLogger(t).Handler())
			sink := newMemSink(time.Now().Add(-time.Hour))
			w := NewWatcher(imapConfig(t, proxy.ln.Addr().String()), sink, slog.New(rec), WatchOptions{NarrowAbove: 3, Batch: 2, CommandTimeout: 2 * time.Second})
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatalf("SyncOnce: %v", err)
			}
			assertIDs(t, sink, "r1@x", "j1@x", "b1@x", "r2@x")
			for _, id := range []string{"r1@x", "j1@x", "b1@x", "r2@x"} {
				if n := sink.timesApplied(id); n != 1 {
					t.Errorf("%s applied %d times, want once", id, n)
				}
			}
			if cp := sink.checkpoint(); cp.LastUID != 9 {
				t.Errorf("checkpoint = %+v, want LastUID 9", cp)
			}
			assertUnseen(t, srv, "INBOX")
			conns, bodies, killed := proxy.stats()
			if conns != 2 {
				t.Errorf("%d connections, want 2", conns)
			}
			switch mode {
			case "ok":
				if bodies[2] == 0 || bodies[1] != 0 {
					t.Errorf("bodies read per connection = %v, want all on the second", bodies)
				}
			case "refuse":
				if bodies[1] == 0 {
					t.Errorf("bodies read per connection = %v, want all on the first", bodies)
				}
			case "die":
				if !killed || bodies[1] == 0 {
					t.Errorf("killed=%v, bodies read per connection = %v: want the second dropped and the first reading", killed, bodies)
				}
				if !rec.has("second connection failed") {
					t.Error("no warning that the second connection failed")
				}
			}
		})
	}
}

// TestNarrowingBeforeRefused: a server that refuses the SEARCH BEFORE which
// drops old candidates costs only that economy: the catch-up goes on,
// reads them too (the sink's own dates judge them), says so once, and
// applies every new reply.
func TestNarrowingBeforeRefused(t *testing.T) {
	srv := startServer(t, sandbox.IMAPOptions{})
	old := time.Now().Add(-30 * 24 * time.Hour)
	for _, m := range [][]byte{reply("old1@x"), reply("old2@x")} {
		if err := srv.DeliverAt(testUser, "INBOX", m, old); err != nil {
			t.Fatal(err)
		}
	}
	deliver(t, srv, unrelated("u1@x"), reply("new@x"), fromJane("j1@x"))
	proxy := startConnProxy(t, srv.Addr, false, false)
	proxy.noBefore = true
	rec := newRecorder(testLogger(t).Handler())
	sink := newMemSink(time.Now().Add(-3 * 24 * time.Hour))
	w := NewWatcher(imapConfig(t, proxy.ln.Addr().String()), sink, slog.New(rec), WatchOptions{NarrowAbove: 1, Batch: 2, CommandTimeout: 2 * time.Second})
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	assertIDs(t, sink, "old1@x", "old2@x", "new@x", "j1@x")
	if cp := sink.checkpoint(); cp.LastUID != 5 {
		t.Errorf("checkpoint = %+v, want LastUID 5", cp)
	}
	if !rec.has("SEARCH BEFORE refused") {
		t.Error("no warning that SEARCH BEFORE was refused")
	}
	if conns, _, _ := proxy.stats(); conns != 2 {
		t.Errorf("%d connections, want 2 (the refusal is not a broken connection)", conns)
	}
}
