package calendartest

import (
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"
)

// NewCollection makes a fresh event calendar for user on the CalDAV server at
// base (MKCALENDAR, as Radicale needs: it creates none by itself), deletes it
// when the test ends, and returns its URL.
func NewCollection(t testing.TB, base, user, password string) string {
	t.Helper()
	base = strings.TrimRight(base, "/")
	coll := base + "/" + user + "/cc-" + strings.ToLower(rand.Text()[:10]) + "/"
	client := &http.Client{Timeout: 10 * time.Second}
	req, err := http.NewRequest("MKCALENDAR", coll, strings.NewReader(`<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("MKCALENDAR %s: %v", coll, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("MKCALENDAR %s: %s", coll, resp.Status)
	}
	t.Cleanup(func() {
		req, err := http.NewRequest(http.MethodDelete, coll, nil)
		if err != nil {
			return
		}
		req.SetBasicAuth(user, password)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	})
	return coll
}
