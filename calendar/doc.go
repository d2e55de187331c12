// Package calendar computes free interview slots from the user's availability
// and busy calendars, builds and reads iCalendar (iTIP/iMIP) data, and keeps the
// user's own calendar: an .ics file per event and, optionally, CalDAV.
// Building and reading are pure; only Dir, CalDAV and LoadBusy do I/O.
package calendar
