package outreach

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/store"
)

// newTestOutreach is an Outreach for sam@example.com in Los Angeles, on a
// database at path frozen at now; extra is appended to the config's TOML.
func newTestOutreach(t *testing.T, path, extra string, now time.Time) (*Outreach, *store.DB) {
	t.Helper()
	cfg, err := config.Parse(strings.NewReader(`
[account]
name = "Sam Rivera"
email = "sam@example.com"
timezone = "America/Los_Angeles"
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = func() time.Time { return now }
	tm, err := LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	o := New(db, cfg, tm, nil)
	o.Now = func() time.Time { return now }
	return o, db
}
