package outreach

import (
	"testing"
	"time"

	"github.com/coffeechat/coffeechat/inbox"
)

// TestPreparedOnlyWhenInputsUnchanged: what was prepared before the
// transaction is used only for exactly the inputs it was made from; any
// change (the ask's slots, the date, the zone, the text, the raw bytes)
// makes the reading again.
func TestPreparedOnlyWhenInputsUnchanged(t *testing.T) {
	utc, ny := time.UTC, time.FixedZone("EST", -5*3600)
	date := time.Date(2026, 3, 2, 9, 0, 0, 0, utc)
	slot := time.Date(2026, 3, 5, 15, 0, 0, 0, utc)
	sentinel := inbox.Understanding{Reason: "prepared"}
	p := &prepared{raw: []byte("raw"), loc: utc, msg: &inbox.Message{Subject: "s"}, prepared: true,
		und: true, text: "the first one works", date: date, slots: []time.Time{slot}, uloc: utc, reading: sentinel}

	if got := p.understand("the first one works", date, utc, []time.Time{slot}); got.Reason != "prepared" {
		t.Fatalf("same inputs: made the reading again (%q)", got.Reason)
	}
	changed := map[string]func() inbox.Understanding{
		"slots": func() inbox.Understanding {
			return p.understand("the first one works", date, utc, []time.Time{slot.Add(time.Hour)})
		},
		"no slots": func() inbox.Understanding { return p.understand("the first one works", date, utc, nil) },
		"date": func() inbox.Understanding {
			return p.understand("the first one works", date.Add(time.Minute), utc, []time.Time{slot})
		},
		"date zone": func() inbox.Understanding {
			return p.understand("the first one works", date.In(ny), utc, []time.Time{slot})
		},
		"zone": func() inbox.Understanding { return p.understand("the first one works", date, ny, []time.Time{slot}) },
		"text": func() inbox.Understanding { return p.understand("no thanks", date, utc, []time.Time{slot}) },
	}
	for name, f := range changed {
		if got := f(); got.Reason == "prepared" {
			t.Errorf("%s changed: the prepared reading was used", name)
		}
	}
	var none *prepared
	if got := none.understand("the first one works", date, utc, []time.Time{slot}); got.Reason == "prepared" || got.Intent == "" {
		t.Errorf("nothing prepared: %+v", got)
	}

	if p.message([]byte("other"), utc) != nil {
		t.Error("other raw bytes: the prepared message was used")
	}
	if p.message([]byte("raw"), ny) != nil {
		t.Error("other zone: the prepared message was used")
	}
	if p.message([]byte("raw"), utc) == nil {
		t.Error("same raw bytes and zone: the prepared message was not used")
	}
	if p.message([]byte("raw"), utc) != nil {
		t.Error("the prepared message was handed out twice")
	}
}
