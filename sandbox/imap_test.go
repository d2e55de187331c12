package sandbox

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestIMAPDeliverRecreate(t *testing.T) {
	srv, err := StartIMAP(context.Background(), IMAPOptions{Users: map[string]string{"a@x.test": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	validity := func() uint32 {
		c, err := imapclient.DialInsecure(srv.Addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Login("a@x.test", "pw").Wait(); err != nil {
			t.Fatal(err)
		}
		sel, err := c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatal(err)
		}
		return sel.UIDValidity
	}
	if err := srv.Deliver("a@x.test", "INBOX", []byte("Subject: hi\r\n\r\nbody\r\n")); err != nil {
		t.Fatal(err)
	}
	msgs, err := srv.Messages("a@x.test", "INBOX")
	if err != nil || len(msgs) != 1 || !strings.Contains(string(msgs[0]), "body") {
		t.Fatalf("Messages = %q, %v", msgs, err)
	}
	before := validity()
	if err := srv.Recreate("a@x.test", "INBOX"); err != nil {
		t.Fatal(err)
	}
	if after := validity(); after == before {
		t.Errorf("UIDVALIDITY after Recreate = %d, want a new one", after)
	}
	if msgs, _ := srv.Messages("a@x.test", "INBOX"); len(msgs) != 0 {
		t.Errorf("Recreate left %d messages", len(msgs))
	}
	if err := srv.Deliver("nobody@x.test", "INBOX", nil); err == nil {
		t.Error("Deliver to an unknown user succeeded")
	}
}

func TestProxyStall(t *testing.T) {
	srv, err := StartIMAP(context.Background(), IMAPOptions{Users: map[string]string{"a@x.test": "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p, err := StartProxy(context.Background(), srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Stall(true)
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatal("a greeting came through a stalled proxy")
	}
	p.Stall(false)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "* OK") {
		t.Fatalf("after the stall: %q, %v; want the greeting", line, err)
	}
}
