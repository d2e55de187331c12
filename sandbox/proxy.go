package sandbox

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Proxy forwards TCP connections from Addr to a target and can stall: while
// stalled it accepts and keeps connections open but passes no byte in either
// direction, like a server or network that stopped answering.
type Proxy struct {
	Addr string

	target string
	ln     net.Listener
	done   chan struct{}
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	stalled bool
	resume  chan struct{} // closed when the stall ends
	conns   map[net.Conn]struct{}
	closed  bool
}

// StartProxy listens on 127.0.0.1:0 and forwards to target. It stops when ctx
// ends or on Close.
func StartProxy(ctx context.Context, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy listen: %w", err)
	}
	p := &Proxy{
		Addr:   ln.Addr().String(),
		target: target,
		ln:     ln,
		done:   make(chan struct{}),
		conns:  make(map[net.Conn]struct{}),
	}
	ctx, p.stop = context.WithCancel(ctx)
	go func() {
		<-ctx.Done()
		p.Close()
	}()
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	var pumps sync.WaitGroup
	pumps.Add(2)
	go func() { defer pumps.Done(); p.pump(server, client) }()
	go func() { defer pumps.Done(); p.pump(client, server) }()
	pumps.Wait()
}

// pump copies src to dst, holding each chunk while the proxy is stalled. When
// either side ends, both are closed.
func (p *Proxy) pump(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32*1024)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.waitFlowing() {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// waitFlowing blocks while stalled; false when the proxy closed.
func (p *Proxy) waitFlowing() bool {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return false
		}
		if !p.stalled {
			p.mu.Unlock()
			return true
		}
		ch := p.resume
		p.mu.Unlock()
		select {
		case <-ch:
		case <-p.done:
			return false
		}
	}
}

// Stall stops (on) or resumes (off) forwarding in both directions.
// Connections stay open meanwhile.
func (p *Proxy) Stall(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on == p.stalled {
		return
	}
	p.stalled = on
	if on {
		p.resume = make(chan struct{})
	} else {
		close(p.resume)
	}
}

// Close stops listening and drops every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.stop()
	err := p.ln.Close()
	p.wg.Wait()
	return err
}
