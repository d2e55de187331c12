package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/inbox"
)

// CLI runs one coffeechat command (without the binary's name and without
// --config, which the CLI adds) and returns what it printed on stdout.
type CLI func(ctx context.Context, args ...string) (string, error)

// Clock is the test-only clock the daemon and the commands read
// (COFFEECHAT_CLOCK_FILE): the real time plus the offset written in Path.
// Moving it forward is how the story lets days pass without sleeping.
type Clock struct {
	Path   string
	offset time.Duration
}

// Now is the story's time: the real time plus the offset.
func (c *Clock) Now() time.Time { return time.Now().Add(c.offset) }

// Set writes the offset so that Now is at t.
func (c *Clock) Set(t time.Time) error {
	c.offset = time.Until(t).Round(time.Second)
	if err := os.WriteFile(c.Path, []byte(c.offset.String()+"\n"), 0o600); err != nil {
		return fmt.Errorf("move the clock: %w", err)
	}
	// The daemon and the commands re-read the file at most every 100 ms.
	time.Sleep(250 * time.Millisecond)
	return nil
}

// Story plays coffeechat's story through its command line and real mail:
// the user's side through CLI (the same commands a person types), the
// people's side through Mail (SMTP and IMAP, as their clients do).
type Story struct {
	CLI   CLI
	Mail  *Postbox
	Clock *Clock
	Out   io.Writer
	Zone  *time.Location // the account's zone
	Me    Person         // the user (their address is the account's)

	// People of the story.
	Dad, Jane, Priya, Rachel, Tom Person

	// Wait bounds each wait for something to happen; default 30s.
	Wait time.Duration
	// Poll is the pause between two looks; default 100ms.
	Poll time.Duration

	handled map[string]map[string]bool // person → Message-IDs they already dealt with
	shown   map[int64]int              // ask → timeline events printed
	names   map[int64]string           // ask → who
	invites map[string]*Invite         // person → the invite they accepted
}

// NewPeople returns the story's people at domain.
func NewPeople(domain string, zone *time.Location) (me, dad, jane, priya, rachel, tom Person) {
	ny, _ := time.LoadLocation("America/New_York")
	if ny == nil {
		ny = zone
	}
	me = Person{Name: "Sam Rivera", Email: "sam@" + domain, Zone: zone}
	dad = Person{Name: "Robert Rivera", Email: "dad@" + domain, Client: Gmail, Zone: zone}
	jane = Person{Name: "Jane Doe", Email: "jane@" + domain, Client: Outlook, Org: "Acme Sports", Role: "Head of Partnerships", Zone: zone}
	priya = Person{Name: "Priya Shah", Email: "priya@" + domain, Client: Gmail, Org: "Studio Co.", Role: "Product Designer", Zone: ny}
	rachel = Person{Name: "Rachel Kim", Email: "rachel@" + domain, Client: Apple, Org: "Kim Consulting", Role: "Founder", Zone: zone}
	tom = Person{Name: "Tom Baker", Email: "tom@" + domain, Client: Outlook, Org: "Northwind", Role: "Data Analyst", Zone: zone}
	return
}

func (s *Story) init() {
	if s.Wait == 0 {
		s.Wait = 30 * time.Second
	}
	if s.Poll == 0 {
		s.Poll = 100 * time.Millisecond
	}
	if s.handled == nil {
		s.handled = map[string]map[string]bool{}
		s.shown = map[int64]int{}
		s.names = map[int64]string{}
		s.invites = map[string]*Invite{}
	}
	if s.Zone == nil {
		s.Zone = time.UTC
	}
}

func (s *Story) say(format string, args ...any) { fmt.Fprintf(s.Out, format+"\n", args...) }

// Run runs a command, showing it as the user would type it.
func (s *Story) Run(ctx context.Context, args ...string) (string, error) {
	s.say("$ coffeechat %s", shellJoin(args))
	out, err := s.CLI(ctx, args...)
	if err != nil {
		return out, fmt.Errorf("coffeechat %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// quiet runs a command without showing it (the story looking around).
func (s *Story) quiet(ctx context.Context, args ...string) (string, error) {
	out, err := s.CLI(ctx, args...)
	if err != nil {
		return out, fmt.Errorf("coffeechat %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

// AskRow is a line of `asks --json`.
type AskRow struct {
	ID    int64  `json:"id"`
	Kind  string `json:"kind"`
	Who   string `json:"who"`
	Via   string `json:"via"`
	State string `json:"state"`
}

// QueueItem is a line of `queue --json`.
type QueueItem struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	AskID   int64  `json:"ask"`
	To      string `json:"to"`
	Subject string `json:"subject"`
	Purpose string `json:"purpose"`
	Summary string `json:"summary"`
}

type timelineJSON struct {
	Ask    int64  `json:"ask"`
	State  string `json:"state"`
	Events []struct {
		At     time.Time `json:"at"`
		Event  string    `json:"event"`
		Detail string    `json:"detail"`
	} `json:"events"`
}

// Asks returns the pipeline.
func (s *Story) Asks(ctx context.Context) ([]AskRow, error) {
	out, err := s.quiet(ctx, "asks", "--json")
	if err != nil {
		return nil, err
	}
	var rows []AskRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return nil, fmt.Errorf("read asks --json: %w", err)
	}
	return rows, nil
}

// Queue returns the queue.
func (s *Story) Queue(ctx context.Context) ([]QueueItem, error) {
	out, err := s.quiet(ctx, "queue", "--json")
	if err != nil {
		return nil, err
	}
	var items []QueueItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		return nil, fmt.Errorf("read queue --json: %w", err)
	}
	return items, nil
}

// Follow prints the timeline events that appeared since the last look.
func (s *Story) Follow(ctx context.Context) ([]AskRow, error) {
	s.init()
	rows, err := s.Asks(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		s.names[r.ID] = r.Who
		out, err := s.quiet(ctx, "timeline", fmt.Sprint(r.ID), "--json")
		if err != nil {
			return nil, err
		}
		var tl timelineJSON
		if err := json.Unmarshal([]byte(out), &tl); err != nil {
			return nil, fmt.Errorf("read timeline --json: %w", err)
		}
		for _, e := range tl.Events[min(s.shown[r.ID], len(tl.Events)):] {
			s.say("    ask %d · %-13s %s  %-12s %s", r.ID, clip(r.Who, 13), e.At.In(s.Zone).Format("Mon Jan 2 15:04"), e.Event, clip(e.Detail, 70))
		}
		s.shown[r.ID] = len(tl.Events)
	}
	return rows, nil
}

// Until follows the timelines until cond holds.
func (s *Story) Until(ctx context.Context, what string, cond func(rows []AskRow) (bool, error)) error {
	s.init()
	deadline := time.Now().Add(s.Wait)
	for {
		rows, err := s.Follow(ctx)
		if err == nil {
			ok, cerr := cond(rows)
			if cerr != nil {
				return cerr
			}
			if ok {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("waiting for %s: %w", what, err)
			}
			return fmt.Errorf("waited %s for %s", s.Wait, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.Poll):
		}
	}
}

// AskState waits until ask id is in one of states.
func (s *Story) AskState(ctx context.Context, id int64, states ...string) error {
	return s.Until(ctx, fmt.Sprintf("ask %d to be %s", id, strings.Join(states, " or ")), func(rows []AskRow) (bool, error) {
		for _, r := range rows {
			if r.ID == id {
				for _, st := range states {
					if r.State == st {
						return true, nil
					}
				}
			}
		}
		return false, nil
	})
}

// FindAsk returns the ask of kind with who, waiting for it to exist.
func (s *Story) FindAsk(ctx context.Context, kind string, who Person) (int64, error) {
	var id int64
	err := s.Until(ctx, fmt.Sprintf("an %s ask for %s", kind, who.Name), func(rows []AskRow) (bool, error) {
		for _, r := range rows {
			if r.Kind == kind && r.Who == who.Name {
				id = r.ID
				return true, nil
			}
		}
		return false, nil
	})
	return id, err
}

// Draft waits for a draft to to appear in the queue, optionally of a
// purpose (a substring of it).
func (s *Story) Draft(ctx context.Context, to Person, purpose string) (QueueItem, error) {
	var found QueueItem
	err := s.Until(ctx, fmt.Sprintf("a %s draft to %s", strings.TrimSpace(purpose+" "), to.Name), func([]AskRow) (bool, error) {
		items, err := s.Queue(ctx)
		if err != nil {
			return false, nil
		}
		for _, it := range items {
			if it.Type == "draft" && strings.Contains(strings.ToLower(it.To), strings.ToLower(to.Email)) && strings.Contains(it.Purpose, purpose) {
				found = it
				return true, nil
			}
		}
		return false, nil
	})
	return found, err
}

// Approve approves a queue item with a note that the demo does it for the user.
func (s *Story) Approve(ctx context.Context, it QueueItem) error {
	what := it.Purpose
	if it.Type == "draft" {
		s.say("(demo) approving draft %s (%s to %s) as you would with `coffeechat approve %s`", it.ID, it.Purpose, it.To, it.ID)
	} else {
		what = it.Summary
		s.say("(demo) approving review item %s (%s) as you would with `coffeechat approve %s`", it.ID, clip(what, 60), it.ID)
	}
	_, err := s.quiet(ctx, "approve", it.ID)
	return err
}

// ApproveAll approves every draft waiting in the queue, each with its note,
// and says how many it approved.
func (s *Story) ApproveAll(ctx context.Context) (int, error) {
	items, err := s.Queue(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, it := range items {
		if it.Type != "draft" {
			continue
		}
		if err := s.Approve(ctx, it); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Receive waits for a message in p's INBOX that p has not dealt with yet
// and that match accepts, and marks it dealt with.
func (s *Story) Receive(ctx context.Context, p Person, what string, match func(raw []byte, m *inbox.Message) bool) ([]byte, error) {
	s.init()
	seen := s.handled[p.Email]
	if seen == nil {
		seen = map[string]bool{}
		s.handled[p.Email] = seen
	}
	var got []byte
	err := s.Until(ctx, fmt.Sprintf("%s in %s's inbox", what, p.Name), func([]AskRow) (bool, error) {
		msgs, err := s.Mail.Inbox(ctx, p.Email)
		if err != nil {
			return false, nil // the server may be restarting; look again
		}
		for _, raw := range msgs {
			id := MessageID(raw)
			if seen[id] {
				continue
			}
			m, err := inbox.Read(raw, inbox.ReadOptions{Loc: s.Zone})
			if err != nil || !match(raw, m) {
				continue
			}
			seen[id] = true
			got = raw
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	m, _ := inbox.Read(got, inbox.ReadOptions{Loc: s.Zone})
	s.say("  %s finds in their inbox: %q from %s", p.Name, m.Subject, m.From.Name)
	return got, nil
}

// fromMe matches a message from the user whose subject contains sub.
func (s *Story) fromMe(sub string) func([]byte, *inbox.Message) bool {
	return func(_ []byte, m *inbox.Message) bool {
		return strings.EqualFold(m.From.Address, s.Me.Email) && strings.Contains(strings.ToLower(m.Subject), strings.ToLower(sub)) && len(m.Calendar) == 0
	}
}

// invite matches the user's calendar invitation.
func (s *Story) invite(_ []byte, m *inbox.Message) bool {
	return strings.EqualFold(m.From.Address, s.Me.Email) && m.CalendarMethod == calendar.MethodRequest
}

// Answer sends p's reply to raw, written as p's client writes it.
func (s *Story) Answer(ctx context.Context, p Person, raw []byte, r Reply) error {
	out, err := p.Write(raw, r, s.Clock.Now())
	if err != nil {
		return err
	}
	first := r.Text
	if hi, rest, ok := strings.Cut(first, "\n\n"); ok && len(hi) < 20 { // skip the greeting
		first = rest
	}
	first, _, _ = strings.Cut(first, "\n\n")
	cc := ""
	if len(r.Cc) > 0 {
		cc = " (reply-all, Cc " + addrList(r.Cc) + ")"
	}
	s.say("  %s answers from %s%s: “%s”", p.Name, p.Client, cc, clip(strings.ReplaceAll(first, "\n", " "), 90))
	return s.Mail.Send(ctx, p.Email, out)
}

// Accept waits for the invite in p's inbox and accepts it (an iMIP REPLY).
func (s *Story) Accept(ctx context.Context, p Person) (*Invite, error) {
	raw, err := s.Receive(ctx, p, "the invitation", s.invite)
	if err != nil {
		return nil, err
	}
	inv, ok := FindInvite(raw)
	if !ok {
		return nil, errors.New("the invitation has no readable calendar")
	}
	s.say("  %s's calendar shows %q on %s; they click Accept (%s sends an iMIP REPLY)", p.Name, inv.Event.Summary,
		inv.Event.Start.In(s.Zone).Format("Mon Jan 2 15:04 MST"), p.Client)
	s.invites[p.Email] = inv
	return inv, s.Mail.Send(ctx, p.Email, p.Respond(inv, calendar.PartAccepted, s.Clock.Now()))
}

// CheckBcc reads draft id with `show` and checks that bcc is in its Bcc and
// to in its To.
func (s *Story) CheckBcc(ctx context.Context, id string, to, bcc Person) error {
	out, err := s.quiet(ctx, "show", id)
	if err != nil {
		return err
	}
	var toLine, bccLine string
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "To:"):
			toLine = l
		case strings.HasPrefix(l, "Bcc:"):
			bccLine = l
		}
	}
	if !strings.Contains(toLine, to.Email) || !strings.Contains(bccLine, bcc.Email) {
		return fmt.Errorf("draft %s: want To %s and Bcc %s, got %q and %q", id, to.Email, bcc.Email, toLine, bccLine)
	}
	s.say("  draft %s: %s / %s — the connector moved to Bcc, as etiquette wants", id, toLine, bccLine)
	return nil
}

// Advance moves the clock to t and says so.
func (s *Story) Advance(t time.Time, why string) error {
	s.say("")
	s.say("(demo) moving the clock forward %s to %s: %s", roundDays(time.Until(t)-s.Clock.offset), t.In(s.Zone).Format("Mon Jan 2 15:04 MST"), why)
	return s.Clock.Set(t)
}

// Setup adds the contacts: the user's father and the people of the story.
func (s *Story) Setup(ctx context.Context) error {
	s.init()
	cmds := [][]string{
		{"contact", "add", s.Dad.Name, "--email", s.Dad.Email, "--tag", "family", "--note", "Dad"},
		{"contact", "add", s.Jane.Name, "--email", s.Jane.Email, "--org", s.Jane.Org, "--role", s.Jane.Role},
		{"contact", "link", s.Dad.Email, s.Jane.Email, "--note", "plays tennis with Dad on Saturdays"},
	}
	for _, c := range cmds {
		if _, err := s.Run(ctx, c...); err != nil {
			return err
		}
	}
	return nil
}

// Intro is the introduction thread: an intro ask via Dad to Jane; Dad
// introduces them by reply-all; the interview draft goes to Jane with Dad in
// Bcc; Jane picks a slot and accepts the invite. It returns Jane's
// interview ask. The caller approves nothing before; Intro approves its own
// drafts.
func (s *Story) Intro(ctx context.Context) (int64, error) {
	s.init()
	if _, err := s.Run(ctx, "ask", "intro", "--via", s.Dad.Email, "--to", s.Jane.Email, "--topic", "sports marketing"); err != nil {
		return 0, err
	}
	d, err := s.Draft(ctx, s.Dad, "")
	if err != nil {
		return 0, err
	}
	if err := s.Approve(ctx, d); err != nil {
		return 0, err
	}
	if err := s.IntroReplies(ctx); err != nil {
		return 0, err
	}
	return s.FindAsk(ctx, "interview", s.Jane)
}

// IntroReplies is everything after the intro request was approved.
func (s *Story) IntroReplies(ctx context.Context) error {
	raw, err := s.Receive(ctx, s.Dad, "the intro request", s.fromMe("introduce"))
	if err != nil {
		return err
	}
	introText := fmt.Sprintf("%s, meet %s. %s, %s is my son, a junior at State who is curious about sports marketing. %s and I play tennis on Saturdays; she runs partnerships at %s.\n\nI'll let you two take it from here.\n\nDad",
		s.Me.First(), s.Jane.Name, s.Jane.First(), s.Me.First(), s.Jane.First(), s.Jane.Org)
	if err := s.Answer(ctx, s.Dad, raw, Reply{Text: introText, ReplyAll: true, Cc: []*mail.Address{{Name: s.Jane.Name, Address: s.Jane.Email}}}); err != nil {
		return err
	}
	d, err := s.Draft(ctx, s.Jane, "")
	if err != nil {
		return err
	}
	if err := s.CheckBcc(ctx, d.ID, s.Jane, s.Dad); err != nil {
		return err
	}
	if err := s.Approve(ctx, d); err != nil {
		return err
	}
	raw, err = s.Receive(ctx, s.Jane, "Sam's note after the introduction", func(_ []byte, m *inbox.Message) bool {
		return strings.EqualFold(m.From.Address, s.Me.Email) && len(m.Calendar) == 0
	})
	if err != nil {
		return err
	}
	if err := s.Answer(ctx, s.Jane, raw, Reply{Text: "Hi Sam,\n\nNice to meet you, and thanks Robert for connecting us. The first one works for me; I'll keep that time free."}); err != nil {
		return err
	}
	_, err = s.Accept(ctx, s.Jane)
	return err
}

// InterviewEnd is the latest end of the interviews the people accepted.
func (s *Story) InterviewEnd() time.Time {
	var end time.Time
	for _, inv := range s.invites {
		if inv.Event.End.After(end) {
			end = inv.Event.End
		}
	}
	return end
}

// AfterInterviews moves the clock past every accepted interview (and
// thanks.after) and approves the thank-you and close-the-loop drafts that
// appear for want (people to thank) and connectors (whom to close the loop
// with).
func (s *Story) AfterInterviews(ctx context.Context, thank []Person, connectors []Person) error {
	end := s.InterviewEnd()
	if end.IsZero() {
		return errors.New("no interview was accepted")
	}
	at := end.Add(3 * time.Hour)
	if at.Before(s.Clock.Now()) {
		at = s.Clock.Now().Add(time.Hour)
	}
	if err := s.Advance(at, "the interviews are over; thank-you notes are due"); err != nil {
		return err
	}
	// A thank-you for each person, a close-the-loop note for each connector:
	// waiting for those purposes proves the schedule drafted them.
	var drafts []QueueItem
	for _, p := range thank {
		d, err := s.Draft(ctx, p, "thanks")
		if err != nil {
			return err
		}
		drafts = append(drafts, d)
	}
	for _, p := range connectors {
		d, err := s.Draft(ctx, p, "close_loop")
		if err != nil {
			return err
		}
		drafts = append(drafts, d)
	}
	for _, d := range drafts {
		if err := s.Approve(ctx, d); err != nil {
			return err
		}
	}
	for _, p := range append(append([]Person(nil), thank...), connectors...) {
		if _, err := s.Receive(ctx, p, "a note after the interview", func(_ []byte, m *inbox.Message) bool {
			return strings.EqualFold(m.From.Address, s.Me.Email) && len(m.Calendar) == 0
		}); err != nil {
			return err
		}
	}
	return nil
}

// Demo plays the whole story: four asks, the people's answers, an
// out-of-office, a follow-up, invites, the interviews, thank-yous.
func (s *Story) Demo(ctx context.Context) error {
	s.init()
	s.say("== 1. Sam adds the people they know and one they would like to meet")
	if err := s.Setup(ctx); err != nil {
		return err
	}
	for _, p := range []Person{s.Priya, s.Rachel, s.Tom} {
		if _, err := s.Run(ctx, "contact", "add", p.Name, "--email", p.Email, "--org", p.Org, "--role", p.Role); err != nil {
			return err
		}
	}
	s.say("")
	s.say("== 2. Sam creates the asks: an introduction through Dad, three interview requests")
	if _, err := s.Run(ctx, "ask", "intro", "--via", s.Dad.Email, "--to", s.Jane.Email, "--topic", "sports marketing"); err != nil {
		return err
	}
	topics := map[string]string{s.Priya.Email: "product design", s.Rachel.Email: "consulting", s.Tom.Email: "data analysis"}
	for _, p := range []Person{s.Priya, s.Rachel, s.Tom} {
		if _, err := s.Run(ctx, "ask", "interview", "--to", p.Email, "--topic", topics[p.Email]); err != nil {
			return err
		}
	}
	if _, err := s.Follow(ctx); err != nil {
		return err
	}
	s.say("")
	s.say("== 3. Nothing leaves without approval: the demo approves the four drafts")
	if _, err := s.ApproveAll(ctx); err != nil {
		return err
	}
	s.say("")
	s.say("== 4. The daemon sends them; the people read their mail and answer")
	if err := s.IntroReplies(ctx); err != nil {
		return err
	}
	// Priya picks the second proposed slot, then accepts the invite.
	raw, err := s.Receive(ctx, s.Priya, "the interview request", s.fromMe(""))
	if err != nil {
		return err
	}
	if err := s.Answer(ctx, s.Priya, raw, Reply{Text: "Hi Sam,\n\nHappy to help! The second one works for me.\n\nTalk then,"}); err != nil {
		return err
	}
	if _, err := s.Accept(ctx, s.Priya); err != nil {
		return err
	}
	// Rachel declines kindly.
	raw, err = s.Receive(ctx, s.Rachel, "the interview request", s.fromMe(""))
	if err != nil {
		return err
	}
	if err := s.Answer(ctx, s.Rachel, raw, Reply{Text: "Hi Sam,\n\nThank you for thinking of me. I'm sorry, but I'm swamped this month and can't take any calls right now.\n\nBest of luck with your search!"}); err != nil {
		return err
	}
	// Tom is away: his mailbox answers by itself.
	raw, err = s.Receive(ctx, s.Tom, "the interview request", s.fromMe(""))
	if err != nil {
		return err
	}
	back := nextWeekday(s.Clock.Now().In(s.Zone).AddDate(0, 0, 4))
	ooo, err := s.Tom.OutOfOffice(raw, back, s.Clock.Now())
	if err != nil {
		return err
	}
	s.say("  %s's mailbox answers by itself: out of the office until %s", s.Tom.Name, back.Format("Mon Jan 2"))
	if err := s.Mail.Send(ctx, s.Tom.Email, ooo); err != nil {
		return err
	}
	ids := map[string]int64{}
	for _, p := range []Person{s.Jane, s.Priya, s.Rachel, s.Tom} {
		id, err := s.FindAsk(ctx, "interview", p)
		if err != nil {
			return err
		}
		ids[p.Email] = id
	}
	if err := s.AskState(ctx, ids[s.Rachel.Email], "declined"); err != nil {
		return err
	}
	if err := s.Until(ctx, "the out-of-office to be noted", func([]AskRow) (bool, error) {
		out, err := s.quiet(ctx, "timeline", fmt.Sprint(ids[s.Tom.Email]))
		return err == nil && strings.Contains(strings.ToLower(out), "office"), nil
	}); err != nil {
		return err
	}

	s.say("")
	s.say("== 5. Days pass: Tom is back, and no one has answered Sam's request yet")
	followAt := time.Date(back.Year(), back.Month(), back.Day(), 10, 0, 0, 0, s.Zone).AddDate(0, 0, 1)
	if err := s.Advance(followAt, "past Tom's return date, when a follow-up is due"); err != nil {
		return err
	}
	d, err := s.Draft(ctx, s.Tom, "follow")
	if err != nil {
		return err
	}
	if err := s.Approve(ctx, d); err != nil {
		return err
	}
	raw, err = s.Receive(ctx, s.Tom, "the follow-up", s.fromMe(""))
	if err != nil {
		return err
	}
	other := nextWeekday(followAt.AddDate(0, 0, 2))
	other = time.Date(other.Year(), other.Month(), other.Day(), 14, 0, 0, 0, s.Zone)
	text := fmt.Sprintf("Hi Sam,\n\nSorry for the slow answer, I was away. %s at 2:00 PM works for me, if that still suits you.",
		other.Format("Monday, January 2"))
	if err := s.Answer(ctx, s.Tom, raw, Reply{Text: text}); err != nil {
		return err
	}
	if err := s.pickTimeIfAsked(ctx, ids[s.Tom.Email], other); err != nil {
		return err
	}
	if _, err := s.Accept(ctx, s.Tom); err != nil {
		return err
	}
	// Thank-yous that became due while the clock moved: approve them too.
	s.say("")
	s.say("== 6. After the interviews: thank-you notes, and closing the loop with Dad")
	if err := s.AfterInterviews(ctx, []Person{s.Jane, s.Priya, s.Tom}, []Person{s.Dad}); err != nil {
		return err
	}
	for _, p := range []Person{s.Jane, s.Priya, s.Tom} {
		if err := s.AskState(ctx, ids[p.Email], "done"); err != nil {
			return err
		}
	}
	_, err = s.Follow(ctx)
	return err
}

// pickTimeIfAsked waits for the invite of ask id; when coffeechat instead
// asks the user to confirm the time (a review item), the demo schedules it.
func (s *Story) pickTimeIfAsked(ctx context.Context, id int64, at time.Time) error {
	return s.Until(ctx, fmt.Sprintf("ask %d to be scheduled", id), func(rows []AskRow) (bool, error) {
		for _, r := range rows {
			if r.ID == id && r.State == "scheduled" {
				return true, nil
			}
		}
		items, err := s.Queue(ctx)
		if err != nil {
			return false, nil
		}
		for _, it := range items {
			if it.Type == "review" && it.AskID == id {
				s.say("(demo) coffeechat asks Sam to confirm the time: %s", clip(it.Summary, 80))
				if _, err := s.Run(ctx, "interview", "schedule", fmt.Sprint(id), "--at", at.In(s.Zone).Format("2006-01-02 15:04")); err != nil {
					return false, err
				}
			}
		}
		return false, nil
	})
}

// Summary prints the final state of every ask and returns the rows.
func (s *Story) Summary(ctx context.Context) ([]AskRow, error) {
	rows, err := s.Asks(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	s.say("Summary:")
	for _, r := range rows {
		via := ""
		if r.Via != "" {
			via = " via " + r.Via
		}
		s.say("  ask %d  %-9s %s%s: %s", r.ID, r.Kind, r.Who, via, r.State)
	}
	return rows, nil
}

func nextWeekday(t time.Time) time.Time {
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = t.AddDate(0, 0, 1)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func roundDays(d time.Duration) string {
	if d >= 24*time.Hour {
		days := float64(d) / float64(24*time.Hour)
		return fmt.Sprintf("%.1f days", days)
	}
	return d.Round(time.Minute).String()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func shellJoin(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \"'$;&|<>()*?") {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		} else {
			out[i] = a
		}
	}
	return strings.Join(out, " ")
}
