package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a Go duration ("90s", "1h30m") that may also use "d" for
// days of 24 hours: "7d", "14d", "1d12h". Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	if strings.HasPrefix(in, "-") {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	rest := strings.TrimPrefix(in, "+")
	var days time.Duration
	// Leading "<n>d" (days may only come first, as the largest unit).
	i := 0
	for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9') {
		i++
	}
	if i > 0 && i < len(rest) && rest[i] == 'd' {
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n > int64(maxDays) {
			return 0, fmt.Errorf("duration %q: too many days", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		rest = rest[i+1:]
		if rest == "" {
			return days, nil
		}
	}
	d, err := time.ParseDuration(rest)
	if err != nil {
		return 0, fmt.Errorf("duration %q: want e.g. 30m, 2h, 7d or 1d12h", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %q", s)
	}
	if days > 0 && d > time.Duration(1<<63-1)-days {
		return 0, fmt.Errorf("duration %q: too long", s)
	}
	return days + d, nil
}

// maxDays keeps days*24h inside a time.Duration.
const maxDays = 100000
