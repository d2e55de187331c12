package outreach_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/store"
)

// The account of the send and schedule tests, and its password on the
// in-process servers.
const (
	me     = "sam@example.test"
	mePass = "secret"
)

// testClock is the settable clock a test's database and Outreach run on.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) clock() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) at(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// openTestDB opens a new database at path on clock, closed when t ends.
func openTestDB(t *testing.T, path string, clock func() time.Time) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.Now = clock
	return db
}

// testConfig is the default config for the account me, in Los Angeles.
func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Account = config.Account{Name: "Sam Rivera", Email: me, Timezone: "America/Los_Angeles"}
	return cfg
}

// serverOf is s pointed at an in-process server at addr, plain text, as me.
func serverOf(t *testing.T, s config.Server, addr string) config.Server {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	s.Host, s.TLS, s.Username, s.Password, s.Timeout = host, config.TLSNone, me, mePass, "5s"
	s.Port, _ = strconv.Atoi(port)
	return s
}

// readTx returns what f reads in a read transaction, failing t on an error.
func readTx[T any](t *testing.T, db *store.DB, f func(ctx context.Context, tx *store.Tx) (T, error)) T {
	t.Helper()
	var v T
	if err := db.View(t.Context(), func(tx *store.Tx) error {
		var err error
		v, err = f(t.Context(), tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// message reads message id.
func message(t *testing.T, db *store.DB, id int64) *store.Message {
	t.Helper()
	return readTx(t, db, func(ctx context.Context, tx *store.Tx) (*store.Message, error) { return tx.Message(ctx, id) })
}
