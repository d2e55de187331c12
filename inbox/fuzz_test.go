package inbox

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func corpusSeeds(f *testing.F) [][]byte {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	var out [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzRead: Read never panics, and what it returns is consistent.
func FuzzRead(f *testing.F) {
	for _, b := range corpusSeeds(f) {
		f.Add(b)
	}
	f.Add([]byte("From: a@b.c\n\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/mixed; boundary=x\n\n--x\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Read(raw, ReadOptions{MaxBytes: 1 << 20})
		if err != nil {
			return
		}
		k := m.Kind()
		switch k {
		case KindReply, KindAutoReply, KindBounce, KindCalendar, KindUnrelated:
		default:
			t.Fatalf("Kind() = %q", k)
		}
		if m.Bounce != nil && m.Auto != nil {
			t.Fatalf("both a bounce and an auto-reply")
		}
		if !utf8.ValidString(m.NewText) && utf8.ValidString(m.Text) {
			t.Fatalf("NewText is not UTF-8 while Text is")
		}
	})
}

// FuzzStripQuotes: StripQuotes never panics and never invents text.
func FuzzStripQuotes(f *testing.F) {
	f.Add("Thursday works.\n\nOn Mon, Nov 30, 2026 at 5:00 PM Sam <s@x.y> wrote:\n> hi\n")
	f.Add("> quoted\nnew text\n-- \nsig")
	f.Add("Hi\n________________________________\nFrom: a\nSent: b\nTo: c\nSubject: d\n\nold")
	f.Add("On Mon,\nNov 30 Sam\nwrote:\n> x\n\nbottom")
	f.Fuzz(func(t *testing.T, s string) {
		out := StripQuotes(s)
		norm := strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(norm, strings.TrimSpace(line)) {
				t.Fatalf("StripQuotes(%q) has line %q that is not in the input", s, line)
			}
		}
	})
}

// FuzzBounce: a delivery-status part of any shape never panics, and a report
// read as delayed has no failed recipient.
func FuzzBounce(f *testing.F) {
	for _, b := range corpusSeeds(f) {
		if i := bytes.Index(b, []byte("Content-Type: message/delivery-status")); i >= 0 {
			f.Add(b[i+len("Content-Type: message/delivery-status"):])
		}
	}
	f.Add([]byte("Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.c\nAction: failed\nStatus: 5.1.1\n"))
	f.Fuzz(func(t *testing.T, ds []byte) {
		b := parseDeliveryStatus(ds)
		if b.Delayed {
			for _, r := range b.Recipients {
				if r.Action == "failed" {
					t.Fatalf("delayed report with a failed recipient: %+v", b)
				}
			}
		}
		raw := "From: MAILER-DAEMON@x.example\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n" +
			string(ds) + "\n--b--\n"
		m, err := Read([]byte(raw), ReadOptions{})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if m.Bounce == nil {
			t.Fatalf("a multipart/report is not read as a bounce")
		}
	})
}

// allocatedBy reports the bytes allocated while fn ran and the live heap after it.
func allocatedBy(fn func()) (total, live uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, after.HeapAlloc
}

// TestReadBounded: a 30 MB attachment is streamed past, not held several
// times, and a 200-deep multipart neither blows the stack nor the heap.
func TestReadBounded(t *testing.T) {
	var big bytes.Buffer
	big.WriteString("From: Jane <jane@acme.example>\r\nTo: sam@example.com\r\nSubject: Re: deck\r\nMessage-ID: <big@acme.example>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"bb\"\r\n\r\n--bb\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Thursday works. The deck is attached.\r\n\r\n--bb\r\nContent-Type: application/pdf; name=\"deck.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"deck.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUJDRA", 12) + "QUJD\r\n" // 76 base64 characters
	for big.Len() < 30<<20 {
		big.WriteString(line)
	}
	big.WriteString("--bb--\r\n")
	raw := big.Bytes()

	var m *Message
	total, live := allocatedBy(func() {
		var err error
		m, err = Read(raw, ReadOptions{MaxBytes: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("30 MB message: %d MB allocated, %d MB live heap", total>>20, live>>20)
	if total > 100<<20 {
		t.Errorf("Read of a %d MB message allocated %d MB, want < 100 MB", len(raw)>>20, total>>20)
	}
	if !strings.Contains(m.NewText, "Thursday works") || m.Truncated {
		t.Errorf("Read(30 MB) NewText = %q, Truncated = %v", m.NewText, m.Truncated)
	}

	// the same message over MaxBytes: headers read, body cut, marked
	m, err := Read(raw, ReadOptions{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Truncated || m.MessageID != "big@acme.example" || !strings.Contains(m.NewText, "Thursday works") {
		t.Errorf("Read(MaxBytes 1 MiB) = Truncated %v, MessageID %q, NewText %q", m.Truncated, m.MessageID, m.NewText)
	}

	var deep bytes.Buffer
	deep.WriteString("From: x@y.example\r\nSubject: deep\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n")
	const depth = 200
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&deep, "--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n", i, i+1)
	}
	fmt.Fprintf(&deep, "--b%d\r\nContent-Type: text/plain\r\n\r\ndeep text\r\n", depth)
	for i := depth; i >= 0; i-- {
		fmt.Fprintf(&deep, "--b%d--\r\n", i)
	}
	total, _ = allocatedBy(func() {
		m, err = Read(deep.Bytes(), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("200-deep multipart: %d KB allocated", total>>10)
	if total > 100<<20 {
		t.Errorf("Read of a 200-deep multipart allocated %d MB, want < 100 MB", total>>20)
	}
	if strings.Contains(m.Text, "deep text") {
		t.Errorf("text below the depth cap was read: nesting is not bounded")
	}
}
