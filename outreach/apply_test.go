package outreach

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/store"
)

// The fixtures answer these Message-IDs of ours.
const (
	fixAskID   = "CAF9xk2=ask.1a7f3c@mail.example.com"
	fixIntroID = "CAF9xk2=intro.77b1d0@mail.example.com"
	fixSubject = "Quick question about sports marketing"
)

// fixtureNow is when the tests run: after the asks left, before the replies' slots.
var fixtureNow = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

// fixSlots are the slots the fixtures' quoted request proposed.
var fixSlots = []string{"2026-12-02T10:00:00-08:00", "2026-12-03T14:00:00-08:00", "2026-12-04T11:30:00-08:00"}

type env struct {
	t  *testing.T
	o  *Outreach
	db *store.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "c.db"))
}

// newEnvAt is newEnv on the database at path (made when missing).
func newEnvAt(t *testing.T, path string) *env {
	t.Helper()
	o, db := newTestOutreach(t, path, "", fixtureNow)
	return &env{t: t, o: o, db: db}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "inbox", "testdata", "mail", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) contact(name, email string) *store.Contact {
	e.t.Helper()
	c := &store.Contact{Name: name, Emails: []string{email}}
	if err := e.db.Update(context.Background(), func(tx *store.Tx) error { return tx.InsertContact(context.Background(), c) }); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// sentAsk stores a waiting ask of kind to target (interview) or via
// connector (intro), with one sent message carrying msgID.
func (e *env) sentAsk(kind string, person *store.Contact, msgID, subject string, slots []string) *store.Ask {
	e.t.Helper()
	ctx := context.Background()
	a := &store.Ask{Kind: kind, State: store.AskWaiting}
	if kind == store.KindIntro {
		a.ConnectorID, a.LookingFor, a.Topic = person.ID, "sports marketing", "sports marketing"
	} else {
		a.TargetID = person.ID
	}
	for _, s := range slots {
		st, err := time.Parse(time.RFC3339, s)
		if err != nil {
			e.t.Fatal(err)
		}
		a.Slots = append(a.Slots, store.Slot{Start: st.UTC(), End: st.Add(30 * time.Minute).UTC()})
	}
	err := e.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.InsertAsk(ctx, a); err != nil {
			return err
		}
		m := &store.Message{AskID: a.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest, State: store.MsgSent,
			MessageID: msgID, From: "Sam Rivera <sam@example.com>", To: person.Email(), Subject: subject,
			SentAt: fixtureNow.Add(-27 * time.Hour)}
		return tx.InsertMessage(ctx, m)
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

// apply feeds raw messages to the sink as the watcher would, with UIDs from uid.
func (e *env) apply(uid imap.UID, raws ...[]byte) {
	e.t.Helper()
	s := e.o.InboxSink()
	ctx := context.Background()
	var fs []inbox.Fetched
	for i, raw := range raws {
		h := inbox.ParseHeaders(uid+imap.UID(i), raw)
		ok, err := s.Candidate(ctx, h)
		if err != nil {
			e.t.Fatal(err)
		}
		if ok {
			fs = append(fs, inbox.Fetched{Headers: *h, Raw: raw})
		}
	}
	if err := s.Apply(ctx, "INBOX", inbox.Checkpoint{UIDValidity: 7, LastUID: uid + imap.UID(len(raws)) - 1}, fs); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) ask(id int64) *store.Ask {
	e.t.Helper()
	var a *store.Ask
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) { a, err = tx.Ask(context.Background(), id); return }); err != nil {
		e.t.Fatal(err)
	}
	return a
}

func (e *env) interview(askID int64) *store.Interview {
	e.t.Helper()
	var iv *store.Interview
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) { iv, err = tx.InterviewOfAsk(context.Background(), askID); return }); err != nil {
		e.t.Fatalf("interview of ask %d: %v", askID, err)
	}
	return iv
}

func (e *env) incoming(askID int64) []*store.Message {
	e.t.Helper()
	var ms []*store.Message
	err := e.db.View(context.Background(), func(tx *store.Tx) (err error) {
		ms, err = tx.Messages(context.Background(), store.MessageFilter{AskID: askID, Direction: store.In})
		return
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ms
}

func (e *env) allIncoming() int {
	e.t.Helper()
	var ms []*store.Message
	err := e.db.View(context.Background(), func(tx *store.Tx) (err error) {
		ms, err = tx.Messages(context.Background(), store.MessageFilter{Direction: store.In})
		return
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ms)
}

func (e *env) reviews() []*store.ReviewItem {
	e.t.Helper()
	var rs []*store.ReviewItem
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) { rs, err = tx.OpenReviewItems(context.Background()); return }); err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func (e *env) timeline(askID int64) string {
	e.t.Helper()
	var ev []store.Event
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) { ev, err = tx.Timeline(context.Background(), askID); return }); err != nil {
		e.t.Fatal(err)
	}
	var b strings.Builder
	for _, x := range ev {
		b.WriteString(x.Event + ": " + x.Detail + "\n")
	}
	return b.String()
}

func reading(t *testing.T, m *store.Message) Reading {
	t.Helper()
	var r Reading
	if err := json.Unmarshal([]byte(m.Reading), &r); err != nil {
		t.Fatalf("reading of message %d: %v", m.ID, err)
	}
	return r
}

func TestApplyAgreeByInReplyTo(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	e.apply(10, fixture(t, "001-gmail-agree-slot-number.eml"))
	got := e.ask(a.ID)
	if got.State != store.AskScheduled {
		t.Fatalf("ask state = %s, want scheduled (the calendar side sent the invite); timeline:\n%s", got.State, e.timeline(a.ID))
	}
	want, _ := time.Parse(time.RFC3339, "2026-12-03T14:00:00-08:00")
	if iv := e.interview(a.ID); !iv.Start.Equal(want) {
		t.Errorf("interview start = %v, want %v (slot 2)", iv.Start, want)
	}
	if got.LastReplyAt.IsZero() {
		t.Error("last_reply_at not set: follow-ups would go on")
	}
	in := e.incoming(a.ID)
	if len(in) != 1 {
		t.Fatalf("stored %d incoming messages, want 1", len(in))
	}
	r := reading(t, in[0])
	if r.MatchedBy == nil || *r.MatchedBy != MatchInReplyTo || r.Kind != "reply" || r.Intent == nil || *r.Intent != "agree" {
		t.Errorf("reading = %+v, want reply/agree by in-reply-to", r)
	}
	if len(in[0].Raw) == 0 || !strings.Contains(in[0].Body, "Option 2 works") {
		t.Errorf("stored message lacks raw bytes or new text: body %q", in[0].Body)
	}
	var cp store.Checkpoint
	e.db.View(context.Background(), func(tx *store.Tx) (err error) { cp, err = tx.Checkpoint(context.Background(), "INBOX"); return })
	if cp.UIDValidity != 7 || cp.LastUID != 10 {
		t.Errorf("checkpoint = %+v, want 7/10", cp)
	}
}

func TestApplyByReferences(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	// 011 answers Jane's own earlier message; ours is only in References.
	e.apply(1, fixture(t, "011-gmail-works-for-me-in-quote.eml"))
	in := e.incoming(a.ID)
	if len(in) != 1 {
		t.Fatalf("stored %d, want 1; timeline:\n%s", len(in), e.timeline(a.ID))
	}
	if r := reading(t, in[0]); r.MatchedBy == nil || *r.MatchedBy != MatchReferences {
		t.Errorf("matched_by = %v, want references", r.MatchedBy)
	}
}

func TestApplyBySenderSubject(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, "other-id@mail.example.com", fixSubject, fixSlots)
	// Threading headers removed: only the sender and "Re: <subject>" remain.
	raw := string(fixture(t, "001-gmail-agree-slot-number.eml"))
	raw = strings.Replace(raw, "In-Reply-To: <"+fixAskID+">\n", "", 1)
	raw = strings.Replace(raw, "References: <"+fixAskID+">\n", "", 1)
	raw = strings.Replace(raw, "Subject: Re: ", "Subject: AW: RE : ", 1)
	e.apply(1, []byte(raw))
	in := e.incoming(a.ID)
	if len(in) != 1 {
		t.Fatalf("stored %d, want 1", len(in))
	}
	if r := reading(t, in[0]); r.MatchedBy == nil || *r.MatchedBy != MatchSenderSubj {
		t.Errorf("matched_by = %v, want sender-subject", r.MatchedBy)
	}
	if got := e.ask(a.ID).State; got != store.AskScheduled {
		t.Errorf("state = %s, want scheduled", got)
	}
}

func TestApplyBounce(t *testing.T) {
	e := newEnv(t)
	// 052 reports the failure of our 20261130170004.7f3a9c2e1b@example.com.
	x := e.contact("Nobody", "nobody@example.org")
	a := e.sentAsk(store.KindInterview, x, "20261130170004.7f3a9c2e1b@example.com", "Hello", fixSlots)
	e.apply(1, fixture(t, "052-postfix-dsn-user-unknown.eml"))
	got := e.ask(a.ID)
	if got.State != store.AskBounced || got.Note == "" {
		t.Fatalf("ask = %s note %q, want bounced with the diagnostic", got.State, got.Note)
	}
	rs := e.reviews()
	if len(rs) != 1 || rs[0].Kind != "bounce" || rs[0].AskID != a.ID {
		t.Errorf("review items = %+v, want one bounce item", rs)
	}
	if r := reading(t, e.incoming(a.ID)[0]); r.MatchedBy == nil || *r.MatchedBy != MatchBounce {
		t.Errorf("matched_by = %v, want %s", r.MatchedBy, MatchBounce)
	}
}

func TestApplyDelayedIsNotABounce(t *testing.T) {
	e := newEnv(t)
	x := e.contact("Slow", "slow@example.org")
	a := e.sentAsk(store.KindInterview, x, "20261130170040.de1a7ed000@example.com", "Hello", fixSlots)
	e.apply(1, fixture(t, "056-postfix-delayed-warning.eml"))
	if got := e.ask(a.ID).State; got != store.AskWaiting {
		t.Errorf("state = %s, want waiting (a delay is not a bounce)", got)
	}
	if !strings.Contains(e.timeline(a.ID), "delivery_delayed") {
		t.Errorf("timeline lacks the delay:\n%s", e.timeline(a.ID))
	}
	if len(e.reviews()) != 0 {
		t.Error("a delay made a review item")
	}
}

func TestApplyAutoReplySetsWaitUntil(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	e.apply(1, fixture(t, "040-exchange-ooo-return-date.eml"))
	got := e.ask(a.ID)
	if got.State != store.AskWaiting || !got.LastReplyAt.IsZero() {
		t.Errorf("state %s last_reply %v: an auto-reply is not an answer", got.State, got.LastReplyAt)
	}
	if d := got.WaitUntil.In(e.o.Cfg.Location()).Format("2006-01-02"); d != "2026-12-14" {
		t.Errorf("wait_until = %s, want 2026-12-14", d)
	}
	if !strings.Contains(e.timeline(a.ID), "out of office until 2026-12-14") {
		t.Errorf("timeline:\n%s", e.timeline(a.ID))
	}
	if n := countDrafts(t, e); n != 0 {
		t.Errorf("%d drafts after an auto-reply, want none", n)
	}
}

func countDrafts(t *testing.T, e *env) int {
	var ds []store.DraftSummary
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) { ds, err = tx.Drafts(context.Background()); return }); err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

func TestApplyIntroduction(t *testing.T) {
	for _, tc := range []struct {
		fixture, target, targetName string
	}{
		{"031-intro-reply-all-gmail.eml", "jane.doe@acme.example", "Jane Doe"},
		{"032-intro-address-in-text.eml", "maria.santos@teamworks.example", "Maria Santos"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newEnv(t)
			dad := e.contact("Robert Rivera", "rob.rivera@gmail.com")
			intro := e.sentAsk(store.KindIntro, dad, fixIntroID, "Could you introduce me to someone in sports marketing?", nil)
			e.apply(1, fixture(t, tc.fixture))
			if got := e.ask(intro.ID).State; got != store.AskIntroduced {
				t.Fatalf("intro ask = %s, want introduced; timeline:\n%s", got, e.timeline(intro.ID))
			}
			ctx := context.Background()
			err := e.db.View(ctx, func(tx *store.Tx) error {
				target, err := tx.ContactByEmail(ctx, tc.target)
				if err != nil {
					t.Fatalf("target not a contact: %v", err)
				}
				if target.Name != tc.targetName || target.Source != "introduction" {
					t.Errorf("target = %q (%s), want %q from an introduction", target.Name, target.Source, tc.targetName)
				}
				if c, err := tx.Connection(ctx, dad.ID, target.ID); err != nil || c.Source != "introduction" {
					t.Errorf("connection dad→target = %+v, %v", c, err)
				}
				kids, err := tx.Asks(ctx, store.AskFilter{ParentID: intro.ID})
				if err != nil || len(kids) != 1 {
					t.Fatalf("child asks = %d, %v; want 1", len(kids), err)
				}
				k := kids[0]
				if k.Kind != store.KindInterview || k.TargetID != target.ID || k.ConnectorID != dad.ID || k.State != store.AskDraft || len(k.Slots) == 0 {
					t.Errorf("child ask = %+v", k)
				}
				outs, err := tx.Messages(ctx, store.MessageFilter{AskID: k.ID, Direction: store.Out})
				if err != nil || len(outs) != 1 {
					t.Fatalf("child drafts = %d, %v", len(outs), err)
				}
				m := outs[0]
				in := e.incoming(intro.ID)[0]
				if !strings.Contains(m.To, tc.target) || !strings.Contains(m.Bcc, "rob.rivera@gmail.com") || strings.Contains(m.To, "rob.rivera") {
					t.Errorf("draft To %q Bcc %q: want the target in To and the connector in Bcc", m.To, m.Bcc)
				}
				if m.InReplyTo != in.MessageID || !strings.Contains(m.References, fixIntroID) || !strings.Contains(m.References, in.MessageID) {
					t.Errorf("draft threading In-Reply-To %q References %q", m.InReplyTo, m.References)
				}
				first := strings.SplitN(m.Body, "\n", 2)[0]
				if first != "Thanks, Robert — moving you to Bcc." {
					t.Errorf("first line = %q", first)
				}
				if !strings.HasPrefix(m.Subject, "Re: Could you introduce me") {
					t.Errorf("subject = %q", m.Subject)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestApplyDeclineAndQuestion(t *testing.T) {
	for _, tc := range []struct {
		fixture, name, email, state string
		review                      bool
	}{
		{"006-apple-decline-kind.eml", "Rachel Kim", "rachel@kimconsulting.example", store.AskDeclined, false},
		{"008-thunderbird-question.eml", "Alex Fischer", "alex@fischer.example", store.AskReplied, true},
		{"007-gmail-propose-next-week.eml", "Leo Martins", "leo.martins@gmail.com", store.AskReplied, true},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newEnv(t)
			p := e.contact(tc.name, tc.email)
			a := e.sentAsk(store.KindInterview, p, fixAskID, fixSubject, fixSlots)
			e.apply(1, fixture(t, tc.fixture))
			if got := e.ask(a.ID).State; got != tc.state {
				t.Errorf("state = %s, want %s; timeline:\n%s", got, tc.state, e.timeline(a.ID))
			}
			rs := e.reviews()
			if tc.review && (len(rs) != 1 || rs[0].Kind != "reply" || !strings.Contains(rs[0].Detail, `"text"`)) {
				t.Errorf("review items = %+v, want one reply item with the text", rs)
			}
			if !tc.review && len(rs) != 0 {
				t.Errorf("review items = %+v, want none", rs)
			}
		})
	}
}

func TestApplyIgnoresOwnAndUnrelated(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	// Our own copy in the thread (a synced Sent message) is never a reply.
	own := strings.Replace(string(fixture(t, "001-gmail-agree-slot-number.eml")), "From: Jane Doe <jane.doe@acme.example>", "From: Sam Rivera <sam@example.com>", 1)
	s := e.o.InboxSink()
	h := inbox.ParseHeaders(1, []byte(own))
	if ok, _ := s.Candidate(context.Background(), h); ok {
		t.Error("Candidate(own message) = true")
	}
	// Even handed to Apply it is not stored.
	if err := s.Apply(context.Background(), "INBOX", inbox.Checkpoint{UIDValidity: 7, LastUID: 1}, []inbox.Fetched{{Headers: *h, Raw: []byte(own)}}); err != nil {
		t.Fatal(err)
	}
	// A stranger writing outside any thread matches nothing.
	stranger := string(fixture(t, "002-gmail-agree-weekday.eml"))
	stranger = strings.Replace(stranger, "In-Reply-To: <"+fixAskID+">\n", "", 1)
	stranger = strings.Replace(stranger, "References: <"+fixAskID+">\n", "", 1)
	e.apply(2, fixture(t, "066-newsletter-list-id.eml"), []byte(stranger))
	if n := e.allIncoming(); n != 0 {
		t.Errorf("stored %d incoming messages, want 0 (own, newsletter, reply from a stranger)", n)
	}
	if got := e.ask(a.ID).State; got != store.AskWaiting {
		t.Errorf("state = %s, want waiting", got)
	}
}

func TestApplySameMessageTwice(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	raw := fixture(t, "008-thunderbird-question.eml")
	raw = []byte(strings.Replace(string(raw), "alex@fischer.example", "jane.doe@acme.example", -1))
	e.apply(1, raw)
	e.apply(1, raw) // a restart before the checkpoint moved, or a new UIDVALIDITY
	if n := len(e.incoming(a.ID)); n != 1 {
		t.Errorf("stored %d times, want once", n)
	}
	if n := len(e.reviews()); n != 1 {
		t.Errorf("%d review items, want 1", n)
	}
}

func TestApplySetsAsideAMessageThatKeepsFailing(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	s := e.o.InboxSink()
	ctx := context.Background()
	raw := fixture(t, "008-thunderbird-question.eml")
	raw = []byte(strings.Replace(string(raw), "alex@fischer.example", "jane.doe@acme.example", -1))
	h := inbox.ParseHeaders(5, raw)
	breakAsk(t, e, a.ID)
	var err error
	for i := 1; i <= MaxApplyAttempts; i++ {
		err = s.Apply(ctx, "INBOX", inbox.Checkpoint{UIDValidity: 7, LastUID: 5}, []inbox.Fetched{{Headers: *h, Raw: raw}})
		if i < MaxApplyAttempts && err == nil {
			t.Fatalf("attempt %d: Apply = nil, want the failure", i)
		}
	}
	if err != nil {
		t.Fatalf("attempt %d: Apply = %v, want the message set aside", MaxApplyAttempts, err)
	}
	rs := e.reviews()
	if len(rs) != 1 || rs[0].Kind != "set_aside" {
		t.Errorf("review items = %+v, want one set_aside", rs)
	}
	var cp store.Checkpoint
	e.db.View(ctx, func(tx *store.Tx) (err error) { cp, err = tx.Checkpoint(ctx, "INBOX"); return })
	if cp.LastUID != 5 {
		t.Errorf("checkpoint = %d, want 5: the inbox must move on", cp.LastUID)
	}
}

// crashEnv names the database of a child process that applies the crash
// fixture and dies in the middle (TestApplySetsAsideAMessageThatCrashes).
const crashEnv = "COFFEECHAT_TEST_CRASH_APPLY_DB"

// crashFixture is a reply from jane.doe@acme.example to fixAskID.
func crashFixture(t *testing.T) []byte {
	raw := fixture(t, "008-thunderbird-question.eml")
	return []byte(strings.Replace(string(raw), "alex@fischer.example", "jane.doe@acme.example", -1))
}

// crashID is the Message-ID of crashFixture; goodID that of a second reply
// in the same batch, which applies fine.
const (
	crashID = "57b6fb7e-bd87-43c7-7a86-b12ad42fddbb@posteo.example"
	goodID  = "good-reply@posteo.example"
)

// exitOnMatch is a log handler that ends the process, as a crash would, when
// the crash fixture is matched: inside the Apply transaction, before its
// commit.
type exitOnMatch struct{}

func (exitOnMatch) Enabled(context.Context, slog.Level) bool { return true }
func (exitOnMatch) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "inbox: matched" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "message_id" && a.Value.String() == crashID {
			os.Exit(3)
		}
		return true
	})
	return nil
}
func (h exitOnMatch) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h exitOnMatch) WithGroup(string) slog.Handler      { return h }

// TestApplySetsAsideAMessageThatCrashes: a message whose apply kills the
// daemon every time is set aside after MaxApplyAttempts tries, counted
// across restarts (each try a new process), and the inbox moves on.
func TestApplySetsAsideAMessageThatCrashes(t *testing.T) {
	ctx := context.Background()
	raw := crashFixture(t)
	good := []byte(strings.Replace(string(raw), crashID, goodID, 1))
	batch := []inbox.Fetched{{Headers: *inbox.ParseHeaders(4, good), Raw: good}, {Headers: *inbox.ParseHeaders(5, raw), Raw: raw}}
	cp := inbox.Checkpoint{UIDValidity: 7, LastUID: 5}
	if path := os.Getenv(crashEnv); path != "" {
		// The child: one daemon run that dies applying the batch.
		e := newEnvAt(t, path)
		e.o.Log = slog.New(exitOnMatch{})
		err := e.o.InboxSink().Apply(ctx, "INBOX", cp, batch)
		t.Fatalf("Apply returned (%v); the process should have died", err)
	}
	path := filepath.Join(t.TempDir(), "c.db")
	e := newEnvAt(t, path)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	for i := 1; i <= MaxApplyAttempts; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestApplySetsAsideAMessageThatCrashes$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("run %d: child = %v, want it to die applying the message (exit 3)\n%s", i, err, out)
		}
	}
	// The next run (a restart) must not try it again.
	if err := e.o.InboxSink().Apply(ctx, "INBOX", cp, batch); err != nil {
		t.Fatalf("Apply after %d crashes = %v, want the message set aside", MaxApplyAttempts, err)
	}
	var aside []string
	for _, r := range e.reviews() {
		if r.Kind == "set_aside" {
			aside = append(aside, r.Summary+" "+r.Detail)
		}
	}
	if len(aside) != 1 || !strings.Contains(aside[0], "stopped 3 times") || !strings.Contains(aside[0], crashID) {
		t.Errorf("set aside = %q, want <%s> alone, saying the daemon stopped 3 times", aside, crashID)
	}
	// The other message of the batch is applied, once.
	if in := e.incoming(a.ID); len(in) != 1 || in[0].MessageID != goodID {
		t.Errorf("incoming = %+v, want only <%s>: the crashing message must not be applied, the other must", in, goodID)
	}
	var st store.Checkpoint
	e.db.View(ctx, func(tx *store.Tx) (err error) { st, err = tx.Checkpoint(ctx, "INBOX"); return })
	if st.LastUID != 5 {
		t.Errorf("checkpoint = %d, want 5: the inbox must move on", st.LastUID)
	}
	var left map[uint32]store.ApplyAttempt
	e.db.View(ctx, func(tx *store.Tx) (err error) {
		left, err = tx.ApplyAttempts(ctx, "INBOX", 7, []uint32{5})
		return
	})
	if len(left) != 0 {
		t.Errorf("attempts left after the checkpoint passed: %+v", left)
	}
}

// cancelOnMatch is a log handler that cancels the apply's context when a
// message is matched, inside the Apply transaction: a shutdown mid-apply.
type cancelOnMatch struct{ cancel context.CancelFunc }

func (cancelOnMatch) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelOnMatch) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "inbox: matched" {
		h.cancel()
	}
	return nil
}
func (h cancelOnMatch) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOnMatch) WithGroup(string) slog.Handler      { return h }

// TestApplyShutdownIsNotATry: shutting down in the middle of an apply, more
// often than MaxApplyAttempts, does not set the message aside.
func TestApplyShutdownIsNotATry(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	raw := crashFixture(t)
	h := inbox.ParseHeaders(5, raw)
	cp := inbox.Checkpoint{UIDValidity: 7, LastUID: 5}
	log := e.o.Log
	for i := 0; i <= MaxApplyAttempts; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		e.o.Log = slog.New(cancelOnMatch{cancel})
		err := e.o.InboxSink().Apply(ctx, "INBOX", cp, []inbox.Fetched{{Headers: *h, Raw: raw}})
		cancel()
		if err == nil {
			t.Fatalf("shutdown %d: Apply = nil, want the cancellation", i+1)
		}
	}
	e.o.Log = log
	if err := e.o.InboxSink().Apply(context.Background(), "INBOX", cp, []inbox.Fetched{{Headers: *h, Raw: raw}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range e.reviews() {
		if r.Kind == "set_aside" {
			t.Errorf("set aside (%s); shutdowns are not failures", r.Summary)
		}
	}
	if n := len(e.incoming(a.ID)); n != 1 {
		t.Errorf("%d incoming messages stored, want 1", n)
	}
}

// TestCheckpointSinceOldestOpenAsk: a first run reads from the first send
// of the oldest open ask (less a day), not from a closed ask's, and not at
// all back when nothing is open.
func TestCheckpointSinceOldestOpenAsk(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	bob := e.contact("Bob Roe", "bob@roe.example")
	open := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots) // sent 27 h ago
	err := e.db.Update(ctx, func(tx *store.Tx) error {
		old := &store.Ask{Kind: store.KindInterview, State: store.AskClosed, TargetID: bob.ID}
		if err := tx.InsertAsk(ctx, old); err != nil {
			return err
		}
		return tx.InsertMessage(ctx, &store.Message{AskID: old.ID, Direction: store.Out, Purpose: store.PurposeInterviewRequest,
			State: store.MsgSent, MessageID: "old@example.com", To: bob.Email(), Subject: "old", SentAt: fixtureNow.Add(-40 * 24 * time.Hour)})
	})
	if err != nil {
		t.Fatal(err)
	}
	cp, since, err := e.o.InboxSink().Checkpoint(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if want := fixtureNow.Add(-27*time.Hour - 24*time.Hour); cp.UIDValidity != 0 || !since.Equal(want) {
		t.Errorf("first run: cp = %+v, since = %s; want zero cp, since %s", cp, since, want)
	}
	err = e.db.Update(ctx, func(tx *store.Tx) error { return tx.SetAskState(ctx, open.ID, store.AskClosed, "closed", "test") })
	if err != nil {
		t.Fatal(err)
	}
	if _, since, err = e.o.InboxSink().Checkpoint(ctx, "INBOX"); err != nil || !since.IsZero() {
		t.Errorf("nothing open: since = %s (%v), want zero", since, err)
	}
}

// TestExplainJSONShape: explain's JSON has exactly PRODUCT.md's keys, with
// its types: ask a number, time RFC 3339 with the account zone's offset,
// null where nothing applies, new_contacts an array even when empty.
func TestExplainJSONShape(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	r, err := e.o.Explain(context.Background(), fixture(t, "001-gmail-agree-slot-number.eml"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"kind": "reply", "ask": float64(a.ID), "matched_by": "in-reply-to", "intent": "agree",
		"time": "2026-12-03T14:00:00-08:00", "partstat": nil, "return_date": nil, "new_contacts": []any{},
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) || (v == nil) != (got[k] == nil) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for _, k := range []string{"text", "reason"} {
		if s, ok := got[k].(string); !ok || s == "" {
			t.Errorf("%s = %#v, want a non-empty string", k, got[k])
		}
	}
	if len(got) != 10 {
		t.Errorf("JSON has %d keys, want the 10 of PRODUCT.md: %s", len(got), b)
	}
}

// breakAsk writes slots that are not JSON into the ask, behind the store's
// back, so that every read of it (and so acting on a reply to it) fails.
func breakAsk(t *testing.T, e *env, askID int64) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+e.db.Path()+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE asks SET slots = 'broken' WHERE id = ?`, askID); err != nil {
		t.Fatal(err)
	}
}

func TestExplainChangesNothing(t *testing.T) {
	e := newEnv(t)
	dad := e.contact("Robert Rivera", "rob.rivera@gmail.com")
	e.sentAsk(store.KindIntro, dad, fixIntroID, "Could you introduce me to someone in sports marketing?", nil)
	ctx := context.Background()
	sum := func() [32]byte {
		b, err := os.ReadFile(e.db.Path())
		if err != nil {
			t.Fatal(err)
		}
		w, _ := os.ReadFile(e.db.Path() + "-wal")
		return sha256.Sum256(append(b, w...))
	}
	before := sum()
	r, err := e.o.Explain(ctx, fixture(t, "031-intro-reply-all-gmail.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "introduction" || r.Ask == nil || r.MatchedBy == nil || *r.MatchedBy != MatchInReplyTo ||
		len(r.NewContacts) != 1 || r.NewContacts[0].Email != "jane.doe@acme.example" || r.NewContacts[0].Name != "Jane Doe" {
		t.Errorf("Explain(031) = %+v", r)
	}
	if sum() != before {
		t.Error("Explain changed the database file")
	}
	if n := e.allIncoming(); n != 0 {
		t.Errorf("Explain stored %d messages", n)
	}
	b, _ := json.Marshal(r)
	for _, k := range []string{`"kind"`, `"ask"`, `"matched_by"`, `"intent"`, `"time"`, `"partstat"`, `"return_date"`, `"new_contacts"`, `"text"`, `"reason"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
	if _, err := e.o.Explain(ctx, []byte("\x00\x01 not mail at all")); err == nil {
		t.Error("Explain(garbage) = nil error")
	}
}

func TestApplyCalendarReplyByUID(t *testing.T) {
	e := newEnv(t)
	jane := e.contact("Jane Doe", "jane.doe@acme.example")
	a := e.sentAsk(store.KindInterview, jane, fixAskID, fixSubject, fixSlots)
	ctx := context.Background()
	start := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	err := e.db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetAskState(ctx, a.ID, store.AskScheduled, "", ""); err != nil {
			return err
		}
		return tx.InsertInterview(ctx, &store.Interview{AskID: a.ID, UID: "cc-20261201-3f9a7c1e@example.com",
			Start: start, End: start.Add(30 * time.Minute), Status: "invited"})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.apply(1, fixture(t, "061-google-imip-reply-accepted.eml"))
	in := e.incoming(a.ID)
	if len(in) != 1 {
		t.Fatalf("stored %d, want 1", len(in))
	}
	r := reading(t, in[0])
	if r.Kind != "calendar_reply" || r.MatchedBy == nil || *r.MatchedBy != MatchCalendarUID || r.PartStat == nil || *r.PartStat != "ACCEPTED" {
		t.Errorf("reading = %+v", r)
	}
	if iv := e.interview(a.ID); iv.Status != "accepted" {
		t.Errorf("interview status = %s, want accepted", iv.Status)
	}
}

// TestSinkKeepsScanBound: the bound of a scan under way goes into the
// database with each checkpoint and comes back from Checkpoint, so that a
// restart resumes the scan with its date filter.
func TestSinkKeepsScanBound(t *testing.T) {
	e := newEnv(t)
	s := e.o.InboxSink()
	ctx := context.Background()
	for _, want := range []inbox.Checkpoint{{UIDValidity: 7, LastUID: 100, ScanTo: 5000}, {UIDValidity: 7, LastUID: 5000}} {
		if err := s.Apply(ctx, "INBOX", want, nil); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Checkpoint(ctx, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("Checkpoint = %+v, want %+v", got, want)
		}
	}
}

// TestTheirOwnInviteIsMatched: a person's own Google invitation (its own
// subject, no threading headers, a UID coffeechat never saw) is matched to
// their open ask by its organizer, and linked as the ask's interview.
func TestTheirOwnInviteIsMatched(t *testing.T) {
	e := newEnv(t)
	omar := e.contact("Omar Haddad", "omar.haddad@gmail.com")
	a := e.sentAsk(store.KindInterview, omar, "ask-omar@example.com", "Coffee chat about product design?", nil)
	raw := fixture(t, "065-google-imip-request-from-person.eml")
	d, err := e.o.Explain(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if d.MatchedBy == nil || *d.MatchedBy != MatchOrganizer {
		t.Errorf("explain matched_by %v, want %q", d.MatchedBy, MatchOrganizer)
	}
	e.apply(10, raw)
	var iv *store.Interview
	if err := e.db.View(context.Background(), func(tx *store.Tx) (err error) { iv, err = tx.InterviewOfAsk(context.Background(), a.ID); return }); err != nil {
		t.Fatalf("no interview linked to ask %d: %v", a.ID, err)
	}
	if iv.Organizer != store.OrganizerThem || iv.UID != "5o3m2k1j0h9g8f7e6d5c4b3a2z@google.com" {
		t.Errorf("interview %+v, want theirs (organizer them, their UID)", iv)
	}
	if s := e.ask(a.ID).State; s != store.AskScheduled {
		t.Errorf("ask %s, want scheduled", s)
	}
}
