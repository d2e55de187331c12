package outreach_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/inbox"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/sandbox"
	"github.com/coffeechat/coffeechat/store"
)

// schedEnv is a database, an Outreach on an injected clock, and an
// in-process SMTP server the real sending code delivers to.
type schedEnv struct {
	t    *testing.T
	ctx  context.Context
	path string
	db   *store.DB
	cfg  *config.Config
	o    *outreach.Outreach
	smtp *sandbox.SMTPServer
	uid  imap.UID
	testClock
}

// schedT0 is a Wednesday, 09:00 in Los Angeles.
var schedT0 = time.Date(2026, 12, 2, 17, 0, 0, 0, time.UTC)

func newSchedEnv(t *testing.T, after string, max int) *schedEnv {
	t.Helper()
	ctx := t.Context()
	e := &schedEnv{t: t, ctx: ctx, testClock: testClock{now: schedT0}, path: filepath.Join(t.TempDir(), "cc.db")}
	var err error
	if e.smtp, err = sandbox.StartSMTP(ctx, sandbox.SMTPOptions{Users: map[string]string{me: mePass}}); err != nil {
		t.Fatal(err)
	}
	e.db = openTestDB(t, e.path, e.clock)
	e.cfg = testConfig()
	e.cfg.Followup = config.Followup{After: after, Max: max}
	e.cfg.Thanks = config.Thanks{After: "2h"}
	e.cfg.Sending = config.Sending{Window: "always", MinGap: "0s"}
	e.cfg.SMTP.Server = serverOf(t, e.cfg.SMTP.Server, e.smtp.Addr)
	if err := e.cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e.o = e.outreachOn(e.db)
	return e
}

func (e *schedEnv) outreachOn(db *store.DB) *outreach.Outreach {
	tmpl, err := outreach.LoadTemplates("")
	if err != nil {
		e.t.Fatal(err)
	}
	o := outreach.New(db, e.cfg, tmpl, nil)
	o.Now = e.clock
	o.RegisterSendReviews()
	o.RegisterScheduleReviews()
	return o
}

func (e *schedEnv) contact(name, email string) *store.Contact {
	e.t.Helper()
	c := &store.Contact{Name: name, Emails: []string{email}}
	if err := e.db.Update(e.ctx, func(tx *store.Tx) error { return tx.InsertContact(e.ctx, c) }); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// send approves message id (if it is a draft) and sends it over SMTP with
// the real sending code.
func (e *schedEnv) send(id int64) outreach.SendResult {
	e.t.Helper()
	if e.msg(id).State == store.MsgDraft {
		if _, err := e.o.Approve(e.ctx, []string{strconv.FormatInt(id, 10)}, false); err != nil {
			e.t.Fatal(err)
		}
	}
	s, err := mailer.NewClient(e.cfg.SMTP, nil).Dial(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	res, err := e.o.SendOne(e.ctx, s, id)
	if err != nil {
		e.t.Fatalf("SendOne(%d): %v", id, err)
	}
	return res
}

// waiting creates an interview ask to a new person and sends its request at
// the current time.
func (e *schedEnv) waiting(name string) (*store.Ask, *store.Message) {
	e.t.Helper()
	c := e.contact(name, strings.ToLower(strings.Fields(name)[0])+"@example.test")
	cr, err := e.o.AskInterview(e.ctx, outreach.InterviewRequest{To: strconv.FormatInt(c.ID, 10), Topic: "sports marketing"})
	if err != nil {
		e.t.Fatal(err)
	}
	if res := e.send(cr.Draft.ID); res.State != store.MsgSent {
		e.t.Fatalf("request not sent: %+v", res)
	}
	return e.ask(cr.Ask.ID), e.msg(cr.Draft.ID)
}

func (e *schedEnv) ask(id int64) *store.Ask {
	e.t.Helper()
	return readTx(e.t, e.db, func(ctx context.Context, tx *store.Tx) (*store.Ask, error) { return tx.Ask(ctx, id) })
}

func (e *schedEnv) msg(id int64) *store.Message {
	e.t.Helper()
	return message(e.t, e.db, id)
}

// out lists an ask's outgoing messages of one purpose.
func (e *schedEnv) out(askID int64, purpose string) []*store.Message {
	e.t.Helper()
	var out []*store.Message
	if err := e.db.View(e.ctx, func(tx *store.Tx) error {
		ms, err := tx.Messages(e.ctx, store.MessageFilter{AskID: askID, Direction: store.Out})
		for _, m := range ms {
			if m.Purpose == purpose {
				out = append(out, m)
			}
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *schedEnv) pass() outreach.PassResult {
	e.t.Helper()
	res, err := e.o.SchedulePass(e.ctx)
	if err != nil {
		e.t.Fatalf("SchedulePass: %v", err)
	}
	return res
}

// reply delivers a reply from person to parent through the inbox sink,
// as the watcher would.
func (e *schedEnv) reply(from string, parent *store.Message, text string) {
	e.t.Helper()
	e.uid++
	raw := fmt.Sprintf("From: %s\r\nTo: Sam Rivera <%s>\r\nSubject: Re: %s\r\nDate: %s\r\nMessage-ID: <reply%d@example.test>\r\n"+
		"In-Reply-To: <%s>\r\nReferences: <%s>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		from, me, parent.Subject, e.clock().Format(time.RFC1123Z), e.uid, parent.MessageID, parent.MessageID, text)
	f := inbox.Fetched{Headers: *inbox.ParseHeaders(e.uid, []byte(raw)), Raw: []byte(raw)}
	if err := e.o.InboxSink().Apply(e.ctx, "INBOX", inbox.Checkpoint{UIDValidity: 1, LastUID: e.uid}, []inbox.Fetched{f}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *schedEnv) reviews(kind string) []*store.ReviewItem {
	e.t.Helper()
	var out []*store.ReviewItem
	if err := e.db.View(e.ctx, func(tx *store.Tx) error {
		items, err := tx.OpenReviewItems(e.ctx)
		for _, it := range items {
			if it.Kind == kind {
				out = append(out, it)
			}
		}
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

const day = 24 * time.Hour

func TestScheduleFollowups(t *testing.T) {
	type check struct {
		at        time.Duration // after the request was sent
		followups int           // follow-ups drafted by then
		state     string        // the ask's state then
	}
	tests := []struct {
		name  string
		max   int
		away  time.Duration // out of office: back on this day (0: not away)
		reply time.Duration // a human reply at this time (0: none)
		send  bool          // send each follow-up as soon as it is drafted
		steps []check
	}{
		{name: "not due, then due", max: 1, steps: []check{
			{at: 7*day - time.Minute, followups: 0, state: store.AskWaiting},
			{at: 7 * day, followups: 1, state: store.AskWaiting},
			{at: 30 * day, followups: 1, state: store.AskWaiting}, // the draft waits for approval: nothing more
		}},
		{name: "max respected, then no answer", max: 1, send: true, steps: []check{
			{at: 7 * day, followups: 1, state: store.AskWaiting},
			{at: 14*day - time.Minute, followups: 1, state: store.AskWaiting},
			{at: 14 * day, followups: 1, state: store.AskNoAnswer},
			{at: 40 * day, followups: 1, state: store.AskNoAnswer},
		}},
		{name: "two follow-ups", max: 2, send: true, steps: []check{
			{at: 7 * day, followups: 1, state: store.AskWaiting},
			{at: 14 * day, followups: 2, state: store.AskWaiting},
			{at: 21*day - time.Minute, followups: 2, state: store.AskWaiting},
			{at: 21 * day, followups: 2, state: store.AskNoAnswer},
		}},
		{name: "no follow-ups at all", max: 0, steps: []check{
			{at: 7*day - time.Minute, followups: 0, state: store.AskWaiting},
			{at: 7 * day, followups: 0, state: store.AskNoAnswer},
		}},
		{name: "out of office pushes it past the return day", max: 1, away: 10 * day, steps: []check{
			{at: 7 * day, followups: 0, state: store.AskWaiting},
			{at: 10*day + 12*time.Hour, followups: 0, state: store.AskWaiting},
			{at: 11*day + 12*time.Hour, followups: 1, state: store.AskWaiting},
		}},
		{name: "a human reply stops it", max: 2, reply: 3 * day, steps: []check{
			{at: 7 * day, followups: 0, state: store.AskReplied},
			{at: 60 * day, followups: 0, state: store.AskReplied},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSchedEnv(t, "7d", tt.max)
			a, req := e.waiting("Jane Doe")
			sentAt := e.clock()
			if tt.away > 0 {
				e.at(sentAt.Add(time.Hour))
				back := sentAt.In(e.cfg.Location()).Add(tt.away)
				raw := fmt.Sprintf("From: Jane Doe <jane@example.test>\r\nTo: %s\r\nSubject: Automatic reply: %s\r\n"+
					"Auto-Submitted: auto-replied\r\nDate: %s\r\nMessage-ID: <ooo@example.test>\r\nIn-Reply-To: <%s>\r\n\r\n"+
					"I am out of the office until %s with limited access to email.\r\n",
					me, req.Subject, e.clock().Format(time.RFC1123Z), req.MessageID, back.Format("Monday, January 2"))
				f := inbox.Fetched{Headers: *inbox.ParseHeaders(1, []byte(raw)), Raw: []byte(raw)}
				if err := e.o.InboxSink().Apply(e.ctx, "INBOX", inbox.Checkpoint{UIDValidity: 1, LastUID: 1}, []inbox.Fetched{f}); err != nil {
					t.Fatal(err)
				}
				if got := e.ask(a.ID).WaitUntil; got.IsZero() {
					t.Fatalf("the out-of-office reply set no wait_until")
				}
			}
			if tt.reply > 0 {
				e.at(sentAt.Add(tt.reply))
				e.reply("Jane Doe <jane@example.test>", req, "Happy to help! Which company are you most curious about?")
			}
			for _, c := range tt.steps {
				e.at(sentAt.Add(c.at))
				e.pass()
				fus := e.out(a.ID, store.PurposeFollowup)
				if tt.send {
					for _, m := range fus {
						if m.State == store.MsgDraft {
							e.send(m.ID)
						}
					}
				}
				got := e.ask(a.ID)
				if len(fus) != c.followups || got.State != c.state {
					t.Fatalf("at +%v: %d follow-ups, ask %s; want %d, %s", c.at, len(fus), got.State, c.followups, c.state)
				}
			}
		})
	}
}

func TestFollowupDraftIsInThread(t *testing.T) {
	e := newSchedEnv(t, "7d", 1)
	a, req := e.waiting("Jane Doe")
	e.at(e.clock().Add(7 * day))
	if res := e.pass(); res.Followups != 1 {
		t.Fatalf("pass = %+v, want one follow-up", res)
	}
	fus := e.out(a.ID, store.PurposeFollowup)
	if len(fus) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(fus))
	}
	f := fus[0]
	if f.State != store.MsgDraft || f.InReplyTo != req.MessageID || !strings.Contains(f.References, req.MessageID) {
		t.Errorf("follow-up: state %s In-Reply-To %q References %q; want a draft replying to %q", f.State, f.InReplyTo, f.References, req.MessageID)
	}
	if f.Subject != "Re: "+req.Subject {
		t.Errorf("follow-up subject = %q, want %q", f.Subject, "Re: "+req.Subject)
	}
	if f.To != req.To || f.Bcc != "" || f.Cc != "" || f.MessageID == "" || f.MessageID == req.MessageID {
		t.Errorf("follow-up To %q Cc %q Bcc %q Message-ID %q; want To %q alone and a new Message-ID", f.To, f.Cc, f.Bcc, f.MessageID, req.To)
	}
	if !strings.Contains(f.Body, "Hi Jane") || !strings.Contains(f.Body, "Sam Rivera") {
		t.Errorf("follow-up body:\n%s", f.Body)
	}
	// Sent, it is a real reply in the thread.
	if res := e.send(f.ID); res.State != store.MsgSent {
		t.Fatalf("follow-up not sent: %+v", res)
	}
	recv := e.smtp.Received()
	last := string(recv[len(recv)-1].Data)
	if !strings.Contains(last, "In-Reply-To: <"+req.MessageID+">") {
		t.Errorf("sent follow-up lacks In-Reply-To <%s>:\n%s", req.MessageID, last)
	}
}

func TestRejectedFollowupClosesAfterAnotherWait(t *testing.T) {
	e := newSchedEnv(t, "7d", 1)
	a, _ := e.waiting("Jane Doe")
	sent := e.clock()
	e.at(sent.Add(7 * day))
	e.pass()
	fus := e.out(a.ID, store.PurposeFollowup)
	if len(fus) != 1 {
		t.Fatalf("%d follow-ups, want 1", len(fus))
	}
	if _, err := e.o.Reject(e.ctx, []string{strconv.FormatInt(fus[0].ID, 10)}, "no nudging"); err != nil {
		t.Fatal(err)
	}
	e.at(sent.Add(14*day - time.Hour))
	e.pass()
	if got := e.ask(a.ID); got.State != store.AskWaiting || len(e.out(a.ID, store.PurposeFollowup)) != 1 {
		t.Fatalf("before the second wait: ask %s, want waiting and no new follow-up", got.State)
	}
	e.at(sent.Add(14 * day))
	e.pass()
	if got := e.ask(a.ID); got.State != store.AskNoAnswer {
		t.Fatalf("after the second wait: ask %s, want no_answer", got.State)
	}
}

// scheduledInterview makes an interview ask (from an intro via Dad when
// introduced) with an accepted interview from start for 30 minutes.
func (e *schedEnv) scheduledInterview(name string, introduced bool, start time.Time) *store.Ask {
	e.t.Helper()
	target := e.contact(name, strings.ToLower(strings.Fields(name)[0])+"@example.test")
	var a *store.Ask
	err := e.db.Update(e.ctx, func(tx *store.Tx) error {
		a = &store.Ask{Kind: store.KindInterview, TargetID: target.ID, Topic: "sports marketing", State: store.AskScheduled}
		if introduced {
			dad := &store.Contact{Name: "Dad Rivera", Emails: []string{"dad" + strconv.FormatInt(target.ID, 10) + "@example.test"}}
			if err := tx.InsertContact(e.ctx, dad); err != nil {
				return err
			}
			if err := tx.AddConnection(e.ctx, &store.Connection{FromID: dad.ID, ToID: target.ID, Note: "plays tennis with Dad", Source: "introduction"}); err != nil {
				return err
			}
			parent := &store.Ask{Kind: store.KindIntro, ConnectorID: dad.ID, TargetID: target.ID, State: store.AskIntroduced}
			if err := tx.InsertAsk(e.ctx, parent); err != nil {
				return err
			}
			a.ConnectorID, a.ParentID = dad.ID, parent.ID
		}
		if err := tx.InsertAsk(e.ctx, a); err != nil {
			return err
		}
		return tx.InsertInterview(e.ctx, &store.Interview{AskID: a.ID, UID: fmt.Sprintf("iv%d@example.test", a.ID),
			Start: start, End: start.Add(30 * time.Minute), Status: store.InterviewAccepted})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func TestScheduleThanksAndCloseLoop(t *testing.T) {
	for _, introduced := range []bool{false, true} {
		t.Run(fmt.Sprintf("introduced=%v", introduced), func(t *testing.T) {
			e := newSchedEnv(t, "7d", 1)
			start := schedT0.Add(2 * day)
			a := e.scheduledInterview("Jane Doe", introduced, start)
			end := start.Add(30 * time.Minute)

			for _, at := range []time.Time{start.Add(-time.Hour), end, end.Add(2*time.Hour - time.Minute)} {
				e.at(at)
				e.pass()
				if n := len(e.out(a.ID, store.PurposeThanks)); n != 0 || e.ask(a.ID).State != store.AskScheduled {
					t.Fatalf("at %v: %d thank-yous, ask %s; want none before thanks.after", at, n, e.ask(a.ID).State)
				}
			}
			e.at(end.Add(2 * time.Hour))
			res := e.pass()
			th := e.out(a.ID, store.PurposeThanks)
			if len(th) != 1 || th[0].State != store.MsgDraft || !strings.Contains(th[0].To, "jane@example.test") {
				t.Fatalf("thank-yous %+v, want one draft to jane", th)
			}
			if !strings.Contains(th[0].Body, "Thank you for taking the time") {
				t.Errorf("thank-you body:\n%s", th[0].Body)
			}
			if got := e.ask(a.ID).State; got != store.AskDone {
				t.Errorf("ask after the thank-you: %s, want done", got)
			}
			var closeLoops []*store.Message
			if introduced {
				closeLoops = e.out(a.ParentID, store.PurposeCloseLoop)
				if len(closeLoops) != 1 || !strings.Contains(closeLoops[0].To, "dad") || !strings.Contains(closeLoops[0].Body, "Jane Doe") {
					t.Fatalf("close-the-loop drafts %+v, want one to Dad naming Jane Doe", closeLoops)
				}
				if !strings.Contains(th[0].Body, "let Dad know") {
					t.Errorf("thank-you of an introduced interview does not mention the connector:\n%s", th[0].Body)
				}
				if got := e.ask(a.ParentID).State; got != store.AskDone {
					t.Errorf("intro ask after close-the-loop: %s, want done", got)
				}
			}
			if want := (outreach.PassResult{Thanks: 1, CloseLoops: len(closeLoops)}); res != want {
				t.Errorf("pass = %+v, want %+v", res, want)
			}
			e.at(end.Add(30 * day))
			if res := e.pass(); res.Changed() {
				t.Errorf("a later pass did %+v, want nothing", res)
			}
		})
	}
}

// TestScheduleConcurrentPasses runs 8 passes at once, each on its own
// database handle (as separate processes would), then again after a
// "restart": exactly one draft per step.
func TestScheduleConcurrentPasses(t *testing.T) {
	e := newSchedEnv(t, "7d", 1)
	var waiting []*store.Ask
	for i := range 6 {
		a, _ := e.waiting(fmt.Sprintf("Person%d Example", i))
		waiting = append(waiting, a)
	}
	start := e.clock().Add(day)
	direct := e.scheduledInterview("Direct Person", false, start)
	introduced := e.scheduledInterview("Introduced Person", true, start)
	e.at(e.clock().Add(7 * day))

	for round := range 2 {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 8 {
			db, err := store.Open(e.ctx, e.path)
			if err != nil {
				t.Fatal(err)
			}
			db.Now = e.clock
			o := e.outreachOn(db)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer db.Close()
				if _, err := o.SchedulePass(e.ctx); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: pass: %v", round, err)
		}
		for _, a := range waiting {
			if n := len(e.out(a.ID, store.PurposeFollowup)); n != 1 {
				t.Errorf("round %d: ask %d has %d follow-ups, want 1", round, a.ID, n)
			}
		}
		for _, a := range []*store.Ask{direct, introduced} {
			if n := len(e.out(a.ID, store.PurposeThanks)); n != 1 {
				t.Errorf("round %d: ask %d has %d thank-yous, want 1", round, a.ID, n)
			}
		}
		if n := len(e.out(introduced.ParentID, store.PurposeCloseLoop)); n != 1 {
			t.Errorf("round %d: %d close-the-loop drafts, want 1", round, n)
		}
	}
}

func TestStaleNeverSent(t *testing.T) {
	e := newSchedEnv(t, "7d", 1)
	a, req := e.waiting("Jane Doe")
	e.at(e.clock().Add(7 * day))
	e.pass()
	fu := e.out(a.ID, store.PurposeFollowup)[0]
	if _, err := e.o.Approve(e.ctx, []string{strconv.FormatInt(fu.ID, 10)}, false); err != nil {
		t.Fatal(err)
	}
	// She answers before the sender gets to the approved follow-up; no
	// schedule pass runs in between.
	e.at(e.clock().Add(time.Hour))
	e.reply("Jane Doe <jane@example.test>", req, "Sorry for the delay! What would you like to know?")
	before := len(e.smtp.Received())
	if res := e.send(fu.ID); res.State != store.MsgStale {
		t.Fatalf("SendOne of a follow-up after a reply: state %q, want stale", res.State)
	}
	if got := len(e.smtp.Received()); got != before {
		t.Fatalf("the server received %d messages, want %d: a stale follow-up left", got, before)
	}
	m := e.msg(fu.ID)
	if m.State != store.MsgStale || !strings.Contains(m.Error, "reply arrived") {
		t.Errorf("follow-up: state %s error %q, want stale with the reason", m.State, m.Error)
	}
	items := e.reviews(outreach.ReviewStale)
	if len(items) != 1 || items[0].MessageID != fu.ID || !strings.Contains(items[0].Summary, "reply arrived") {
		t.Fatalf("stale review items %+v, want one about message %d with the reason", items, fu.ID)
	}
	// Approving the item puts it back as a new draft, judged from now.
	done, err := e.o.Approve(e.ctx, []string{"r" + strconv.FormatInt(items[0].ID, 10)}, false)
	if err != nil || len(done) != 1 || done[0].State != store.ReviewResolved {
		t.Fatalf("approve stale item: %+v, %v", done, err)
	}
	fus := e.out(a.ID, store.PurposeFollowup)
	if len(fus) != 2 || fus[1].State != store.MsgDraft || fus[1].Body != fu.Body || fus[1].MessageID == fu.MessageID {
		t.Fatalf("after approving the stale item: %+v, want a new draft copy", fus)
	}
}

func TestStaleMarkedByPass(t *testing.T) {
	e := newSchedEnv(t, "7d", 1)
	// A draft follow-up whose ask was answered in the meantime.
	a, req := e.waiting("Jane Doe")
	e.at(e.clock().Add(7 * day))
	e.pass()
	fu := e.out(a.ID, store.PurposeFollowup)[0]
	e.reply("Jane Doe <jane@example.test>", req, "No, thank you. I am not able to help at this time.")
	// An approved request whose ask was closed by the user meanwhile.
	c := e.contact("Bob Smith", "bob@example.test")
	cr, err := e.o.AskInterview(e.ctx, outreach.InterviewRequest{To: strconv.FormatInt(c.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.o.Approve(e.ctx, []string{strconv.FormatInt(cr.Draft.ID, 10)}, false); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Update(e.ctx, func(tx *store.Tx) error {
		return tx.SetAskState(e.ctx, cr.Ask.ID, store.AskClosed, "closed", "by the user")
	}); err != nil {
		t.Fatal(err)
	}
	// A fresh request stays.
	d := e.contact("Dana Lee", "dana@example.test")
	fresh, err := e.o.AskInterview(e.ctx, outreach.InterviewRequest{To: strconv.FormatInt(d.ID, 10)})
	if err != nil {
		t.Fatal(err)
	}
	res := e.pass()
	if res.Stale != 2 {
		t.Errorf("pass = %+v, want 2 stale", res)
	}
	for id, want := range map[int64]string{fu.ID: store.MsgStale, cr.Draft.ID: store.MsgStale, fresh.Draft.ID: store.MsgDraft} {
		if got := e.msg(id).State; got != want {
			t.Errorf("message %d: %s, want %s", id, got, want)
		}
	}
	if n := len(e.reviews(outreach.ReviewStale)); n != 2 {
		t.Errorf("%d stale review items, want 2", n)
	}
	if res := e.pass(); res.Stale != 0 {
		t.Errorf("second pass = %+v, want nothing stale again", res)
	}
}

func TestNextFollowup(t *testing.T) {
	e := newSchedEnv(t, "7d", 1)
	at, _, _, err := e.o.NextFollowup(e.ctx)
	if err != nil || !at.IsZero() {
		t.Fatalf("NextFollowup on an empty database = %v, %v; want zero", at, err)
	}
	a, _ := e.waiting("Jane Doe")
	e.at(e.clock().Add(day))
	e.waiting("Bob Smith")
	at, id, followup, err := e.o.NextFollowup(e.ctx)
	if err != nil || id != a.ID || !followup || !at.Equal(a.LastSentAt.Add(7*day)) {
		t.Fatalf("NextFollowup = %v, ask %d, followup %v, %v; want %v for ask %d", at, id, followup, err, a.LastSentAt.Add(7*day), a.ID)
	}
	// Jane (sent first) is out of office for a month: Bob, sent a day
	// later, now comes first, although he was sent later.
	a.WaitUntil = a.LastSentAt.Add(30 * day)
	if err := e.db.Update(e.ctx, func(tx *store.Tx) error { return tx.SaveAsk(e.ctx, a) }); err != nil {
		t.Fatal(err)
	}
	e.at(e.clock().Add(day))
	c, _ := e.waiting("Carol Jones")
	at, id, _, err = e.o.NextFollowup(e.ctx)
	if err != nil || id == a.ID || id == c.ID || !at.Equal(c.LastSentAt.Add(6*day)) {
		t.Fatalf("NextFollowup = %v, ask %d, %v; want Bob's, a day before Carol's (%v)", at, id, err, c.LastSentAt.Add(6*day))
	}
	// Bob's follow-up is drafted and waits for approval: nothing more is
	// due for him, so Carol's comes next.
	bob := id
	e.at(c.LastSentAt.Add(6*day + time.Hour))
	if res, err := e.o.SchedulePass(e.ctx); err != nil || res.Followups != 1 {
		t.Fatalf("pass = %+v, %v; want Bob's follow-up", res, err)
	}
	at, id, followup, err = e.o.NextFollowup(e.ctx)
	if err != nil || id != c.ID || !followup || !at.Equal(c.LastSentAt.Add(7*day)) {
		t.Fatalf("NextFollowup = %v, ask %d, followup %v, %v; want Carol's (%v), not Bob's (ask %d, drafted)", at, id, followup, err, c.LastSentAt.Add(7*day), bob)
	}
}
