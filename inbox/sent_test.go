package inbox

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coffeechat/coffeechat/sandbox"
)

func TestSentFolder(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts sandbox.IMAPOptions
		want string
	}{
		// A name no list knows: only SPECIAL-USE can find it.
		{"special-use", sandbox.IMAPOptions{SentName: "Gesendet"}, "Gesendet"},
		{"by name", sandbox.IMAPOptions{SentName: "Sent Items", NoSpecialUse: true}, "Sent Items"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.opts)
			c, err := Dial(ctx, imapConfig(t, srv.Addr), testLogger(t))
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			got, err := c.SentFolder(ctx, "")
			if err != nil || got != tc.want {
				t.Errorf("SentFolder() = %q, %v, want %q", got, err, tc.want)
			}
			if got, err := c.SentFolder(ctx, "Archive/Sent"); got != "Archive/Sent" || err != nil {
				t.Errorf("SentFolder(configured) = %q, %v, want the configured name", got, err)
			}
		})
	}

	t.Run("none", func(t *testing.T) {
		srv := startServer(t, sandbox.IMAPOptions{SentName: "Gesendet", NoSpecialUse: true})
		c, err := Dial(ctx, imapConfig(t, srv.Addr), testLogger(t))
		if err != nil {
			t.Fatalf("Dial: %v", err)
		}
		defer c.Close()
		if got, err := c.SentFolder(ctx, ""); err == nil || !strings.Contains(err.Error(), "imap.sent_folder") {
			t.Errorf("SentFolder() = %q, %v, want an error naming imap.sent_folder", got, err)
		}
	})
}

func TestAppendSentAndHasMessageID(t *testing.T) {
	ctx := context.Background()
	srv := startServer(t, sandbox.IMAPOptions{})
	c, err := Dial(ctx, imapConfig(t, srv.Addr), testLogger(t))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	folder, err := c.SentFolder(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	raw := []byte("From: sam@example.test\r\nTo: jo@else.test\r\nSubject: coffee?\r\nMessage-ID: <abc123@coffee.test>\r\n\r\nHi Jo\r\n")
	sent := time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	if err := c.AppendSent(ctx, folder, raw, sent); err != nil {
		t.Fatalf("AppendSent: %v", err)
	}
	st, err := srv.Stored(testUser, folder)
	if err != nil || len(st) != 1 {
		t.Fatalf("Stored(Sent) = %d messages, %v; want 1", len(st), err)
	}
	if string(st[0].Raw) != string(raw) {
		t.Errorf("Sent holds %q, want %q", st[0].Raw, raw)
	}
	seen := false
	for _, f := range st[0].Flags {
		seen = seen || f == imap.FlagSeen
	}
	if !seen {
		t.Errorf("Sent copy flags = %v, want \\Seen", st[0].Flags)
	}

	for id, want := range map[string]bool{
		"abc123@coffee.test":   true,
		"<abc123@coffee.test>": true,
		"bc123@coffee.test":    false, // a substring is not the id
		"zzz@coffee.test":      false,
	} {
		got, err := c.HasMessageID(ctx, folder, id)
		if err != nil || got != want {
			t.Errorf("HasMessageID(%q) = %v, %v, want %v", id, got, err, want)
		}
	}
}

func TestFilesSentItself(t *testing.T) {
	gm := imap.CapSet{imap.Cap("X-GM-EXT-1"): {}}
	for _, tc := range []struct {
		host string
		caps imap.CapSet
		want bool
	}{
		{"imap.gmail.com", nil, true},
		{"imap.googlemail.com", nil, true},
		{"mail.mycompany.com", gm, true}, // Google Workspace on a custom name
		{"outlook.office365.com", nil, true},
		{"imap-mail.outlook.com", nil, true},
		{"imap.mail.me.com", nil, true},
		{"imap.fastmail.com", nil, false},
		{"mail.example.com", imap.CapSet{imap.CapIdle: {}}, false},
		{"notoutlook.com", nil, false},
	} {
		if got := FilesSentItself(tc.host, tc.caps); got != tc.want {
			t.Errorf("FilesSentItself(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}
