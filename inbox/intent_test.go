package inbox

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load zone %s: %v", name, err)
	}
	return z
}

type intentCase struct {
	text   string
	intent Intent
	time   string // RFC 3339, "" for nil
	slot   int
	any    bool
}

func runIntentCases(t *testing.T, name string, date time.Time, loc *time.Location, slots []time.Time, cases []intentCase) {
	t.Helper()
	for _, c := range cases {
		u := Understand(c.text, date, loc, slots)
		got := ""
		if u.Time != nil {
			got = u.Time.Format(time.RFC3339)
		}
		if u.Intent != c.intent || got != c.time || u.Slot != c.slot || u.AnySlot != c.any {
			t.Errorf("%s: Understand(%q) = %s time=%q slot=%d any=%v (%s), want %s time=%q slot=%d any=%v",
				name, c.text, u.Intent, got, u.Slot, u.AnySlot, u.Reason, c.intent, c.time, c.slot, c.any)
		}
		if u.Reason == "" {
			t.Errorf("%s: Understand(%q) gave no reason", name, c.text)
		}
	}
}

// Proposed slots in Los Angeles; the reply is sent on Friday 27 November 2026, so
// "Tuesday" crosses the month end into December.
func TestUnderstandSlots(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	date := time.Date(2026, 11, 27, 9, 12, 0, 0, la) // Friday
	slots := []time.Time{
		time.Date(2026, 12, 1, 14, 0, 0, 0, la),  // Tue 2pm
		time.Date(2026, 12, 2, 10, 0, 0, 0, la),  // Wed 10am
		time.Date(2026, 12, 3, 15, 30, 0, 0, la), // Thu 3:30pm
	}
	s1, s2, s3 := "2026-12-01T14:00:00-08:00", "2026-12-02T10:00:00-08:00", "2026-12-03T15:30:00-08:00"
	runIntentCases(t, "slots", date, la, slots, []intentCase{
		// by number
		{"The second one works for me.", Agree, s2, 2, false},
		{"Option 2 please", Agree, s2, 2, false},
		{"#3 is best", Agree, s3, 3, false},
		{"2nd works", Agree, s2, 2, false},
		{"Let's do the first one.", Agree, s1, 1, false},
		{"The last option works best for me", Agree, s3, 3, false},
		{"Happy to! The third slot suits me.", Agree, s3, 3, false},
		{"Slot 4 works", Unclear, "", 0, false}, // no such slot
		// by weekday
		{"Tuesday works for me!", Agree, s1, 1, false},
		{"Wednesday is great, talk then.", Agree, s2, 2, false},
		{"thurs works", Agree, s3, 3, false},
		{"Sure — let's do Wed.", Agree, s2, 2, false},
		{"Sounds good. Tuesday at 2 works.", Agree, s1, 1, false},
		{"Could we do Wednesday?", Agree, s2, 2, false},
		// by date
		{"Dec 1 at 2 works", Agree, s1, 1, false},
		{"12/1 2pm is great", Agree, s1, 1, false},
		{"December 2nd works for me", Agree, s2, 2, false},
		{"Tuesday, Dec 1 at 2pm PT works", Agree, s1, 1, false},
		{"2026-12-03 works", Agree, s3, 3, false},
		// by time
		{"2pm works", Agree, s1, 1, false},
		{"10am is good for me", Agree, s2, 2, false},
		{"3:30 works great", Agree, s3, 3, false},
		{"I'd be glad to. 5pm ET works.", Agree, s1, 1, false}, // 5pm ET = 2pm PT
		// any
		{"Any of those work for me!", Agree, "", 0, true},
		{"Whichever suits you best.", Agree, "", 0, true},
		{"All three work, you pick.", Agree, "", 0, true},
		// negations
		{"Tuesday doesn't work, but Thursday does.", Agree, s3, 3, false},
		{"Unfortunately Tuesday is booked. Wednesday works though!", Agree, s2, 2, false},
		{"I can't do the first one, but the second works.", Agree, s2, 2, false},
		{"I can't do Tuesday.", ProposeTime, "", 0, false},
		{"None of those times work for me unfortunately.", ProposeTime, "", 0, false},
		{"Wednesday won't work for me.", ProposeTime, "", 0, false},
		// several or ambiguous
		{"Tuesday or Wednesday both work.", Agree, "", 0, false},
		{"Either Tuesday or Wednesday works", Agree, "", 0, false},
		{"Tuesday or Wednesday would be fine", Agree, "", 0, false},
		{"Maybe Tuesday? Let me check.", Unclear, "", 0, false},
		{"Tuesday might work, I'll confirm later.", Unclear, "", 0, false},
		{"Tuesday, Dec 2 works", Unclear, "", 0, false}, // Dec 2 is a Wednesday
		{"2pm my time works", Unclear, "", 0, false},
		// a new time
		{"How about Thursday at 3pm?", ProposeTime, "2026-12-03T15:00:00-08:00", 0, false},
		{"Thursday at 3pm works for me", Agree, "2026-12-03T15:00:00-08:00", 0, false},
		{"None of those work. Could we do Monday at 11 instead?", ProposeTime, "2026-11-30T11:00:00-08:00", 0, false},
		{"Tuesday doesn't work, how about Friday 12/4 at 1pm?", ProposeTime, "2026-12-04T13:00:00-08:00", 0, false},
		{"I'm free Thursday after 4.", ProposeTime, "", 0, false},
		{"Next week would be better.", ProposeTime, "", 0, false},
		{"Friday works better for me", ProposeTime, "", 0, false},
		{"Thursday 2-4pm I'm free", ProposeTime, "", 0, false},
		// plain agreement
		{"Sure, happy to chat!", Agree, "", 0, false},
		{"Sounds good!", Agree, "", 0, false},
		{"Count me in.", Agree, "", 0, false},
		// questions
		{"What would you like to discuss?", Question, "", 0, false},
		{"Is this about the marketing role?", Question, "", 0, false},
		{"Is the Tuesday slot Pacific time?", Question, "", 0, false},
		// declines
		{"Unfortunately I have to pass.", Decline, "", 0, false},
		{"Thanks for reaching out, but I'm not taking these calls right now.", Decline, "", 0, false},
		{"I'm no longer at Acme, sorry!", Decline, "", 0, false},
		{"I'd love to but I'm not able to take calls right now.", Decline, "", 0, false},
		{"Now is not a good time, sorry.", Decline, "", 0, false},
		{"Not this month, but try me in January.", ProposeTime, "", 0, false},
		{"I'm swamped until after the 15th. Ping me then?", ProposeTime, "", 0, false},
		// non-English
		{"Gerne, Dienstag passt mir.", Agree, s1, 1, false},
		{"Mittwoch um 10 Uhr passt leider nicht, aber Donnerstag passt.", Agree, s3, 3, false},
		{"Leider habe ich keine Zeit.", Decline, "", 0, false},
		{"Ça me va, avec plaisir — mercredi !", Agree, s2, 2, false},
		{"Malheureusement, je ne peux pas.", Decline, "", 0, false},
		{"El martes me viene bien.", Agree, s1, 1, false},
		{"Lo siento, no puedo.", Decline, "", 0, false},
		{"Con gusto, cualquiera me viene bien.", Agree, "", 0, true},
		{"Woensdag om 10 uur (jouw tijd) is prima voor mij.", Agree, s2, 2, false},
		{"Helaas heb ik geen tijd.", Decline, "", 0, false},
		{"12月3日（木）の15時半（太平洋時間）で大丈夫です。", Agree, s3, 3, false},
		{"申し訳ありませんが、今回は難しいです。", Decline, "", 0, false},
		// pleasantries, reported agreement, hand-offs, questions with agreement
		{"Sorry for the late reply! Wednesday works.", Agree, s2, 2, false},
		{"So sorry, something came up on Tuesday. Could we do Thursday instead?", Agree, s3, 3, false},
		{"I'm out Tuesday, but Wednesday's fine - 10am it is.", Agree, s2, 2, false},
		{"I don't think I'm the right person for this, sorry. Good luck!", Decline, "", 0, false},
		{"Good luck with the search!", Unclear, "", 0, false},
		{"Sam, meet Jane. Jane works in partnerships. She said she'd be happy to talk!", Unclear, "", 0, false},
		{"Looping in my colleague Tom, who knows this better than I do. Tom, could you find 20 minutes?", Unclear, "", 0, false},
		{"Happy to chat. Is this a phone call or a video call?", Question, "", 0, false},
		{"Thursday works! Will you send a calendar invite?", Agree, s3, 3, false},
		{"Let me check with my team and get back to you.", Unclear, "", 0, false},
		// signature lines with times are stripped before Understand; the words left decide
		{"Sounds great, the first one it is.", Agree, s1, 1, false},
		{"I'd prefer Wednesday at 10 if that still works", Agree, s2, 2, false},
		{"Wednesday at 10:30?", ProposeTime, "2026-12-02T10:30:00-08:00", 0, false},
		// empty or noise
		{"", Unclear, "", 0, false},
		{"Thanks for the note.", Unclear, "", 0, false},
	})
}

// Replies without proposed slots: relative days against the Date header, zones
// written in the text, and DST changes.
func TestUnderstandNewTimes(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	berlin := mustZone(t, "Europe/Berlin")
	fri := time.Date(2026, 11, 27, 16, 0, 0, 0, la) // Friday
	runIntentCases(t, "month end", fri, la, nil, []intentCase{
		{"Tomorrow at 3 works for me", Agree, "2026-11-28T15:00:00-08:00", 0, false},
		{"How about Monday at 10:30?", ProposeTime, "2026-11-30T10:30:00-08:00", 0, false},
		{"next Tuesday 10:30 works", Agree, "2026-12-01T10:30:00-08:00", 0, false},
		{"Let's do Wednesday 12/2 at noon.", Agree, "2026-12-02T12:00:00-08:00", 0, false},
		{"Could we talk 12/3 at 9?", ProposeTime, "2026-12-03T09:00:00-08:00", 0, false},
		{"Monday works", ProposeTime, "", 0, false}, // a day, no time
		{"3pm works", ProposeTime, "", 0, false},    // a time, no day
		{"Sure, happy to help.", Agree, "", 0, false},
		{"Monday at 1pm ET?", ProposeTime, "2026-11-30T13:00:00-05:00", 0, false},
		{"Monday 2 PM EST works", Agree, "2026-11-30T14:00:00-05:00", 0, false},
		{"Tuesday 10:00 CET works for me", Agree, "2026-12-01T10:00:00+01:00", 0, false},
		{"How about Monday at 3pm PT", ProposeTime, "2026-11-30T15:00:00-08:00", 0, false},
		{"Monday 14:00 UTC is good", Agree, "2026-11-30T14:00:00Z", 0, false},
		{"How about 1pm Eastern on Tuesday?", ProposeTime, "2026-12-01T13:00:00-05:00", 0, false},
		{"Tuesday at 11am (CT) works", Agree, "2026-12-01T11:00:00-06:00", 0, false},
		{"Monday at 3pm your time works", Agree, "2026-11-30T15:00:00-08:00", 0, false},
		{"Tuesday or Wednesday at 2?", ProposeTime, "", 0, false},
	})

	// US DST ends Sunday 1 Nov 2026: Monday 2 Nov is PST/EST.
	before := time.Date(2026, 10, 30, 10, 0, 0, 0, la) // Friday, PDT
	runIntentCases(t, "dst fall", before, la, nil, []intentCase{
		{"Monday at 10 works", Agree, "2026-11-02T10:00:00-08:00", 0, false},
		{"How about Monday at 1pm ET?", ProposeTime, "2026-11-02T13:00:00-05:00", 0, false},
		{"Saturday at 10am works", Agree, "2026-10-31T10:00:00-07:00", 0, false},
	})
	// Europe's DST ended 25 Oct 2026, the US's not yet: CET is UTC+1 on 28 Oct.
	mon := time.Date(2026, 10, 26, 8, 0, 0, 0, la)
	runIntentCases(t, "dst gap", mon, la, nil, []intentCase{
		{"Wednesday at 10:00 CET works for me", Agree, "2026-10-28T10:00:00+01:00", 0, false},
		{"Wednesday at 10:00 CEST works for me", Agree, "2026-10-28T10:00:00+01:00", 0, false}, // the zone at that date wins over the letters
	})
	// US DST starts Sunday 14 Mar 2027.
	spring := time.Date(2027, 3, 12, 9, 0, 0, 0, la) // Friday; DST starts Sunday 14 March
	runIntentCases(t, "dst spring", spring, la, nil, []intentCase{
		{"Monday at 2pm ET works", Agree, "2027-03-15T14:00:00-04:00", 0, false},
		{"Monday at 9 works", Agree, "2027-03-15T09:00:00-07:00", 0, false},
		{"Sunday at 2:30am?", Unclear, "", 0, false}, // that clock time does not exist in LA
	})
	// Read in the account's zone: Monday evening UTC is still Monday in LA but Tuesday in Berlin.
	late := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	runIntentCases(t, "zone of day", late, berlin, nil, []intentCase{
		{"Tomorrow at 10 works", Agree, "2026-12-02T10:00:00+01:00", 0, false},
	})
	runIntentCases(t, "zone of day", late, la, nil, []intentCase{
		{"Tomorrow at 10 works", Agree, "2026-12-01T10:00:00-08:00", 0, false},
	})
}

// A slot proposed in one zone picked by a time written in another.
func TestUnderstandSlotAcrossZones(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	date := time.Date(2026, 11, 27, 9, 0, 0, 0, ny)
	slots := []time.Time{time.Date(2026, 12, 1, 13, 0, 0, 0, ny), time.Date(2026, 12, 1, 16, 0, 0, 0, ny)}
	runIntentCases(t, "zones", date, ny, slots, []intentCase{
		{"10am PT on Tuesday works", Agree, "2026-12-01T13:00:00-05:00", 1, false},
		{"1pm works", Agree, "2026-12-01T13:00:00-05:00", 1, false},
		{"Tuesday works", Agree, "", 0, false}, // two Tuesday slots
		{"Tuesday at 4 is good", Agree, "2026-12-01T16:00:00-05:00", 2, false},
		{"Sure, that works", Agree, "", 0, false},
	})
	one := []time.Time{slots[0]}
	runIntentCases(t, "one slot", date, ny, one, []intentCase{
		{"Sure, that works", Agree, "2026-12-01T13:00:00-05:00", 1, false},
		{"That time doesn't work for me, sorry.", ProposeTime, "", 0, false},
	})
}

func TestUnderstandNilZone(t *testing.T) {
	u := Understand("Tomorrow at 3pm works", time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), nil, nil)
	if u.Intent != Agree || u.Time == nil || !u.Time.Equal(time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)) {
		t.Errorf("Understand with nil loc = %+v, want agree at 2026-11-28 15:00 UTC", u)
	}
}

func FuzzUnderstand(f *testing.F) {
	for _, s := range []string{"Tuesday works", "12/1 2pm", "How about 1pm ET?", "the 2nd one", "8.12.", "", "?", "at 99", "Dec 31 - 45",
		"bis 7.12. einschließlich", "2-4pm", "14h et 15h", "Mittwoch um 10 Uhr", "2026-02-30", "#9", "0:00 pm"} {
		f.Add(s)
	}
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		f.Fatal(err)
	}
	date := time.Date(2026, 11, 27, 9, 0, 0, 0, la)
	slots := []time.Time{time.Date(2026, 12, 1, 14, 0, 0, 0, la), time.Date(2026, 12, 2, 10, 0, 0, 0, la)}
	f.Fuzz(func(t *testing.T, s string) {
		u := Understand(s, date, la, slots)
		switch u.Intent {
		case Agree, Decline, ProposeTime, Question, Unclear:
		default:
			t.Fatalf("Understand(%q) intent %q", s, u.Intent)
		}
		if u.Slot < 0 || u.Slot > len(slots) || u.Slot > 0 && (u.Time == nil || !u.Time.Equal(slots[u.Slot-1])) {
			t.Fatalf("Understand(%q) slot %d time %v", s, u.Slot, u.Time)
		}
		if u.Reason == "" || strings.ContainsAny(u.Reason, "\n") {
			t.Fatalf("Understand(%q) reason %q", s, u.Reason)
		}
		if d, ok := ReturnDate(s, date, la); ok && (d.Before(date.AddDate(0, 0, -1)) || d.Hour() != 0 || d.Location() != la) {
			t.Fatalf("ReturnDate(%q) = %v, want a midnight in loc not before the message", s, d)
		}
	})
}

func BenchmarkUnderstand(b *testing.B) {
	la := mustZone(b, "America/Los_Angeles")
	date := time.Date(2026, 11, 27, 9, 0, 0, 0, la)
	slots := []time.Time{time.Date(2026, 12, 1, 14, 0, 0, 0, la), time.Date(2026, 12, 2, 10, 0, 0, 0, la), time.Date(2026, 12, 3, 15, 30, 0, 0, la)}
	texts := []string{
		"Hi Sam,\n\nThanks for reaching out! Tuesday doesn't work for me, but Thursday does. Looking forward to it.\n\nBest,\nJane",
		"Unfortunately I'm not taking these calls right now. Try me in January?",
		"How about Monday at 1pm ET instead?",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Understand(texts[i%len(texts)], date, la, slots)
	}
}

// The slots the fixture corpus proposes (Wed 10:00, Thu 14:00, Fri 11:30 Pacific),
// read on Monday evening.
func TestUnderstandMore(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	date := time.Date(2026, 11, 30, 17, 0, 0, 0, la)
	slots := []time.Time{
		time.Date(2026, 12, 2, 10, 0, 0, 0, la),
		time.Date(2026, 12, 3, 14, 0, 0, 0, la),
		time.Date(2026, 12, 4, 11, 30, 0, 0, la),
	}
	s1, s2, s3 := "2026-12-02T10:00:00-08:00", "2026-12-03T14:00:00-08:00", "2026-12-04T11:30:00-08:00"
	runIntentCases(t, "more", date, la, slots, []intentCase{
		{"Yes! Wednesday at 10 works. Looking forward to it.", Agree, s1, 1, false},
		{"Can we push to next week?", ProposeTime, "", 0, false},
		{"Thursday at 2 is great, but could we make it 30 minutes instead of 20?", Agree, s2, 2, false},
		{"Friday at 11:30 works. I'm out Wednesday.", Agree, s3, 3, false},
		{"I'll be in NYC next week - how about coffee on Tuesday the 8th at 9am ET?", ProposeTime, "2026-12-08T09:00:00-05:00", 0, false},
		{"Does 4:30 on Wednesday work?", ProposeTime, "2026-12-02T16:30:00-08:00", 0, false},
		{"Let's do 10am on the 2nd", Agree, s1, 1, false},
		{"The 3rd at 2 works.", Agree, s2, 2, false},
		{"Could you send me your resume first?", Question, "", 0, false},
		{"Yes, I'd be happy to. What's a good number to call?", Question, "", 0, false},
		{"Let's do Wed 12/2 at 10am PST", Agree, s1, 1, false},
		{"Perfect, see you Thursday at 2!", Agree, s2, 2, false},
		{"I can do Friday", Agree, s3, 3, false},
		{"I could do 2:30 on Thursday", ProposeTime, "2026-12-03T14:30:00-08:00", 0, false},
		{"How about 9:30 instead?", ProposeTime, "", 0, false},
		{"Thursday is good but 3pm would be better", ProposeTime, "", 0, false},
		{"Sorry, I'm not interested.", Decline, "", 0, false},
		{"I'm happy to chat, but not this week. Could we try the week after?", ProposeTime, "", 0, false},
		{"I'm traveling all this week. Could we find a time the week of December 14? Mornings are best for me.", ProposeTime, "", 0, false},
		{"Wednesday, December 2 at 1pm ET works", Agree, s1, 1, false},
		{"Thursday afternoon works for me", Agree, s2, 2, false},
		{"Thursday morning works for me", ProposeTime, "", 0, false}, // the Thursday slot is at 2pm
		{"Donnerstag am 3.12. um 14 Uhr passt mir gut.", Agree, s2, 2, false},
		{"Le jeudi 3 décembre à 14h me convient.", Agree, s2, 2, false},
		{"El viernes por la mañana me viene bien.", Agree, s3, 3, false},
		{"Thursday 2pm Eastern works", Agree, "2026-12-03T14:00:00-05:00", 0, false}, // 11am Pacific: not the slot
	})
}

// Busy phrases, consequence clauses ("…, so Friday is better"), conditional and
// comparative acceptance of a proposed slot, and a call declined with help offered
// in writing. Same slots as TestUnderstandMore.
func TestUnderstandClausesAndWriting(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	date := time.Date(2026, 11, 30, 17, 0, 0, 0, la)
	slots := []time.Time{
		time.Date(2026, 12, 2, 10, 0, 0, 0, la),
		time.Date(2026, 12, 3, 14, 0, 0, 0, la),
		time.Date(2026, 12, 4, 11, 30, 0, 0, la),
	}
	s2, s3 := "2026-12-03T14:00:00-08:00", "2026-12-04T11:30:00-08:00"
	runIntentCases(t, "busy", date, la, slots, []intentCase{
		// busy phrases rule out the days they name
		{"On Wednesday I'm in meetings all day, and Thursday too.\nFriday at 11:30 would work though!", Agree, s3, 3, false},
		{"I'm in meetings all Wednesday. Thursday at 2 works.", Agree, s2, 2, false},
		{"I'm at a conference Wednesday and Thursday. Friday works.", Agree, s3, 3, false},
		{"Back-to-back meetings on Wednesday; Friday at 11:30 would work.", Agree, s3, 3, false},
		{"I'm tied up on Wednesday.", ProposeTime, "", 0, false},
		// "I'm in" agrees only on its own, not in "I'm in meetings" or "I'm in Berlin"
		{"I'm in!", Agree, "", 0, false},
		{"I'm in meetings all week.", Unclear, "", 0, false},
		{"I'm in Berlin that week, happy to chat on Friday.", Agree, s3, 3, false},
	})
	runIntentCases(t, "consequence", date, la, slots, []intentCase{
		{"Hi Sam,\n\nI'll be out of the office on Thursday, so Friday at 11:30 is better for me. Talk then!\n\nEmma", Agree, s3, 3, false},
		{"I'm out Thursday so Friday works better for me", Agree, s3, 3, false},
		{"I'm busy Wednesday, so Thursday at 2 would work.", Agree, s2, 2, false},
		{"I'm traveling Thursday, so how about Friday at 4?", ProposeTime, "2026-12-04T16:00:00-08:00", 0, false},
		{"I'm out Thursday, so Friday.", Agree, s3, 3, false},
		{"El jueves no puedo, así que el viernes me viene bien.", Agree, s3, 3, false},
		{"Je ne peux pas jeudi, donc vendredi à 11h30 me convient.", Agree, s3, 3, false},
		{"Donnerstag geht leider nicht, deshalb passt mir Freitag um 11:30.", Agree, s3, 3, false},
		// "so" without a comma and no day or time after it is no clause start
		{"I'm not so sure Friday works.", ProposeTime, "", 0, false},
		{"Thanks, so glad you reached out! Friday at 11:30 works.", Agree, s3, 3, false},
	})
	runIntentCases(t, "would work", date, la, slots, []intentCase{
		{"Friday at 11:30 would work.", Agree, s3, 3, false},
		{"Friday would work for me", Agree, s3, 3, false},
		{"Friday at 11:30 is better for me.", Agree, s3, 3, false},
		{"Thursday would be better for us.", Agree, s2, 2, false},
		// a new time said conditionally is a proposal, not a firm agreement
		{"Thursday at 4 would work", ProposeTime, "2026-12-03T16:00:00-08:00", 0, false},
		{"Thursday at 4 is better for me", ProposeTime, "2026-12-03T16:00:00-08:00", 0, false},
		{"Friday at 11:30 wouldn't work", ProposeTime, "", 0, false},
		{"That would work!", Agree, "", 0, false},
	})
	runIntentCases(t, "in writing", date, la, slots, []intentCase{
		{"Sam,\n\nI'm not able to do a call, but happy to answer a couple of questions by email if that helps.", Decline, "", 0, false},
		{"I can't take calls these days, but I'm glad to answer your questions over email.", Decline, "", 0, false},
		{"Happy to answer a few questions by email, but I can't do a call.", Decline, "", 0, false},
		{"I won't be able to meet. Happy to help in writing though.", Decline, "", 0, false},
		{"Unfortunately I don't have time for a call; happy to reply by email.", Decline, "", 0, false},
		{"Leider keine Zeit für ein Gespräch, aber gerne per Mail.", Decline, "", 0, false},
		// not a decline: a later call, a question sent by email, a different offer to meet
		{"I'm not able to do a call this week, but happy to chat next week.", ProposeTime, "", 0, false},
		{"Sure, happy to chat! Could you send me your questions by email first?", Question, "", 0, false},
		{"I can't do a call, but happy to meet for coffee.", Unclear, "", 0, false},
		{"Happy to chat! I can't do Wednesday, but Friday works.", Agree, s3, 3, false},
		{"Sure, happy to meet up!", Agree, "", 0, false},
		{"Sam, meet Jane. She runs partnerships.", Unclear, "", 0, false},
	})
}
