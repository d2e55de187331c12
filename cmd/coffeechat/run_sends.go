package main

import (
	"fmt"
	"io"
	"time"

	"github.com/coffeechat/coffeechat/outreach"
)

// printOutgoing lists approved messages with when each will leave (for
// `queue`), times in the account's zone.
func printOutgoing(w io.Writer, gs []outreach.Outgoing, loc *time.Location, now time.Time) error {
	if len(gs) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nApproved, waiting to be sent:")
	tw := newTable(w, "ID\tASK\tPURPOSE\tTO\tSENDS")
	for _, g := range gs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", g.ID, askRef(g.AskID), g.Purpose, g.To, sendsText(g.Sends, loc, now))
	}
	return tw.Flush()
}

// sendsText is a planned send time as a person reads it.
func sendsText(t *time.Time, loc *time.Location, now time.Time) string {
	switch {
	case t == nil:
		return "never: sending.window has no open day"
	case !t.After(now.Add(time.Second)):
		return "now"
	}
	return t.In(loc).Format("Mon Jan 2 15:04 MST")
}
