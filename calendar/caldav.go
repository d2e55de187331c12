package calendar

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"
)

// CalDAV keeps the user's events on a CalDAV server, one object per UID.
// The URL may name a calendar collection, a calendar home, or just the
// server; in the last two cases the first calendar that takes events is used.
type CalDAV struct {
	endpoint *url.URL
	http     webdav.HTTPClient
	client   *caldav.Client

	mu         sync.Mutex
	collection string // resolved calendar path, with a trailing slash
}

// NewCalDAV returns a client for the calendar at rawURL with basic auth
// (none when username and password are empty). A nil client means
// http.DefaultClient. No request is made until the first call.
func NewCalDAV(rawURL, username, password string, client *http.Client) (*CalDAV, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, fmt.Errorf("caldav url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("caldav url %q: want http:// or https:// and a host", u.Redacted())
	}
	if u.User != nil {
		if username == "" {
			username = u.User.Username()
		}
		if p, ok := u.User.Password(); ok && password == "" {
			password = p
		}
		u.User = nil
	}
	if client == nil {
		client = http.DefaultClient
	}
	var hc webdav.HTTPClient = client
	if username != "" || password != "" {
		hc = webdav.HTTPClientWithBasicAuth(client, username, password)
	}
	c, err := caldav.NewClient(hc, u.String())
	if err != nil {
		return nil, fmt.Errorf("caldav client: %w", err)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return &CalDAV{endpoint: u, http: hc, client: c}, nil
}

func slash(p string) string {
	if !strings.HasSuffix(p, "/") {
		return p + "/"
	}
	return p
}

// takesEvents reports whether a calendar accepts VEVENT objects.
func takesEvents(c caldav.Calendar) bool {
	return len(c.SupportedComponentSet) == 0 || slices.ContainsFunc(c.SupportedComponentSet, func(s string) bool {
		return strings.EqualFold(s, ical.CompEvent)
	})
}

// Collection returns the path of the calendar collection in use, finding
// it on the first call.
func (c *CalDAV) Collection(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.collection != "" {
		return c.collection, nil
	}
	want := slash(c.endpoint.Path)
	pick := func(cals []caldav.Calendar) string {
		for _, cal := range cals {
			if slash(cal.Path) == want && takesEvents(cal) {
				return want
			}
		}
		for _, cal := range cals {
			if takesEvents(cal) {
				return slash(cal.Path)
			}
		}
		return ""
	}
	cals, err := c.client.FindCalendars(ctx, want)
	if err == nil {
		if p := pick(cals); p != "" {
			c.collection = p
			return p, nil
		}
	}
	principal, err := c.client.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return "", fmt.Errorf("caldav find principal: %w", err)
	}
	home, err := c.client.FindCalendarHomeSet(ctx, principal)
	if err != nil {
		return "", fmt.Errorf("caldav find calendar home: %w", err)
	}
	cals, err = c.client.FindCalendars(ctx, home)
	if err != nil {
		return "", fmt.Errorf("caldav list calendars: %w", err)
	}
	p := pick(cals)
	if p == "" {
		return "", fmt.Errorf("caldav: no calendar for events under %s", home)
	}
	c.collection = p
	return p, nil
}

func (c *CalDAV) objectPath(ctx context.Context, uid string) (string, error) {
	coll, err := c.Collection(ctx)
	if err != nil {
		return "", err
	}
	return path.Join(coll, fileName(uid)), nil
}

// Put creates or replaces the event (the user's copy, as Publish builds it;
// a cancelled event is kept with STATUS:CANCELLED).
func (c *CalDAV) Put(ctx context.Context, ev Event) error {
	if ev.Status == "" {
		ev.Status = StatusConfirmed
	}
	cal, err := calendarOf("", ev, false)
	if err != nil {
		return fmt.Errorf("caldav put: %w", err)
	}
	p, err := c.objectPath(ctx, ev.UID)
	if err != nil {
		return fmt.Errorf("caldav put %s: %w", ev.UID, err)
	}
	if _, err := c.client.PutCalendarObject(ctx, p, cal); err != nil {
		return fmt.Errorf("caldav put %s: %w", ev.UID, err)
	}
	return nil
}

// Get returns the stored event with this UID.
func (c *CalDAV) Get(ctx context.Context, uid string) (Event, error) {
	p, err := c.objectPath(ctx, uid)
	if err != nil {
		return Event{}, fmt.Errorf("caldav get %s: %w", uid, err)
	}
	obj, err := c.client.GetCalendarObject(ctx, p)
	if err != nil {
		return Event{}, fmt.Errorf("caldav get %s: %w", uid, err)
	}
	z := newZones(obj.Data)
	for _, comp := range obj.Data.Children {
		if comp.Name != ical.CompEvent {
			continue
		}
		ev, err := eventOf(comp, z)
		if err != nil {
			return Event{}, fmt.Errorf("caldav get %s: %w", uid, err)
		}
		if ev.UID == uid && ev.RecurrenceID == "" {
			return ev, nil
		}
	}
	return Event{}, fmt.Errorf("caldav get %s: no such event in %s", uid, p)
}

// Delete removes the event with this UID; one already gone is no error.
func (c *CalDAV) Delete(ctx context.Context, uid string) error {
	p, err := c.objectPath(ctx, uid)
	if err != nil {
		return fmt.Errorf("caldav delete %s: %w", uid, err)
	}
	u := *c.endpoint
	u.Path = p
	u.RawPath = ""
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.String(), nil)
	if err != nil {
		return fmt.Errorf("caldav delete %s: %w", uid, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("caldav delete %s: %w", uid, err)
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2, resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusGone:
		return nil
	}
	return fmt.Errorf("caldav delete %s: HTTP %s", uid, resp.Status)
}
