package calendar

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-webdav/caldav"

	"github.com/coffeechat/coffeechat/calendar/calendartest"
)

func caldavServer(t *testing.T) (*calendartest.MemCalDAV, *httptest.Server) {
	t.Helper()
	b := calendartest.NewMemCalDAV()
	h := &caldav.Handler{Backend: b}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "sam" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return b, srv
}

// exerciseCalDAV puts, updates, cancels, reads and deletes one event.
func exerciseCalDAV(t *testing.T, c *CalDAV, objects func() int) {
	t.Helper()
	ctx := context.Background()
	ev := sampleEvent()
	ev.UID = NewUID("coffeechat.test")
	if err := c.Put(ctx, ev); err != nil {
		t.Fatalf("Put: %v", err)
	}
	ev.Sequence = 1
	ev.Start, ev.End = ev.Start.Add(time.Hour), ev.End.Add(time.Hour)
	if err := c.Put(ctx, ev); err != nil {
		t.Fatalf("Put(update): %v", err)
	}
	if objects != nil && objects() != 1 {
		t.Errorf("server holds %d objects after an update, want 1", objects())
	}
	got, err := c.Get(ctx, ev.UID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.Sequence != 1 || !got.Start.Equal(ev.Start) || got.Status != StatusConfirmed || got.Organizer.Email != "sam@example.com" {
		t.Errorf("Get = seq %d start %v status %q organizer %q", got.Sequence, got.Start, got.Status, got.Organizer.Email)
	}
	ev.Sequence = 2
	ev.Status = StatusCancelled
	if err := c.Put(ctx, ev); err != nil {
		t.Fatalf("Put(cancelled): %v", err)
	}
	if got, err = c.Get(ctx, ev.UID); err != nil || got.Status != StatusCancelled {
		t.Errorf("Get after cancel = %q, %v", got.Status, err)
	}
	if err := c.Delete(ctx, ev.UID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Get(ctx, ev.UID); err == nil {
		t.Errorf("Get after Delete found the event")
	}
	if err := c.Delete(ctx, ev.UID); err != nil {
		t.Errorf("Delete of a deleted event: %v", err)
	}
}

func TestCalDAVDiscovery(t *testing.T) {
	b, srv := caldavServer(t)
	c, err := NewCalDAV(srv.URL, "sam", "secret", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	coll, err := c.Collection(context.Background())
	if err != nil {
		t.Fatalf("Collection: %v", err)
	}
	if coll != "/sam/calendars/work/" {
		t.Errorf("Collection = %q, want the calendar that takes events", coll)
	}
	exerciseCalDAV(t, c, b.Count)
}

func TestCalDAVCollectionURL(t *testing.T) {
	b, srv := caldavServer(t)
	c, err := NewCalDAV(srv.URL+"/sam/calendars/work", "sam", "secret", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	exerciseCalDAV(t, c, b.Count)
}

func TestCalDAVErrors(t *testing.T) {
	_, srv := caldavServer(t)
	c, err := NewCalDAV(srv.URL, "sam", "wrong", srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Put(context.Background(), sampleEvent()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("Put with a wrong password: %v, want a 401 error", err)
	}
	for _, bad := range []string{"ftp://x", "not a url", "http://"} {
		if _, err := NewCalDAV(bad, "", "", nil); err == nil {
			t.Errorf("NewCalDAV(%q) gave no error", bad)
		}
	}
}

// TestCalDAVRadicale runs against the rig's Radicale when
// COFFEECHAT_RIG_CALDAV is set (e.g. http://127.0.0.1:5232).
func TestCalDAVRadicale(t *testing.T) {
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
	c, err := NewCalDAV(coll, user, "pass", client)
	if err != nil {
		t.Fatal(err)
	}
	exerciseCalDAV(t, c, nil)

	// From the server root, discovery finds a calendar of this user.
	root, err := NewCalDAV(base, user, "pass", client)
	if err != nil {
		t.Fatal(err)
	}
	found, err := root.Collection(context.Background())
	if err != nil || !strings.HasPrefix(found, "/"+user+"/") {
		t.Errorf("Collection from the root = %q, %v", found, err)
	}
}
