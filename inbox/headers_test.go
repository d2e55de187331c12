package inbox

import (
	"net/mail"
	"reflect"
	"testing"
	"time"
)

func TestParseHeaders(t *testing.T) {
	raw := []byte("Message-ID: <r1@mail.else.test>\r\n" +
		"In-Reply-To: <ask1@coffee.test> (Sam's message)\r\n" +
		"References: <ask0@coffee.test>\r\n\t<ask1@coffee.test>\r\n" +
		"From: =?UTF-8?Q?Jos=C3=A9_D=C3=ADaz?= <jose@else.test>\r\n" +
		"To: sam@example.test, \"Roe, Jane\" <jane@corp.test>\r\n" +
		"Cc: broken <<@>>, ok@x.test\r\n" +
		"Subject: =?ISO-8859-1?Q?R=E9:_caf=E9?=\r\n" +
		"Date: Tue, 3 Nov 2026 08:15:00 -0800\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Auto-Submitted: auto-replied\r\n" +
		"Precedence: bulk\r\n" +
		"List-Id: <news.list.test>\r\n" +
		"Return-Path: <>\r\n" +
		"X-Autoreply: yes\r\n\r\n")
	h := ParseHeaders(7, raw)
	if h.UID != 7 || h.MessageID != "r1@mail.else.test" || h.InReplyTo != "ask1@coffee.test" {
		t.Errorf("ids = %d %q %q", h.UID, h.MessageID, h.InReplyTo)
	}
	if want := []string{"ask0@coffee.test", "ask1@coffee.test"}; !reflect.DeepEqual(h.References, want) {
		t.Errorf("References = %q, want %q", h.References, want)
	}
	if h.From == nil || h.From.Name != "José Díaz" || h.From.Address != "jose@else.test" {
		t.Errorf("From = %v", h.From)
	}
	if len(h.To) != 2 || h.To[1].Name != "Roe, Jane" {
		t.Errorf("To = %v", h.To)
	}
	if len(h.Cc) != 1 || h.Cc[0].Address != "ok@x.test" {
		t.Errorf("Cc = %v, want the one good address", h.Cc)
	}
	if h.Subject != "Ré: café" {
		t.Errorf("Subject = %q", h.Subject)
	}
	if want := time.Date(2026, 11, 3, 16, 15, 0, 0, time.UTC); !h.Date.Equal(want) {
		t.Errorf("Date = %v, want %v", h.Date, want)
	}
	if h.ContentType != "text/plain; charset=utf-8" || h.AutoSubmitted != "auto-replied" || h.Precedence != "bulk" ||
		h.ListID != "<news.list.test>" || h.ReturnPath != "<>" {
		t.Errorf("fields = %+v", h)
	}
	if got := h.Get("X-Autoreply"); got != "yes" {
		t.Errorf("Get(X-Autoreply) = %q", got)
	}
}

func TestParseHeadersGarbage(t *testing.T) {
	for _, raw := range []string{"", "\r\n", "no colon here\r\n\r\n", "From\r\n", ":\r\n", "Message-ID: \r\nDate: yesterday\r\n"} {
		h := ParseHeaders(1, []byte(raw))
		if h == nil || h.MessageID != "" || !h.Date.IsZero() {
			t.Errorf("ParseHeaders(%q) = %+v", raw, h)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	for in, want := range map[string][]string{
		"<a@x> <b@y>":          {"a@x", "b@y"},
		"<a@x>,<b@y>":          {"a@x", "b@y"},
		"a@x b@y":              {"a@x", "b@y"},
		"<a@x> (comment)":      {"a@x"},
		"":                     nil,
		"<with space@x> <c@z>": {"c@z"},
		"<<a@x>>":              {"a@x"},
	} {
		if got := MessageIDs(in); !reflect.DeepEqual(got, want) {
			t.Errorf("MessageIDs(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestParseHeadersAsRead: the watcher picks candidates by ParseHeaders, the
// workflow matches them by Read; both must read a header block the same way,
// or an unthreaded reply whose From only the lenient reading understands is
// never even read.
func TestParseHeadersAsRead(t *testing.T) {
	for _, hdr := range []string{
		"From: Jane Doe <jane@x.test>;\r\n",
		"Subject\t: Re: coffee\r\nFrom : Jane Doe <jane@x.test>\r\n",
		"From: Müller, Hans <hans@x.test>\r\n",
		"From: \"Hans\" <hans@x.test>, bad@\r\nTo: a@x.test, <<@>>, b@x.test\r\n",
		"From: jane@x.test (Jane Doe)\r\nDate: Tue, 3 Nov 2026 08:15:00\r\n",
		"From: j@x.test\r\nMessage-ID: <<m1@x.test>>\r\nIn-Reply-To: r1@x.test\r\nReferences: <a@x.test>,<b@x.test>\r\n",
		"From: j@x.test\r\nSubject: =?UTF-8?Q?Re:_caf=C3=A9?=  \r\n",
	} {
		raw := []byte(hdr + "\r\nHello.\r\n")
		h := ParseHeaders(1, raw)
		m, err := Read(raw, ReadOptions{})
		if err != nil {
			t.Fatalf("Read(%q): %v", hdr, err)
		}
		var from mail.Address
		if h.From != nil {
			from = *h.From
		}
		var to []mail.Address
		for _, a := range h.To {
			to = append(to, *a)
		}
		if from != m.From || !reflect.DeepEqual(to, m.To) || h.MessageID != m.MessageID || h.InReplyTo != m.InReplyTo ||
			!reflect.DeepEqual(h.References, m.References) || h.Subject != m.Subject || !h.Date.Equal(m.Date) {
			t.Errorf("%q:\nParseHeaders: from %v to %v ids %q %q %q subject %q date %v\nRead:         from %v to %v ids %q %q %q subject %q date %v",
				hdr, from, to, h.MessageID, h.InReplyTo, h.References, h.Subject, h.Date,
				m.From, m.To, m.MessageID, m.InReplyTo, m.References, m.Subject, m.Date)
		}
		if from.Address == "" {
			t.Errorf("%q: no From address", hdr)
		}
	}
}
