package main

import (
	"os"
	"strings"
	"sync"
	"time"
)

// clockFileEnv names a file holding a duration ("72h", "-1h30m") that is
// added to the real time. It is FOR TESTS ONLY: end-to-end tests move the
// daemon and every command through days (follow-ups, sending windows)
// without waiting. Unset, the clock is the real one.
const clockFileEnv = "COFFEECHAT_CLOCK_FILE"

// newClock returns the now func of one run: the daemon and every command
// take their time from it (outreach.Outreach.Now and store.DB.Now).
func newClock(getenv func(string) string) func() time.Time {
	path := getenv(clockFileEnv)
	if path == "" {
		return time.Now
	}
	c := &fileClock{path: path}
	return c.now
}

// fileClock is the real time plus the offset written in a file, re-read at
// most every 100 ms.
type fileClock struct {
	path string

	mu     sync.Mutex
	offset time.Duration
	read   time.Time // when the file was last read (real time)
}

func (c *fileClock) now() time.Time {
	real := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read.IsZero() || real.Sub(c.read) >= 100*time.Millisecond {
		c.read = real
		if b, err := os.ReadFile(c.path); err == nil {
			if d, err := time.ParseDuration(strings.TrimSpace(string(b))); err == nil {
				c.offset = d
			}
		}
	}
	return real.Add(c.offset)
}
