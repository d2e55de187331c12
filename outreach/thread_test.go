package outreach

import (
	"strings"
	"testing"

	"github.com/coffeechat/coffeechat/store"
)

// TestReplyHeadersSkipSyntheticID: a reply to a message that came without a
// Message-ID (stored under a made-up one) points at nothing of it, only at
// the thread it named; a reply to a real one points at it.
func TestReplyHeadersSkipSyntheticID(t *testing.T) {
	parent := &store.Message{MessageID: syntheticID([]byte("From: a@b\r\n\r\nhi\r\n")), InReplyTo: "ask-1@example.com", References: "root@example.com"}
	irt, refs := replyHeaders(parent)
	if irt != "" || refs != "root@example.com ask-1@example.com" || strings.Contains(refs, "coffeechat.invalid") {
		t.Errorf("reply to a message without Message-ID: In-Reply-To %q, References %q", irt, refs)
	}
	parent.MessageID = "real-1@mail.example"
	if irt, refs = replyHeaders(parent); irt != "real-1@mail.example" || refs != "root@example.com ask-1@example.com real-1@mail.example" {
		t.Errorf("reply to a real message: In-Reply-To %q, References %q", irt, refs)
	}
}
