package inbox

import (
	"testing"
	"time"
)

func TestReturnDate(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	// Monday 30 November 2026, 17:00 in Los Angeles.
	date := time.Date(2026, 11, 30, 17, 0, 0, 0, la)
	cases := []struct {
		text string
		want string // YYYY-MM-DD, "" for none
	}{
		{"I am out of the office until 12/08.", "2026-12-08"},
		{"I will be back on December 8.", "2026-12-08"},
		{"I'm returning Monday and will reply then.", "2026-12-07"},
		{"Back tomorrow.", "2026-12-01"},
		{"I'll be back in the office on Tuesday, December 8, 2026.", "2026-12-08"},
		{"Out of office until Monday, Dec 7.", "2026-12-07"},
		{"I'm away through Friday, December 4.", "2026-12-05"},
		{"I'm traveling through Tuesday, December 8 and will reply when I'm back.", "2026-12-09"},
		{"Out Dec 1-4, back Dec 7.", "2026-12-07"},
		{"Out Dec 1-4.", "2026-12-05"},
		{"I'm out from December 1 to December 4.", "2026-12-05"},
		{"I will return on 2026-12-09.", "2026-12-09"},
		{"Returning on the 9th.", "2026-12-09"},
		{"I'm on leave until 8 December.", "2026-12-08"},
		{"On vacation until January 4 with no access to email.", "2027-01-04"},
		{"Back 1/4.", "2027-01-04"}, // US order; January rolls into next year
		{"Out until 12/08/2026.", "2026-12-08"},
		// European forms as written
		{"Ich bin ab dem 8. Dezember wieder im Büro.", "2026-12-08"},
		{"Ich bin bis einschließlich 7.12. nicht im Büro.", "2026-12-08"},
		{"Ich bin bis zum 8.12.2026 abwesend.", "2026-12-08"},
		{"Ab Montag bin ich wieder erreichbar.", "2026-12-07"},
		{"Je serai de retour le 8 décembre.", "2026-12-08"},
		{"Je suis absente jusqu'au lundi 7 décembre 2026 inclus.", "2026-12-08"},
		{"Je suis absente du bureau jusqu'au lundi 7 décembre 2026 inclus. Je serai de retour le mardi 8 décembre.", "2026-12-08"},
		{"Estaré fuera hasta el 8 de diciembre.", "2026-12-08"},
		{"Regreso el 9 de diciembre de 2026.", "2026-12-09"},
		{"Sono fuori ufficio e rientrerò il 9 dicembre 2026.", "2026-12-09"},
		{"将于2026年12月10日返回办公室。", "2026-12-10"},
		{"12月10日に戻ります。", "2026-12-10"},
		// none, or not a return
		{"I am out of the office with limited access to email.", ""},
		{"Thanks for your email, I'll reply as soon as I can.", ""},
		{"Out of office. Our holiday party is on December 18.", ""},
		{"I was back on November 2.", ""}, // in the past
		{"", ""},
	}
	for _, c := range cases {
		got, ok := ReturnDate(c.text, date, la)
		gs := ""
		if ok {
			gs = got.Format(time.DateOnly)
			if got.Location() != la || got.Hour() != 0 || got.Minute() != 0 {
				t.Errorf("ReturnDate(%q) = %v, want midnight in %s", c.text, got, la)
			}
		}
		if gs != c.want {
			t.Errorf("ReturnDate(%q) = %q, want %q", c.text, gs, c.want)
		}
	}
}

// The message date is read in loc: late Monday in Los Angeles is Tuesday in UTC,
// and "tomorrow" follows the account's zone.
func TestReturnDateZone(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	date := time.Date(2026, 12, 1, 5, 0, 0, 0, time.UTC) // Mon 30 Nov 21:00 in LA
	got, ok := ReturnDate("Back tomorrow", date, la)
	if !ok || got.Format(time.DateOnly) != "2026-12-01" {
		t.Errorf("ReturnDate(back tomorrow) in LA = %v %v, want 2026-12-01", got, ok)
	}
	got, ok = ReturnDate("Back tomorrow", date, time.UTC)
	if !ok || got.Format(time.DateOnly) != "2026-12-02" {
		t.Errorf("ReturnDate(back tomorrow) in UTC = %v %v, want 2026-12-02", got, ok)
	}
}

// The reader's mentions: US month/day, European day.month., ISO, names in four
// languages, clocks with and without am/pm, zones.
func TestMentions(t *testing.T) {
	r := newWhenReader()
	type want struct {
		day              dayKind
		month, mday      int
		clock            bool
		hour, min        int
		meridiem, period bool
		zone             string
	}
	cases := []struct {
		text string
		want []want
	}{
		{"12/03", []want{{day: dayDate, month: 12, mday: 3}}},
		{"3.12.", []want{{day: dayDate, month: 12, mday: 3}}},
		{"3.12.2026", []want{{day: dayDate, month: 12, mday: 3}}},
		{"2026-12-03", []want{{day: dayDate, month: 12, mday: 3}}},
		{"dec 3rd", []want{{day: dayDate, month: 12, mday: 3}}},
		{"3 december", []want{{day: dayDate, month: 12, mday: 3}}},
		{"3. dezember", []want{{day: dayDate, month: 12, mday: 3}}},
		{"le 3 décembre", []want{{day: dayDate, month: 12, mday: 3}}},
		{"el 3 de diciembre", []want{{day: dayDate, month: 12, mday: 3}}},
		{"2pm", []want{{clock: true, hour: 14, meridiem: true}}},
		{"2:30 p.m.", []want{{clock: true, hour: 14, min: 30, meridiem: true}}},
		{"12pm", []want{{clock: true, hour: 12, meridiem: true}}},
		{"12am", []want{{clock: true, hour: 0, meridiem: true}}},
		{"at 3", []want{{clock: true, hour: 3}}},
		{"14:00", []want{{clock: true, hour: 14, meridiem: true}}},
		{"14h30", []want{{clock: true, hour: 14, min: 30, meridiem: true}}},
		{"um 10 uhr", []want{{clock: true, hour: 10, meridiem: true}}},
		{"noon", []want{{clock: true, hour: 12, meridiem: true}}},
		{"1pm et", []want{{clock: true, hour: 13, meridiem: true, zone: "America/New_York"}}},
		{"10:00 (cet)", []want{{clock: true, hour: 10, zone: "Europe/Berlin"}}},
		{"14h et 15h", []want{{clock: true, hour: 14, meridiem: true}, {clock: true, hour: 15, meridiem: true}}},
		{"2-4pm", []want{{clock: true, hour: 2, period: true}}},
		{"next week", []want{{period: true}}},
		{"in january", []want{{period: true}}},
		{"we could meet", nil},        // "we" is not Wednesday
		{"may i ask", nil},            // "may" is not May
		{"sat down on the sun", nil},  // not Saturday or Sunday
		{"version 1.2.3 is out", nil}, // not a date
		{"option 2", nil},
		{"at 12/1", []want{{day: dayDate, month: 12, mday: 1}}},
	}
	for _, c := range cases {
		got := r.mentions(c.text)
		if len(got) != len(c.want) {
			t.Errorf("mentions(%q) = %d mentions %+v, want %d", c.text, len(got), got, len(c.want))
			continue
		}
		for i, w := range c.want {
			g := got[i]
			if g.day != w.day || g.month != w.month || g.mday != w.mday || g.clock != w.clock || g.hour != w.hour ||
				g.min != w.min || g.meridiem != w.meridiem || g.period != w.period || g.zone != w.zone {
				t.Errorf("mentions(%q)[%d] = %+v, want %+v", c.text, i, g, w)
			}
		}
	}
}

func BenchmarkReturnDate(b *testing.B) {
	la := mustZone(b, "America/Los_Angeles")
	date := time.Date(2026, 11, 30, 17, 0, 0, 0, la)
	text := "Thank you for your message. I am out of the office with limited access to email and will be back on Monday, December 14, 2026. For urgent matters please contact Tom Baker."
	b.ReportAllocs()
	for b.Loop() {
		ReturnDate(text, date, la)
	}
}
