package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/daemon"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// recordStart writes when this daemon started and its PID, for `status`.
func recordStart(ctx context.Context, db *store.DB) error {
	return db.Update(ctx, func(tx *store.Tx) error {
		if err := tx.SetDaemonState(ctx, store.StartedKey, store.FormatTime(tx.Now())); err != nil {
			return err
		}
		return tx.SetDaemonState(ctx, store.PIDKey, strconv.Itoa(os.Getpid()))
	})
}

// logReady logs "ready" with the start-up time once the first loops run.
func logReady(ctx context.Context, ready <-chan struct{}, log *slog.Logger, began time.Time) {
	select {
	case <-ready:
		log.Info("ready", "startup", time.Since(began).Round(time.Microsecond).String())
	case <-ctx.Done():
	}
}

// Status is what `coffeechat status --json` prints.
type Status struct {
	Daemon       DaemonStatus        `json:"daemon"`
	Inbox        InboxStatus         `json:"inbox"`
	Queue        QueueStatus         `json:"queue"`
	NextSend     *NextSend           `json:"next_send"`
	Outgoing     []outreach.Outgoing `json:"outgoing"` // every approved message, in sending order, with when it leaves
	NextFollowup *NextFollowup       `json:"next_followup"`
	Interviews   []InterviewStatus   `json:"interviews"`
	Errors       []store.DaemonError `json:"errors"`
	Database     string              `json:"database"`
	Now          time.Time           `json:"now"`
	loc          *time.Location
}

// DaemonStatus says whether `coffeechat run` runs on this database.
type DaemonStatus struct {
	Running       bool      `json:"running"`
	PID           int       `json:"pid,omitempty"`
	StartedAt     time.Time `json:"started_at,omitzero"`
	UptimeSeconds int64     `json:"uptime_seconds,omitempty"`
}

// InboxStatus is the last time the inbox watcher caught up.
type InboxStatus struct {
	LastSync   time.Time `json:"last_sync,omitzero"`
	LagSeconds int64     `json:"lag_seconds,omitempty"`
}

// QueueStatus counts what waits for the user or the sender.
type QueueStatus struct {
	Drafts   int `json:"drafts"`
	Approved int `json:"approved"`
	Review   int `json:"review"`
}

// NextSend is the approved message that leaves first.
type NextSend struct {
	At      time.Time `json:"at"`
	Message int64     `json:"message"`
}

// NextFollowup is the next step of the schedule for a waiting ask.
type NextFollowup struct {
	At   time.Time `json:"at"`
	Ask  int64     `json:"ask"`
	Step string    `json:"step"` // followup | no_answer
}

// InterviewStatus is an interview still to come.
type InterviewStatus struct {
	ID     int64     `json:"id"`
	Ask    int64     `json:"ask"`
	Who    string    `json:"who"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Status string    `json:"status"`
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Whether the daemon runs, the queue, the last inbox sync, what comes next, the last errors",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := a.status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(st)
			}
			a.printStatus(st)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// status gathers the status from the lock and the database.
func (a *app) status(ctx context.Context) (*Status, error) {
	cfg, path, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	dbPath, err := existingDB(cfg)
	if err != nil {
		return nil, err
	}
	pid, err := daemon.Holder(dbPath)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	now := a.clock()()
	db.Now = a.clock()
	tmpl, err := outreach.LoadTemplates(a.templatesDir(path))
	if err != nil {
		tmpl = nil // status still works; doctor names the broken template
	}
	o := outreach.New(db, cfg, tmpl, nil)
	o.Now = a.clock()

	st := &Status{Database: dbPath, Now: now, loc: cfg.Location()}
	st.Daemon.Running, st.Daemon.PID = pid > 0, pid
	err = db.View(ctx, func(tx *store.Tx) error {
		if st.Daemon.Running {
			v, _, err := tx.DaemonState(ctx, store.StartedKey)
			if err != nil {
				return err
			}
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				st.Daemon.StartedAt = t.UTC()
				st.Daemon.UptimeSeconds = int64(now.Sub(t) / time.Second)
			}
		}
		synced, err := tx.InboxSyncedAt(ctx)
		if err != nil {
			return err
		}
		if !synced.IsZero() {
			st.Inbox.LastSync = synced
			st.Inbox.LagSeconds = max(0, int64(now.Sub(synced)/time.Second))
		}
		c, err := tx.QueueCounts(ctx)
		if err != nil {
			return err
		}
		st.Queue = QueueStatus{Drafts: c.Drafts, Approved: c.Approved, Review: c.Review}
		ivs, err := tx.Interviews(ctx)
		if err != nil {
			return err
		}
		st.Interviews = []InterviewStatus{}
		for _, iv := range ivs {
			if !iv.End.After(now) || iv.Status == store.InterviewCancelled || iv.Status == store.InterviewDeclined {
				continue
			}
			who := ""
			if ask, err := tx.Ask(ctx, iv.AskID); err == nil && ask.TargetID != 0 {
				if c, err := tx.Contact(ctx, ask.TargetID); err == nil {
					who = c.Name
				}
			}
			st.Interviews = append(st.Interviews, InterviewStatus{ID: iv.ID, Ask: iv.AskID, Who: who, Start: iv.Start, End: iv.End, Status: iv.Status})
		}
		st.Errors, err = tx.DaemonErrors(ctx, 5)
		if st.Errors == nil {
			st.Errors = []store.DaemonError{}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	st.Outgoing, err = o.Outgoing(ctx)
	if err != nil {
		return nil, err
	}
	if st.Outgoing == nil {
		st.Outgoing = []outreach.Outgoing{}
	}
	// Outgoing is in sending order: the first with a time leaves first.
	for _, g := range st.Outgoing {
		if g.Sends != nil {
			st.NextSend = &NextSend{At: *g.Sends, Message: g.ID}
			break
		}
	}
	at, askID, followup, err := o.NextFollowup(ctx)
	if err != nil {
		return nil, err
	}
	if !at.IsZero() {
		step := "followup"
		if !followup {
			step = "no_answer"
		}
		st.NextFollowup = &NextFollowup{At: at, Ask: askID, Step: step}
	}
	return st, nil
}

// printStatus writes the status for a person.
func (a *app) printStatus(st *Status) {
	when := func(t time.Time) string {
		d := t.Sub(st.Now)
		rel := "in " + roughDuration(d)
		if d <= 0 {
			rel = "now"
		}
		return t.In(st.loc).Format("Mon Jan 2 15:04 MST") + " (" + rel + ")"
	}
	w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	if st.Daemon.Running {
		up := ""
		if !st.Daemon.StartedAt.IsZero() {
			up = ", up " + roughDuration(time.Duration(st.Daemon.UptimeSeconds)*time.Second)
		}
		fmt.Fprintf(w, "daemon:\trunning (PID %d)%s\n", st.Daemon.PID, up)
	} else {
		fmt.Fprintf(w, "daemon:\tnot running (start it with `coffeechat run`, or `systemctl --user start coffeechat`)\n")
	}
	if st.Inbox.LastSync.IsZero() {
		fmt.Fprintf(w, "inbox:\tnever synced\n")
	} else {
		fmt.Fprintf(w, "inbox:\tlast sync %s (%s ago)\n", st.Inbox.LastSync.In(st.loc).Format("Mon Jan 2 15:04:05 MST"),
			roughDuration(time.Duration(st.Inbox.LagSeconds)*time.Second))
	}
	fmt.Fprintf(w, "queue:\t%s to approve, %s waiting to send, %s (`coffeechat queue`)\n",
		plural(st.Queue.Drafts, "draft"), plural(st.Queue.Approved, "approved message"), plural(st.Queue.Review, "review item"))
	if st.NextSend != nil {
		fmt.Fprintf(w, "next send:\tmessage %d, %s\n", st.NextSend.Message, when(st.NextSend.At))
	} else {
		fmt.Fprintf(w, "next send:\tnothing approved\n")
	}
	if st.NextFollowup != nil {
		what := "follow-up"
		if st.NextFollowup.Step == "no_answer" {
			what = "closing as no answer"
		}
		fmt.Fprintf(w, "next follow-up:\task %d, %s, %s\n", st.NextFollowup.Ask, what, when(st.NextFollowup.At))
	} else {
		fmt.Fprintf(w, "next follow-up:\tnone waiting\n")
	}
	if len(st.Interviews) == 0 {
		fmt.Fprintf(w, "interviews:\tnone coming\n")
	}
	width := 0 // the longest slot, so that the names line up
	for _, iv := range st.Interviews {
		width = max(width, utf8.RuneCountInString(outreach.FormatSlot(store.Slot{Start: iv.Start, End: iv.End}, st.loc)))
	}
	for i, iv := range st.Interviews {
		label := ""
		if i == 0 {
			label = "interviews:"
		}
		fmt.Fprintf(w, "%s\t%-*s  %s (%s, ask %d)\n", label, width, outreach.FormatSlot(store.Slot{Start: iv.Start, End: iv.End}, st.loc), iv.Who, iv.Status, iv.Ask)
	}
	if len(st.Errors) == 0 {
		fmt.Fprintf(w, "errors:\tnone\n")
	}
	for i, e := range st.Errors {
		label := ""
		if i == 0 {
			label = "last errors:"
		}
		line := e.Source
		if e.Text != "" && e.Text != e.Source {
			line += ": " + e.Text
		}
		if e.Count > 1 {
			line += fmt.Sprintf(" (%d times since %s)", e.Count, e.First.In(st.loc).Format("Jan 2 15:04"))
		}
		fmt.Fprintf(w, "%s\t%s  %s\n", label, e.Last.In(st.loc).Format("Jan 2 15:04:05"), oneLineText(line, 160))
	}
	w.Flush()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// roughDuration writes d for a person: "3d 4h", "2h 5m", "42s".
func roughDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd %dh", d/(24*time.Hour), (d%(24*time.Hour))/time.Hour)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm %ds", d/time.Minute, (d%time.Minute)/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}

func oneLineText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
