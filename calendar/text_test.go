package calendar

import (
	"strings"
	"testing"
)

func TestInviteText(t *testing.T) {
	la := mustLoc(t, "America/Los_Angeles")
	ev := sampleEvent()
	got := InviteText(ev, la, "Great — see you Wednesday!")
	for _, want := range []string{
		"Great — see you Wednesday!\n\n",
		"What:  Coffee chat: Sam / Jane (20 min)\n",
		"When:  Wednesday, 2 December 2026, 14:00–14:30 PST (America/Los_Angeles)\n",
		"       Wednesday, 2 December 2026, 22:00–22:30 UTC\n",
		"Where: Blue Bottle, 66 Mint St; San Francisco\n",
		"Link:  https://meet.example.com/abc-defg-hij?pwd=x,y\n",
		"Who:   Sam \"The\" Rivera <sam@example.com> (organizer)\n       Doe, Jane <jane.doe@gmail.com>\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("InviteText lacks %q:\n%s", want, got)
		}
	}
	if !strings.HasPrefix(got, "Great") {
		t.Errorf("InviteText does not start with the note:\n%s", got)
	}

	plain := InviteText(ev, nil, "")
	if !strings.HasPrefix(plain, "Here is a calendar invitation") || strings.Count(plain, "UTC") != 1 {
		t.Errorf("InviteText(no note, UTC) =\n%s", plain)
	}
	ev.Status = StatusCancelled
	if c := InviteText(ev, la, ""); !strings.HasPrefix(c, "This meeting has been cancelled") {
		t.Errorf("InviteText(cancelled) =\n%s", c)
	}
}
