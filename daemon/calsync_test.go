package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-webdav/caldav"

	"github.com/coffeechat/coffeechat/calendar"
	"github.com/coffeechat/coffeechat/calendar/calendartest"
	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// calWorld is an outreach over a fresh database, with one scheduled
// interview whose invite has left.
type calWorld struct {
	o   *outreach.Outreach
	db  *store.DB
	ask *store.Ask
	iv  *store.Interview
}

var worldNow = time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)

func newCalWorld(t *testing.T) *calWorld {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader("[account]\nname = \"Sam Rivera\"\nemail = \"sam@example.com\"\ntimezone = \"America/Los_Angeles\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return worldNow }
	tm, err := outreach.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	o := outreach.New(db, cfg, tm, nil)
	o.Now = func() time.Time { return worldNow }
	w := &calWorld{o: o, db: db}
	start := time.Date(2026, 12, 3, 22, 0, 0, 0, time.UTC)
	err = db.Update(ctx, func(tx *store.Tx) error {
		c := &store.Contact{Name: "Jane Doe", Emails: []string{"jane@acme.example"}}
		if err := tx.InsertContact(ctx, c); err != nil {
			return err
		}
		w.ask = &store.Ask{Kind: store.KindInterview, TargetID: c.ID, State: store.AskWaiting,
			Slots: []store.Slot{{Start: start, End: start.Add(30 * time.Minute)}}}
		if err := tx.InsertAsk(ctx, w.ask); err != nil {
			return err
		}
		in := &store.Message{AskID: w.ask.ID, Direction: store.In, Purpose: "reply", State: store.MsgReceived,
			MessageID: "r1@acme.example", From: "Jane Doe <jane@acme.example>"}
		if err := tx.InsertMessage(ctx, in); err != nil {
			return err
		}
		if err := o.AgreeTx(ctx, tx, *w.ask, *in, start, "test"); err != nil {
			return err
		}
		if w.iv, err = tx.InterviewOfAsk(ctx, w.ask.ID); err != nil {
			return err
		}
		ms, err := tx.Messages(ctx, store.MessageFilter{AskID: w.ask.ID, Direction: store.Out})
		if err != nil {
			return err
		}
		return tx.SetMessageState(ctx, ms[len(ms)-1].ID, store.MsgSent)
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// accept applies Jane's REPLY ACCEPTED.
func (w *calWorld) accept(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	err := w.db.Update(ctx, func(tx *store.Tx) error {
		in := &store.Message{AskID: w.ask.ID, Direction: store.In, Purpose: "calendar_reply", State: store.MsgReceived,
			MessageID: "r2@acme.example", From: "jane@acme.example"}
		if err := tx.InsertMessage(ctx, in); err != nil {
			return err
		}
		a, err := tx.Ask(ctx, w.ask.ID)
		if err != nil {
			return err
		}
		cal := &calendar.Message{Method: calendar.MethodReply, Events: []calendar.Event{{UID: w.iv.UID, Start: w.iv.Start, End: w.iv.End,
			Attendees: []calendar.Person{{Email: "jane@acme.example", PartStat: calendar.PartAccepted}}}}}
		return w.o.ApplyCalendarTx(ctx, tx, *a, *in, cal)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func (w *calWorld) synced(t *testing.T) bool {
	var n []*store.Interview
	w.db.View(context.Background(), func(tx *store.Tx) (err error) { n, err = tx.UnsyncedInterviews(context.Background()); return })
	return len(n) == 0
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func runSync(t *testing.T, s *CalSync) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("calsync Run: %v", err)
		}
	})
}

func TestCalSyncDirAndCalDAV(t *testing.T) {
	w := newCalWorld(t)
	b := calendartest.NewMemCalDAV()
	var fail atomic.Bool
	fail.Store(true) // the server is down at first
	h := &caldav.Handler{Backend: b}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(rw, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	dav, err := calendar.NewCalDAV(srv.URL+"/sam/calendars/work/", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := calendar.Dir{Path: filepath.Join(t.TempDir(), "ics")}
	s := &CalSync{O: w.o, Dir: dir, Remote: dav, Log: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	runSync(t, s)

	file := dir.File(w.iv.UID)
	waitFor(t, "the .ics file", func() bool { return strings.Contains(readFile(file), "UID:"+w.iv.UID) })
	// CalDAV is down: the interview stays unsynced and the error is recorded.
	time.Sleep(100 * time.Millisecond)
	if w.synced(t) {
		t.Fatal("marked synced while the CalDAV server failed")
	}
	var nerr int
	w.db.View(context.Background(), func(tx *store.Tx) error {
		var err error
		nerr, err = tx.DaemonErrorCount(context.Background(), "calendar sync")
		return err
	})
	if nerr == 0 {
		t.Error("the CalDAV failure was not recorded for status")
	}
	fail.Store(false)
	waitFor(t, "the CalDAV object", func() bool { return b.Count() == 1 && w.synced(t) })

	w.accept(t)
	waitFor(t, "PARTSTAT=ACCEPTED in the file", func() bool { return strings.Contains(readFile(file), "PARTSTAT=ACCEPTED") && w.synced(t) })
	ev, err := dav.Get(context.Background(), w.iv.UID)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := ev.Attendee("jane@acme.example"); a.PartStat != calendar.PartAccepted {
		t.Errorf("CalDAV attendee %+v, want ACCEPTED", a)
	}

	if _, err := w.o.CancelInterview(context.Background(), w.iv.ID, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cancel", func() bool {
		return strings.Contains(readFile(file), "STATUS:CANCELLED") && b.Count() == 0 && w.synced(t)
	})
	got, err := dir.Read(w.iv.UID)
	if err != nil || got.Sequence != 1 {
		t.Errorf("file event %+v %v, want SEQUENCE 1", got, err)
	}
	entries, _ := os.ReadDir(dir.Path)
	if len(entries) != 1 {
		t.Errorf("%d files in ics_dir, want 1 updated in place", len(entries))
	}
}

func TestCalSyncBrokenBusyCalendarReported(t *testing.T) {
	w := newCalWorld(t)
	bad := filepath.Join(t.TempDir(), "busy.ics")
	os.WriteFile(bad, []byte("BEGIN:VCALENDAR\nthis is not a calendar"), 0o600)
	w.o.Cfg.Availability.Busy = []string{bad}
	s := &CalSync{O: w.o, Dir: calendar.Dir{Path: t.TempDir()}, Log: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond}
	runSync(t, s)
	waitFor(t, "the busy error in daemon_errors", func() bool {
		var n int
		w.db.View(context.Background(), func(tx *store.Tx) error {
			var err error
			n, err = tx.DaemonErrorCount(context.Background(), "busy calendar")
			return err
		})
		return n >= 1
	})
	waitFor(t, "the interview synced despite the broken busy calendar", func() bool { return w.synced(t) })
}

func TestCalSyncRadicale(t *testing.T) {
	base := strings.TrimRight(os.Getenv("COFFEECHAT_RIG_CALDAV"), "/")
	if base == "" {
		if os.Getenv("COFFEECHAT_RIG") == "required" {
			t.Fatal("COFFEECHAT_RIG=required but COFFEECHAT_RIG_CALDAV is not set")
		}
		t.Skip("COFFEECHAT_RIG_CALDAV not set")
	}
	user := "sam@example.test"
	coll := calendartest.NewCollection(t, base, user, "pass")
	client := &http.Client{Timeout: 10 * time.Second}
	w := newCalWorld(t)
	dav, err := calendar.NewCalDAV(coll, user, "pass", client)
	if err != nil {
		t.Fatal(err)
	}
	s := &CalSync{O: w.o, Dir: calendar.Dir{Path: t.TempDir()}, Remote: dav, Log: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond}
	runSync(t, s)
	waitFor(t, "synced to Radicale", func() bool { return w.synced(t) })
	w.accept(t)
	waitFor(t, "accepted on Radicale", func() bool {
		ev, err := dav.Get(context.Background(), w.iv.UID)
		a, _ := ev.Attendee("jane@acme.example")
		return err == nil && a.PartStat == calendar.PartAccepted && w.synced(t)
	})
	if _, err := w.o.CancelInterview(context.Background(), w.iv.ID, ""); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deleted on Radicale", func() bool {
		_, err := dav.Get(context.Background(), w.iv.UID)
		return err != nil && w.synced(t)
	})
}

// TestCalSyncTwoChangesSameInstant: with a frozen clock, a change made while
// the sync is writing the previous one (same updated_at) still reaches
// ics_dir and CalDAV on the next pass.
func TestCalSyncTwoChangesSameInstant(t *testing.T) {
	w := newCalWorld(t) // change 1: the interview is created (clock frozen at worldNow)
	b := calendartest.NewMemCalDAV()
	h := &caldav.Handler{Backend: b}
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			// Change 2 lands while change 1 is being written, at the same instant.
			once.Do(func() { w.accept(t) })
		}
		h.ServeHTTP(rw, r)
	}))
	defer srv.Close()
	dav, err := calendar.NewCalDAV(srv.URL+"/sam/calendars/work/", "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := calendar.Dir{Path: filepath.Join(t.TempDir(), "ics")}
	ctx := context.Background()
	if _, err := w.o.SyncInterviews(ctx, dir, dav); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(readFile(dir.File(w.iv.UID)), "PARTSTAT=ACCEPTED") {
		t.Fatal("the first pass already wrote change 2: the test did not make the race")
	}
	if w.synced(t) {
		t.Fatal("marked synced although change 2 came after what was written")
	}
	if _, err := w.o.SyncInterviews(ctx, dir, dav); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(readFile(dir.File(w.iv.UID)), "PARTSTAT=ACCEPTED") {
		t.Errorf("change 2 never reached ics_dir:\n%s", readFile(dir.File(w.iv.UID)))
	}
	ev, err := dav.Get(ctx, w.iv.UID)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := ev.Attendee("jane@acme.example"); a.PartStat != calendar.PartAccepted {
		t.Errorf("CalDAV attendee %+v, want ACCEPTED", a)
	}
	if !w.synced(t) {
		t.Error("still unsynced after the second pass")
	}
}
