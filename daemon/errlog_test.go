package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/store"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jsonLines decodes the JSON log lines written to buf.
func jsonLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestErrorFolderFolds(t *testing.T) {
	clk := &fakeClock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	var buf bytes.Buffer
	f := NewErrorFolder(slog.NewJSONHandler(&buf, nil), FoldOptions{Now: clk.now})
	log := slog.New(f).With("loop", "sender")
	refused := errors.New("dial tcp 127.0.0.1:25: connection refused")

	// A thousand times in under a minute: one line.
	for range 1000 {
		log.Error("cannot reach the SMTP server", "err", refused, "retry_in", "5s")
		clk.add(50 * time.Millisecond)
	}
	// Other errors are not held back by it.
	log.Error("cannot reach the SMTP server", "err", errors.New("535 authentication failed"))
	log.Error("inbox: login refused", "err", refused)
	log.Info("an info line")
	log.Info("an info line")
	lines := jsonLines(t, &buf)
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5 (one per kind of error, every info line):\n%s", len(lines), buf.String())
	}
	if lines[0]["msg"] != "cannot reach the SMTP server" || lines[0][FoldedKey] != nil || lines[0]["loop"] != "sender" {
		t.Errorf("first line = %v", lines[0])
	}

	// A minute after the first line, the next one carries the count.
	buf.Reset()
	clk.add(11 * time.Second)
	log.Error("cannot reach the SMTP server", "err", refused)
	lines = jsonLines(t, &buf)
	if len(lines) != 1 || lines[0][FoldedKey] != float64(999) {
		t.Fatalf("after a minute: %v, want one line with %s=999", lines, FoldedKey)
	}

	// Held back, then quiet: Flush sums it up after a minute, not before.
	buf.Reset()
	for range 3 {
		log.Error("cannot reach the SMTP server", "err", refused)
	}
	f.Flush(context.Background(), false)
	if buf.Len() != 0 {
		t.Fatalf("Flush within the minute logged %q", buf.String())
	}
	clk.add(time.Minute)
	f.Flush(context.Background(), false)
	lines = jsonLines(t, &buf)
	if len(lines) != 1 || lines[0][FoldedKey] != float64(3) || lines[0]["loop"] != "sender" || lines[0]["level"] != "ERROR" {
		t.Fatalf("summary = %v, want one ERROR line with %s=3 and the logger's attributes", lines, FoldedKey)
	}
	buf.Reset()
	f.Flush(context.Background(), true)
	if buf.Len() != 0 {
		t.Fatalf("a second Flush logged %q", buf.String())
	}
}

func TestErrorFolderRecords(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk := &fakeClock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	db.Now = clk.now
	var buf bytes.Buffer
	f := NewErrorFolder(slog.NewTextHandler(&buf, nil), FoldOptions{Now: clk.now})
	log := slog.New(f)
	first := clk.now()
	for range 500 {
		log.Error("inbox: cannot log in", "err", "NO [AUTHENTICATIONFAILED]")
		clk.add(time.Second)
	}
	log.Warn("only a warning", "err", "slow")
	if err := f.Record(ctx, db); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		log.Error("inbox: cannot log in", "err", "NO [AUTHENTICATIONFAILED]")
	}
	last := clk.now()
	if err := f.Record(ctx, db); err != nil {
		t.Fatal(err)
	}
	var got []store.DaemonError
	if err := db.View(ctx, func(tx *store.Tx) error {
		got, err = tx.DaemonErrors(ctx, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("daemon errors = %+v, want one (warnings are not errors)", got)
	}
	e := got[0]
	if e.Source != "inbox: cannot log in" || e.Text != "NO [AUTHENTICATIONFAILED]" || e.Count != 520 || !e.First.Equal(first) || !e.Last.Equal(last) {
		t.Errorf("daemon error = %+v, want count 520 from %v to %v", e, first, last)
	}
	if n := strings.Count(buf.String(), "cannot log in"); n > 10 {
		t.Errorf("%d log lines for 520 identical errors over 8 minutes, want at most one a minute", n)
	}
}

func TestErrorFolderRecorderLoop(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "cc.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var buf bytes.Buffer
	f := NewErrorFolder(slog.NewJSONHandler(&buf, nil), FoldOptions{})
	// The second is held back (within the minute): the stop sums it up,
	// or the count would never reach the log.
	slog.New(f).Error("calsync: write", "err", "permission denied")
	slog.New(f).Error("calsync: write", "err", "permission denied")
	done := make(chan error, 1)
	go func() { done <- f.Recorder(db, time.Hour).Run(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := jsonLines(t, &buf)
	if len(lines) != 2 || lines[1][FoldedKey] != float64(1) {
		t.Errorf("log after the stop = %v, want the error, then a summary with %s=1", lines, FoldedKey)
	}
	var got []store.DaemonError
	if err := db.View(context.Background(), func(tx *store.Tx) error {
		got, err = tx.DaemonErrors(context.Background(), 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Text != "permission denied" || got[0].Count != 2 {
		t.Fatalf("after the loop stopped: %+v, want the error written on the way out", got)
	}
}
