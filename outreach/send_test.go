package outreach_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

// sendRig is a database, an Outreach with a settable clock, and in-process
// SMTP and IMAP servers.
type sendRig struct {
	t    *testing.T
	ctx  context.Context
	db   *store.DB
	o    *outreach.Outreach
	cfg  *config.Config
	smtp *sandbox.SMTPServer
	imap *sandbox.IMAPServer
	n    int
	testClock
}

func newSendRig(t *testing.T, smtpOpts sandbox.SMTPOptions) *sendRig {
	t.Helper()
	ctx := t.Context()
	r := &sendRig{t: t, ctx: ctx, testClock: testClock{now: time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)}} // Wed 09:00 in Los Angeles
	if smtpOpts.Users == nil {
		smtpOpts.Users = map[string]string{me: mePass}
	}
	var err error
	if r.smtp, err = sandbox.StartSMTP(ctx, smtpOpts); err != nil {
		t.Fatal(err)
	}
	if r.imap, err = sandbox.StartIMAP(ctx, sandbox.IMAPOptions{Users: map[string]string{me: mePass}}); err != nil {
		t.Fatal(err)
	}
	r.db = openTestDB(t, filepath.Join(t.TempDir(), "cc.db"), r.clock)
	r.cfg = testConfig()
	r.cfg.SMTP.Server = serverOf(t, r.cfg.SMTP.Server, r.smtp.Addr)
	r.cfg.IMAP.Server = serverOf(t, r.cfg.IMAP.Server, r.imap.Addr)
	r.cfg.Sending = config.Sending{Window: "always", DailyCap: 0, MinGap: "0s"}
	r.o = outreach.New(r.db, r.cfg, nil, nil)
	r.o.Now = r.clock
	r.o.RegisterSendReviews()
	return r
}

// approved stores an ask with one approved message to a fresh address.
func (r *sendRig) approved(purpose string, auto bool) *store.Message {
	r.t.Helper()
	r.n++
	name := fmt.Sprintf("person%d", r.n)
	var m *store.Message
	err := r.db.Update(r.ctx, func(tx *store.Tx) error {
		c := &store.Contact{Name: "Person " + strconv.Itoa(r.n), Emails: []string{name + "@example.test"}}
		if err := tx.InsertContact(r.ctx, c); err != nil {
			return err
		}
		a := &store.Ask{Kind: store.KindInterview, TargetID: c.ID}
		if err := tx.InsertAsk(r.ctx, a); err != nil {
			return err
		}
		m = &store.Message{AskID: a.ID, Direction: store.Out, Purpose: purpose, State: store.MsgApproved, Auto: auto,
			MessageID: mailer.NewMessageID("example.test"), From: "Sam Rivera <" + me + ">",
			To: outreach.FormatAddress(c.Name, c.Emails[0]), Subject: "Coffee? " + strconv.Itoa(r.n),
			Body: "Hello " + c.Name + ",\nwould you have 20 minutes?\n", ApprovedAt: tx.Now()}
		return tx.InsertMessage(r.ctx, m)
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

func (r *sendRig) msg(id int64) *store.Message {
	r.t.Helper()
	return message(r.t, r.db, id)
}

func (r *sendRig) session() *mailer.Session {
	r.t.Helper()
	s, err := mailer.NewClient(r.cfg.SMTP, nil).Dial(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	return s
}

// sendDue sends what is due now over one session, as the daemon does, and
// returns the errors by message.
func (r *sendRig) sendDue() map[int64]error {
	r.t.Helper()
	due, err := r.o.DueMessages(r.ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[int64]error{}
	if len(due) == 0 {
		return out
	}
	s := r.session()
	for _, id := range due {
		if _, err := r.o.SendOne(r.ctx, s, id); err != nil {
			out[id] = err
			var se *mailer.SendError
			if errors.As(err, &se) && se.Fate != mailer.Permanent && se.Code != 450 {
				s = r.session()
			}
		}
	}
	return out
}

func (r *sendRig) received(msgID string) int {
	n := 0
	for _, rc := range r.smtp.Received() {
		if bytes.Contains(rc.Data, []byte("Message-ID: <"+msgID+">")) {
			n++
		}
	}
	return n
}

func (r *sendRig) reviews(kind string) []*store.ReviewItem {
	r.t.Helper()
	var out []*store.ReviewItem
	if err := r.db.View(r.ctx, func(tx *store.Tx) error {
		items, err := tx.OpenReviewItems(r.ctx)
		for _, it := range items {
			if it.Kind == kind {
				out = append(out, it)
			}
		}
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *sendRig) sentFolder() *outreach.IMAPSent {
	r.t.Helper()
	s, err := outreach.DialSentFolder(r.ctx, r.cfg.IMAP, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	return s
}

func TestSendOnceAndFileInSent(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	m := r.approved(store.PurposeInterviewRequest, false)
	if errs := r.sendDue(); len(errs) > 0 {
		t.Fatalf("sendDue: %v", errs)
	}
	got := r.msg(m.ID)
	if got.State != store.MsgSent || got.Attempts != 1 || !strings.Contains(got.SMTPReply, "queued as") || got.SentAt.IsZero() {
		t.Fatalf("after send: state %s attempts %d reply %q sent_at %v", got.State, got.Attempts, got.SMTPReply, got.SentAt)
	}
	recv := r.smtp.Received()
	if len(recv) != 1 || r.received(m.MessageID) != 1 {
		t.Fatalf("server received %d messages, %d with <%s>", len(recv), r.received(m.MessageID), m.MessageID)
	}
	if !bytes.Equal(recv[0].Data, got.Raw) {
		t.Errorf("stored Raw differs from the bytes the server received")
	}
	if again := r.sendDue(); len(again) > 0 || len(r.smtp.Received()) != 1 {
		t.Fatalf("a second round sent again: %d received", len(r.smtp.Received()))
	}
	var a *store.Ask
	var ev []store.Event
	r.db.View(r.ctx, func(tx *store.Tx) error {
		a, _ = tx.Ask(r.ctx, m.AskID)
		ev, _ = tx.Timeline(r.ctx, m.AskID)
		return nil
	})
	if a.State != store.AskWaiting || !a.LastSentAt.Equal(r.clock()) {
		t.Errorf("ask after send: state %s last_sent_at %v, want waiting at %v", a.State, a.LastSentAt, r.clock())
	}
	if last := ev[len(ev)-1]; last.Event != "sent" || last.MessageID != m.ID {
		t.Errorf("last timeline event = %+v, want sent", last)
	}

	// The copy in Sent: the same bytes, \Seen.
	n, err := r.o.FileSentCopies(r.ctx, r.sentFolder(), 10)
	if err != nil || n != 1 {
		t.Fatalf("FileSentCopies = %d, %v", n, err)
	}
	st, err := r.imap.Stored(me, "Sent")
	if err != nil || len(st) != 1 {
		t.Fatalf("Sent holds %d messages (%v)", len(st), err)
	}
	if !bytes.Equal(st[0].Raw, got.Raw) || !strings.Contains(fmt.Sprint(st[0].Flags), `\Seen`) {
		t.Errorf("Sent copy: identical %v, flags %v", bytes.Equal(st[0].Raw, got.Raw), st[0].Flags)
	}
	if n, _ := r.o.FileSentCopies(r.ctx, r.sentFolder(), 10); n != 0 {
		t.Errorf("second FileSentCopies filed %d again", n)
	}
}

func TestSendSaveSentNeverAndProviderFiles(t *testing.T) {
	for _, c := range []struct {
		mode        string
		itself      bool
		want, note  string
		wantInFiled int
	}{
		{config.SaveSentNever, false, store.CopySkipped, "never", 0},
		{config.SaveSentAuto, true, store.CopySkipped, "files sent mail itself", 0},
		{config.SaveSentAlways, true, store.CopyFiled, "Sent", 1},
		{config.SaveSentAuto, false, store.CopyFiled, "Sent", 1},
	} {
		t.Run(fmt.Sprintf("%s/itself=%v", c.mode, c.itself), func(t *testing.T) {
			r := newSendRig(t, sandbox.SMTPOptions{})
			r.cfg.SMTP.SaveSent = c.mode
			m := r.approved(store.PurposeInterviewRequest, false)
			r.sendDue()
			folder := providerSent{r.sentFolder(), c.itself}
			if n, err := r.o.FileSentCopies(r.ctx, folder, 10); err != nil || n != 1 {
				t.Fatalf("FileSentCopies = %d, %v", n, err)
			}
			if st, _ := r.imap.Stored(me, "Sent"); len(st) != c.wantInFiled {
				t.Errorf("Sent holds %d, want %d", len(st), c.wantInFiled)
			}
			var state, note string
			r.db.View(r.ctx, func(tx *store.Tx) error { state, note, _ = tx.SentCopy(r.ctx, m.ID); return nil })
			if state != c.want || !strings.Contains(note, c.note) {
				t.Errorf("sent copy = %q %q, want %q (%s)", state, note, c.want, c.note)
			}
		})
	}
}

// providerSent is the real Sent folder of the IMAP sandbox, said to be of a
// provider that files sent mail itself (or not); inbox.FilesSentItself,
// which tells them apart by host and capability, is tested in inbox.
type providerSent struct {
	*outreach.IMAPSent
	itself bool
}

func (p providerSent) FilesItself() bool { return p.itself }

// A run that died between an APPEND to Sent and recording it (or lost the
// server's answer) leaves the copy begun: the next run looks for it before
// appending, so Sent never holds it twice; one that did not land is filed.
func TestSentCopyBegunNotFiledTwice(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	landed := r.approved(store.PurposeInterviewRequest, false)
	lost := r.approved(store.PurposeInterviewRequest, false)
	if errs := r.sendDue(); len(errs) > 0 {
		t.Fatalf("sendDue: %v", errs)
	}
	for _, m := range []*store.Message{landed, lost} {
		if err := r.db.Update(r.ctx, func(tx *store.Tx) error {
			return tx.SetSentCopy(r.ctx, m.ID, store.CopyTrying, "Sent")
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.imap.Deliver(me, "Sent", r.msg(landed.ID).Raw); err != nil {
		t.Fatal(err)
	}
	if n, err := r.o.FileSentCopies(r.ctx, r.sentFolder(), 10); n != 2 || err != nil {
		t.Fatalf("FileSentCopies = %d, %v", n, err)
	}
	st, err := r.imap.Stored(me, "Sent")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range st {
		for _, m := range []*store.Message{landed, lost} {
			if bytes.Contains(s.Raw, []byte("<"+m.MessageID+">")) {
				count[m.MessageID]++
			}
		}
	}
	if count[landed.MessageID] != 1 || count[lost.MessageID] != 1 {
		t.Errorf("Sent holds the landed copy %d times and the lost one %d times, want 1 and 1", count[landed.MessageID], count[lost.MessageID])
	}
	for _, m := range []*store.Message{landed, lost} {
		var state string
		r.db.View(r.ctx, func(tx *store.Tx) error { state, _, err = tx.SentCopy(r.ctx, m.ID); return err })
		if state != store.CopyFiled {
			t.Errorf("message %d copy state %q, want filed", m.ID, state)
		}
	}
}

func TestSendTemporaryThenSent(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	m := r.approved(store.PurposeInterviewRequest, false)
	r.smtp.Fail(sandbox.Fault{Stage: "rcpt", Code: 450})
	r.smtp.Fail(sandbox.Fault{Stage: "mail", Code: 421})
	for round := 1; round <= 2; round++ {
		errs := r.sendDue()
		var se *mailer.SendError
		if !errors.As(errs[m.ID], &se) || se.Fate != mailer.Temporary {
			t.Fatalf("round %d: err = %v, want temporary", round, errs[m.ID])
		}
		got := r.msg(m.ID)
		if got.State != store.MsgApproved || got.Attempts != round || !got.NextAttemptAt.After(r.clock()) {
			t.Fatalf("round %d: state %s attempts %d next %v", round, got.State, got.Attempts, got.NextAttemptAt)
		}
		if due, _ := r.o.DueMessages(r.ctx); len(due) != 0 {
			t.Fatalf("round %d: due again before next_attempt_at: %v", round, due)
		}
		r.advance(got.NextAttemptAt.Sub(r.clock()))
	}
	if errs := r.sendDue(); len(errs) > 0 {
		t.Fatalf("third round: %v", errs)
	}
	if got := r.msg(m.ID); got.State != store.MsgSent || got.Attempts != 3 || r.received(m.MessageID) != 1 {
		t.Fatalf("after retries: state %s attempts %d received %d", got.State, got.Attempts, r.received(m.MessageID))
	}
}

func TestSendGivesUpAfterMaxAttempts(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	m := r.approved(store.PurposeInterviewRequest, false)
	r.smtp.Fail(sandbox.Fault{Stage: "rcpt", Code: 450, Times: outreach.MaxSendAttempts, Text: "Greylisted, come back later"})
	for i := 0; i < outreach.MaxSendAttempts; i++ {
		r.sendDue()
		r.advance(2 * time.Hour)
	}
	got := r.msg(m.ID)
	items := r.reviews(outreach.ReviewFailedSend)
	if got.State != store.MsgFailed || len(items) != 1 || !strings.Contains(items[0].Detail, "Greylisted") {
		t.Fatalf("after %d temporary failures: state %s, review items %+v", outreach.MaxSendAttempts, got.State, items)
	}
}

func TestSendPermanentFailsOnlyThatDraft(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	bad := r.approved(store.PurposeInterviewRequest, false)
	good := r.approved(store.PurposeInterviewRequest, false)
	spam := r.approved(store.PurposeInterviewRequest, false)
	r.smtp.Fail(sandbox.Fault{Stage: "rcpt", Code: 550, Rcpt: "person1@example.test"})
	errs := r.sendDue()
	if len(errs) != 1 {
		t.Fatalf("errors: %v", errs)
	}
	r.smtp.Fail(sandbox.Fault{Stage: "data", Code: 554, Text: "Message rejected: looks like spam"})
	// spam was already sent in the first batch; send a new one into the fault.
	late := r.approved(store.PurposeInterviewRequest, false)
	r.sendDue()
	for _, c := range []struct {
		m     *store.Message
		state string
	}{{bad, store.MsgFailed}, {good, store.MsgSent}, {spam, store.MsgSent}, {late, store.MsgFailed}} {
		if got := r.msg(c.m.ID); got.State != c.state {
			t.Errorf("message %d (%s): state %s, want %s (error %q)", c.m.ID, c.m.To, got.State, c.state, got.Error)
		}
	}
	items := r.reviews(outreach.ReviewFailedSend)
	if len(items) != 2 {
		t.Fatalf("review items: %+v", items)
	}
	var d map[string]any
	json.Unmarshal([]byte(items[0].Detail), &d)
	if !strings.Contains(items[0].Summary, "550") || !strings.Contains(d["server_text"].(string), "User unknown") || d["recipient"] != "person1@example.test" {
		t.Errorf("review item for a refused recipient: %q %v", items[0].Summary, d)
	}
	if !strings.Contains(items[1].Summary, "554") || !strings.Contains(items[1].Summary, "looks like spam") {
		t.Errorf("review item for a refused message: %q", items[1].Summary)
	}

	// approve rN tries again (the address was fixed meanwhile: the server now takes it).
	if _, err := r.o.Approve(r.ctx, []string{"r" + strconv.FormatInt(items[0].ID, 10)}, false); err != nil {
		t.Fatal(err)
	}
	if got := r.msg(bad.ID); got.State != store.MsgApproved || got.Attempts != 0 {
		t.Fatalf("after approve: %s, attempts %d", got.State, got.Attempts)
	}
	r.sendDue()
	if got := r.msg(bad.ID); got.State != store.MsgSent || r.received(bad.MessageID) != 1 {
		t.Errorf("retry after approve: %s, received %d", got.State, r.received(bad.MessageID))
	}
}

// A stored message that smuggles a header (a line break in its subject or a
// recipient, however it got there) is never sent: it fails with a review
// item, and the rest still go.
func TestSendRefusesStoredInjection(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	subj := r.approved(store.PurposeInterviewRequest, false)
	to := r.approved(store.PurposeInterviewRequest, false)
	good := r.approved(store.PurposeInterviewRequest, false)
	if err := r.db.Update(r.ctx, func(tx *store.Tx) error {
		a, b := r.msg(subj.ID), r.msg(to.ID)
		a.Subject = "Coffee?\r\nBcc: spy@evil.test"
		b.To = "Jane <jane@example.test>\r\nBcc: spy@evil.test"
		if err := tx.SaveMessage(r.ctx, a); err != nil {
			return err
		}
		return tx.SaveMessage(r.ctx, b)
	}); err != nil {
		t.Fatal(err)
	}
	r.sendDue()
	for _, m := range []*store.Message{subj, to} {
		if got := r.msg(m.ID); got.State != store.MsgFailed || !strings.Contains(got.Error, "cannot compose") {
			t.Errorf("message %d: state %s error %q, want failed (cannot compose)", m.ID, got.State, got.Error)
		}
	}
	if got := r.msg(good.ID); got.State != store.MsgSent {
		t.Errorf("the good message is %s, want sent", got.State)
	}
	for _, rc := range r.smtp.Received() {
		if bytes.Contains(rc.Data, []byte("spy@evil.test")) || slices.Contains(rc.Rcpts, "spy@evil.test") {
			t.Errorf("the smuggled Bcc reached the server: %v", rc.Rcpts)
		}
	}
	if n := len(r.smtp.Received()); n != 1 {
		t.Errorf("server received %d, want 1", n)
	}
	if items := r.reviews(outreach.ReviewFailedSend); len(items) != 2 {
		t.Errorf("review items: %d, want 2", len(items))
	}
}

func TestSendUncertain(t *testing.T) {
	t.Run("found in Sent", func(t *testing.T) {
		r := newSendRig(t, sandbox.SMTPOptions{})
		m := r.approved(store.PurposeInterviewRequest, false)
		r.smtp.Fail(sandbox.Fault{DropAfterData: true})
		errs := r.sendDue()
		var se *mailer.SendError
		if !errors.As(errs[m.ID], &se) || se.Fate != mailer.Uncertain {
			t.Fatalf("err = %v, want uncertain", errs[m.ID])
		}
		if got := r.msg(m.ID); got.State != store.MsgUncertain {
			t.Fatalf("state %s, want uncertain", got.State)
		}
		// The provider filed what it received in Sent by itself.
		for _, rc := range r.smtp.Received() {
			if err := r.imap.Deliver(me, "Sent", rc.Data); err != nil {
				t.Fatal(err)
			}
		}
		found, asked, err := r.o.ResolveUncertain(r.ctx, r.sentFolder(), 0)
		if err != nil || found != 1 || asked != 0 {
			t.Fatalf("ResolveUncertain = %d found, %d asked, %v", found, asked, err)
		}
		if got := r.msg(m.ID); got.State != store.MsgSent || r.received(m.MessageID) != 1 {
			t.Fatalf("state %s, received %d", got.State, r.received(m.MessageID))
		}
		if n, _ := r.o.FileSentCopies(r.ctx, r.sentFolder(), 10); n != 0 {
			t.Errorf("filed %d copies of a message already in Sent", n)
		}
		if st, _ := r.imap.Stored(me, "Sent"); len(st) != 1 {
			t.Errorf("Sent holds %d copies", len(st))
		}
	})
	for _, c := range []struct {
		name   string
		fault  sandbox.Fault
		accept bool // approve rN (send again) or reject rN (mark sent)
	}{
		{"mid-data, resend", sandbox.Fault{DropMidData: true}, true},
		{"after data, mark sent", sandbox.Fault{DropAfterData: true}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newSendRig(t, sandbox.SMTPOptions{})
			m := r.approved(store.PurposeInterviewRequest, false)
			r.smtp.Fail(c.fault)
			r.sendDue()
			first := r.msg(m.ID)
			if first.State != store.MsgUncertain {
				t.Fatalf("state %s, want uncertain", first.State)
			}
			// Never resent on its own.
			if due, _ := r.o.DueMessages(r.ctx); len(due) != 0 {
				t.Fatalf("uncertain message due: %v", due)
			}
			found, asked, err := r.o.ResolveUncertain(r.ctx, r.sentFolder(), 0)
			if err != nil || found != 0 || asked != 1 {
				t.Fatalf("ResolveUncertain = %d found, %d asked, %v", found, asked, err)
			}
			if _, asked, _ := r.o.ResolveUncertain(r.ctx, r.sentFolder(), 0); asked != 0 {
				t.Fatalf("asked twice")
			}
			items := r.reviews(outreach.ReviewUncertainSend)
			if len(items) != 1 || items[0].MessageID != m.ID {
				t.Fatalf("review items %+v", items)
			}
			rid := "r" + strconv.FormatInt(items[0].ID, 10)
			before := r.received(m.MessageID)
			if c.accept {
				if _, err := r.o.Approve(r.ctx, []string{rid}, false); err != nil {
					t.Fatal(err)
				}
				r.sendDue()
				got := r.msg(m.ID)
				if got.State != store.MsgSent || got.MessageID != m.MessageID || !bytes.Equal(got.Raw, first.Raw) {
					t.Fatalf("resend: state %s, Message-ID %s (was %s), same bytes %v", got.State, got.MessageID, m.MessageID, bytes.Equal(got.Raw, first.Raw))
				}
				if r.received(m.MessageID) != before+1 {
					t.Errorf("resend delivered %d times", r.received(m.MessageID)-before)
				}
			} else {
				if _, err := r.o.Reject(r.ctx, []string{rid}, ""); err != nil {
					t.Fatal(err)
				}
				got := r.msg(m.ID)
				if got.State != store.MsgSent || !strings.Contains(got.SMTPReply, "marked sent") {
					t.Fatalf("mark sent: state %s reply %q", got.State, got.SMTPReply)
				}
				r.sendDue()
				if r.received(m.MessageID) != before {
					t.Errorf("mark sent sent it again")
				}
			}
		})
	}
}

func TestRecoverSending(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	m := r.approved(store.PurposeInterviewRequest, false)
	if err := r.db.Update(r.ctx, func(tx *store.Tx) error { return tx.BeginSending(r.ctx, m.ID, []byte("x")) }); err != nil {
		t.Fatal(err)
	}
	if n, err := r.o.RecoverSending(r.ctx); n != 1 || err != nil {
		t.Fatalf("RecoverSending = %d, %v", n, err)
	}
	if got := r.msg(m.ID); got.State != store.MsgUncertain {
		t.Fatalf("state %s", got.State)
	}
	if _, asked, err := r.o.ResolveUncertain(r.ctx, nil, 10*time.Second); asked != 0 || err != nil {
		t.Fatalf("resolved before it settled: asked %d, %v", asked, err)
	}
	r.advance(11 * time.Second)
	if _, asked, err := r.o.ResolveUncertain(r.ctx, nil, 10*time.Second); asked != 1 || err != nil {
		t.Fatalf("without IMAP: asked %d, %v", asked, err)
	}
}

func TestSendPolicyThroughTheDatabase(t *testing.T) {
	r := newSendRig(t, sandbox.SMTPOptions{})
	r.cfg.Sending = config.Sending{Window: "Mon-Fri 08:00-18:00", DailyCap: 2, MinGap: "2m"}
	loc, _ := time.LoadLocation("America/Los_Angeles")
	r.now = time.Date(2026, 12, 5, 10, 0, 0, 0, loc) // a Saturday
	a := r.approved(store.PurposeInterviewRequest, false)
	b := r.approved(store.PurposeInterviewRequest, false)
	c := r.approved(store.PurposeInterviewRequest, false)
	inv := r.approved(store.PurposeInvite, true)
	outgoing, err := r.o.Outgoing(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	plan := map[int64]time.Time{}
	var order []int64
	for _, g := range outgoing {
		if g.Sends == nil {
			t.Fatalf("message %d never goes", g.ID)
		}
		plan[g.ID] = *g.Sends
		order = append(order, g.ID)
	}
	if wantOrder := []int64{inv.ID, a.ID, b.ID, c.ID}; !slices.Equal(order, wantOrder) {
		t.Errorf("Outgoing order = %v, want %v (by the time each leaves)", order, wantOrder)
	}
	mon := time.Date(2026, 12, 7, 8, 0, 0, 0, loc)
	want := map[int64]time.Time{
		inv.ID: r.now, // an invite goes now, and counts toward Saturday's cap
		a.ID:   mon, b.ID: mon.Add(2 * time.Minute),
		c.ID: time.Date(2026, 12, 8, 8, 0, 0, 0, loc), // the cap of 2 is full on Monday
	}
	for id, w := range want {
		if !plan[id].Equal(w) {
			t.Errorf("message %d goes at %v, want %v", id, plan[id].In(loc), w)
		}
	}
	errs := r.sendDue()
	if len(errs) != 0 || r.msg(inv.ID).State != store.MsgSent || r.msg(a.ID).State != store.MsgApproved {
		t.Fatalf("Saturday: invite %s, a %s (%v)", r.msg(inv.ID).State, r.msg(a.ID).State, errs)
	}
	r.now = mon
	r.sendDue()
	if r.msg(a.ID).State != store.MsgSent || r.msg(b.ID).State != store.MsgApproved {
		t.Fatalf("Monday 08:00: a %s b %s, want only a sent (min_gap)", r.msg(a.ID).State, r.msg(b.ID).State)
	}
	r.advance(2 * time.Minute)
	r.sendDue()
	r.advance(time.Hour)
	r.sendDue()
	if r.msg(b.ID).State != store.MsgSent || r.msg(c.ID).State != store.MsgApproved {
		t.Fatalf("Monday: b %s c %s, want the cap to hold c", r.msg(b.ID).State, r.msg(c.ID).State)
	}
}

func TestSendPolicyPlan(t *testing.T) {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := config.ParseWindow("Mon-Fri 08:00-18:00", loc)
	msgs := func(n int) []*store.Message {
		var out []*store.Message
		for i := 1; i <= n; i++ {
			out = append(out, &store.Message{ID: int64(i), Purpose: store.PurposeInterviewRequest})
		}
		return out
	}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, loc) }
	for _, c := range []struct {
		name  string
		p     outreach.SendPolicy
		now   time.Time
		today int
		last  time.Time
		n     int
		want  []time.Time
	}{
		{"inside the window", outreach.SendPolicy{Window: w}, at(2026, 12, 2, 9, 0), 0, time.Time{}, 2,
			[]time.Time{at(2026, 12, 2, 9, 0), at(2026, 12, 2, 9, 0)}},
		{"after hours waits for the morning", outreach.SendPolicy{Window: w}, at(2026, 12, 2, 19, 0), 0, time.Time{}, 1,
			[]time.Time{at(2026, 12, 3, 8, 0)}},
		{"weekend before spring forward", outreach.SendPolicy{Window: w}, at(2026, 3, 7, 12, 0), 0, time.Time{}, 1,
			[]time.Time{at(2026, 3, 9, 8, 0)}}, // 08:00 PDT, 15:00 UTC
		{"weekend before fall back", outreach.SendPolicy{Window: w}, at(2026, 10, 31, 12, 0), 0, time.Time{}, 1,
			[]time.Time{at(2026, 11, 2, 8, 0)}}, // 08:00 PST, 16:00 UTC
		{"gap from the last send", outreach.SendPolicy{Window: w, MinGap: 2 * time.Minute}, at(2026, 12, 2, 9, 0), 1, at(2026, 12, 2, 8, 59), 3,
			[]time.Time{at(2026, 12, 2, 9, 1), at(2026, 12, 2, 9, 3), at(2026, 12, 2, 9, 5)}},
		{"gap runs past closing", outreach.SendPolicy{Window: w, MinGap: time.Hour}, at(2026, 12, 4, 17, 30), 0, time.Time{}, 2,
			[]time.Time{at(2026, 12, 4, 17, 30), at(2026, 12, 7, 8, 0)}},
		{"cap counts what went today", outreach.SendPolicy{Window: w, DailyCap: 3}, at(2026, 12, 2, 9, 0), 2, time.Time{}, 3,
			[]time.Time{at(2026, 12, 2, 9, 0), at(2026, 12, 3, 8, 0), at(2026, 12, 3, 8, 0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := c.p.Plan(c.now, msgs(c.n), c.today, c.last)
			for i, w := range c.want {
				if got := plan[int64(i+1)]; !got.Equal(w) {
					t.Errorf("message %d at %v, want %v", i+1, got.In(loc), w)
				}
			}
		})
	}
	if w := at(2026, 3, 9, 8, 0).UTC(); w.Hour() != 15 {
		t.Errorf("08:00 on 9 March 2026 in Los Angeles is %v UTC, want 15:00 (PDT)", w)
	}
	none, _ := config.ParseWindow("Mon-Fri 08:00-18:00", loc)
	none.Days = nil
	if got := (outreach.SendPolicy{Window: none}).Plan(at(2026, 12, 2, 9, 0), msgs(1), 0, time.Time{}); !got[1].IsZero() {
		t.Errorf("a window with no days planned %v", got[1])
	}
}
