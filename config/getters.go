package config

import (
	"time"
)

// The getters below read settings that Validate has already checked, so they
// cannot fail; on a Config that was never validated a bad value reads as zero.

// Location is account.timezone (the system's zone when empty).
func (c *Config) Location() *time.Location {
	if c.loc != nil {
		return c.loc
	}
	tz := c.Account.Timezone
	if tz == "" {
		tz = SystemTimezone(c.env)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

func mustDuration(s string) time.Duration {
	d, _ := ParseDuration(s)
	return d
}

// SendingWindow is sending.window in account.timezone.
func (c *Config) SendingWindow() Window {
	w, _ := ParseWindow(c.Sending.Window, c.Location())
	return w
}

// MinGap is sending.min_gap.
func (c *Config) MinGap() time.Duration { return mustDuration(c.Sending.MinGap) }

// AvailabilityWindow is availability.days and availability.hours in account.timezone.
func (c *Config) AvailabilityWindow() Window {
	days, _ := ParseDays(c.Availability.Days)
	from, to, _ := ParseHours(c.Availability.Hours)
	return Window{Days: days, From: from, To: to, Loc: c.Location()}
}

// Slot is availability.slot, the length of a proposed meeting.
func (c *Config) Slot() time.Duration { return mustDuration(c.Availability.Slot) }

// MinNotice is availability.min_notice.
func (c *Config) MinNotice() time.Duration { return mustDuration(c.Availability.MinNotice) }

// Horizon is availability.horizon.
func (c *Config) Horizon() time.Duration { return mustDuration(c.Availability.Horizon) }

// FollowupAfter is followup.after.
func (c *Config) FollowupAfter() time.Duration { return mustDuration(c.Followup.After) }

// ThanksAfter is thanks.after.
func (c *Config) ThanksAfter() time.Duration { return mustDuration(c.Thanks.After) }
