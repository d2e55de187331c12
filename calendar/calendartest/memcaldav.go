package calendartest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// MemCalDAV is an in-memory CalDAV backend: one user, calendars under
// /sam/calendars/: a task list (todo/, VTODO only) and an event calendar
// (work/). It is the Backend of a go-webdav caldav.Handler.
type MemCalDAV struct {
	mu      sync.Mutex
	cals    map[string]caldav.Calendar
	objects map[string]caldav.CalendarObject
}

// NewMemCalDAV returns a server with its two calendars and no events.
func NewMemCalDAV() *MemCalDAV {
	b := &MemCalDAV{cals: map[string]caldav.Calendar{}, objects: map[string]caldav.CalendarObject{}}
	b.cals["/sam/calendars/todo/"] = caldav.Calendar{Path: "/sam/calendars/todo/", Name: "Tasks", SupportedComponentSet: []string{"VTODO"}}
	b.cals["/sam/calendars/work/"] = caldav.Calendar{Path: "/sam/calendars/work/", Name: "Work", SupportedComponentSet: []string{"VEVENT"}}
	return b
}

func (b *MemCalDAV) CurrentUserPrincipal(ctx context.Context) (string, error) { return "/sam/", nil }
func (b *MemCalDAV) CalendarHomeSetPath(ctx context.Context) (string, error) {
	return "/sam/calendars/", nil
}

func (b *MemCalDAV) CreateCalendar(ctx context.Context, c *caldav.Calendar) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cals[c.Path] = *c
	return nil
}

func (b *MemCalDAV) ListCalendars(ctx context.Context) ([]caldav.Calendar, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []caldav.Calendar
	for _, p := range []string{"/sam/calendars/todo/", "/sam/calendars/work/"} {
		out = append(out, b.cals[p])
	}
	return out, nil
}

func (b *MemCalDAV) GetCalendar(ctx context.Context, p string) (*caldav.Calendar, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, ok := b.cals[withSlash(p)]
	if !ok {
		return nil, webdav.NewHTTPError(http.StatusNotFound, errors.New("no such calendar"))
	}
	return &c, nil
}

func (b *MemCalDAV) GetCalendarObject(ctx context.Context, p string, req *caldav.CalendarCompRequest) (*caldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[p]
	if !ok {
		return nil, webdav.NewHTTPError(http.StatusNotFound, errors.New("no such object"))
	}
	return &o, nil
}

func (b *MemCalDAV) ListCalendarObjects(ctx context.Context, p string, req *caldav.CalendarCompRequest) ([]caldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []caldav.CalendarObject
	for k, o := range b.objects {
		if path.Dir(k)+"/" == withSlash(p) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (b *MemCalDAV) QueryCalendarObjects(ctx context.Context, p string, q *caldav.CalendarQuery) ([]caldav.CalendarObject, error) {
	return b.ListCalendarObjects(ctx, p, &q.CompRequest)
}

func (b *MemCalDAV) PutCalendarObject(ctx context.Context, p string, cal *ical.Calendar, opts *caldav.PutCalendarObjectOptions) (*caldav.CalendarObject, error) {
	if _, _, err := caldav.ValidateCalendarObject(cal); err != nil {
		return nil, webdav.NewHTTPError(http.StatusForbidden, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.cals[path.Dir(p)+"/"]; !ok {
		return nil, webdav.NewHTTPError(http.StatusConflict, errors.New("no such calendar"))
	}
	o := caldav.CalendarObject{Path: p, ModTime: time.Now(), ETag: fmt.Sprint(time.Now().UnixNano()), Data: cal}
	b.objects[p] = o
	return &o, nil
}

func (b *MemCalDAV) DeleteCalendarObject(ctx context.Context, p string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[p]; !ok {
		return webdav.NewHTTPError(http.StatusNotFound, errors.New("no such object"))
	}
	delete(b.objects, p)
	return nil
}

// Count is how many calendar objects the server holds.
func (b *MemCalDAV) Count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.objects)
}

// withSlash is p ending in a slash.
func withSlash(p string) string {
	if !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}
