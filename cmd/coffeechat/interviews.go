package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

func (a *app) interviewsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "interviews [--json]",
		Short: "Interviews on the calendar, upcoming then past",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			rows, err := o.Interviews(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if rows == nil {
					rows = []outreach.InterviewRow{}
				}
				return a.printJSON(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(a.stdout, "No interviews yet. When someone agrees to a time, the invite goes out and it shows here.")
				return nil
			}
			past := false
			fmt.Fprintln(a.stdout, "Upcoming:")
			for _, r := range rows {
				if r.Past && !past {
					past = true
					fmt.Fprintln(a.stdout, "Past:")
				}
				who := r.Who
				if r.Organizer == "them" {
					who += " (their invite)"
				}
				fmt.Fprintf(a.stdout, "  %-4d ask %-4d %-28s %s  %-10s seq %d\n", r.ID, r.AskID, who,
					outreach.FormatSlot(slotOfRow(r), r.Start.Location()), r.Status, r.Sequence)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) interviewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "interview move|cancel|schedule",
		Short: "Move, cancel or schedule an interview",
	}
	cmd.AddCommand(a.interviewMoveCmd(), a.interviewCancelCmd(), a.interviewScheduleCmd())
	return cmd
}

func parseID(s, what, hint string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, withHint(fmt.Errorf("%q is not %s number", s, what), hint)
	}
	return id, nil
}

func (a *app) interviewMoveCmd() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "move ID --to TIME",
		Short: "Move an interview (same invite, SEQUENCE+1); TIME is RFC 3339 or \"2026-12-08 14:00\" in your zone",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0], "an interview", "coffeechat interviews")
			if err != nil {
				return err
			}
			o, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			at, err := outreach.ParseTime(to, o.Cfg.Location())
			if err != nil {
				return withHint(fmt.Errorf("--to: %w", err), "coffeechat interview move ID --to \"2026-12-08 14:00\"")
			}
			s, err := o.MoveInterview(cmd.Context(), id, at)
			if err != nil {
				return withHint(err, "coffeechat interviews")
			}
			a.printScheduled(o, "moved", s)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "the new start time")
	cmd.MarkFlagRequired("to")
	return cmd
}

func (a *app) interviewCancelCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "cancel ID [--reason TEXT]",
		Short: "Cancel an interview (METHOD:CANCEL to the person)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0], "an interview", "coffeechat interviews")
			if err != nil {
				return err
			}
			o, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			s, err := o.CancelInterview(cmd.Context(), id, reason)
			if err != nil {
				return withHint(err, "coffeechat interviews")
			}
			a.printScheduled(o, "cancelled", s)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "a line for the person, in the cancellation")
	return cmd
}

func (a *app) interviewScheduleCmd() *cobra.Command {
	var at string
	cmd := &cobra.Command{
		Use:   "schedule ASK --at TIME",
		Short: "Pick the time of an agreed ask and send the invite (resolves its pick_time review item)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0], "an ask", "coffeechat asks --state agreed")
			if err != nil {
				return err
			}
			o, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			t, err := outreach.ParseTime(at, o.Cfg.Location())
			if err != nil {
				return withHint(fmt.Errorf("--at: %w", err), "coffeechat interview schedule ASK --at \"2026-12-08 14:00\"")
			}
			s, err := o.ScheduleAsk(cmd.Context(), id, t)
			if err != nil {
				return withHint(err, "coffeechat queue")
			}
			a.printScheduled(o, "scheduled", s)
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the start time")
	cmd.MarkFlagRequired("at")
	return cmd
}

func (a *app) printScheduled(o *outreach.Outreach, verb string, s *outreach.Scheduled) {
	iv := s.Interview
	fmt.Fprintf(a.stdout, "interview %d %s: %s (SEQUENCE %d)\n", iv.ID, verb,
		outreach.FormatSlot(slotOfInterview(iv.Start, iv.End), o.Cfg.Location()), iv.Sequence)
	if m := s.Message; m != nil {
		if m.Auto {
			fmt.Fprintf(a.stdout, "%s to %s will be sent by `coffeechat run` (message %d)\n", m.Purpose, m.To, m.ID)
		} else {
			fmt.Fprintf(a.stdout, "%s to %s is in the queue: `coffeechat approve %d` to send it\n", m.Purpose, m.To, m.ID)
		}
	}
	if s.Warning != "" {
		fmt.Fprintf(a.stdout, "note: %s\n", s.Warning)
	}
}

func slotOfRow(r outreach.InterviewRow) store.Slot { return slotOfInterview(r.Start, r.End) }

func slotOfInterview(start, end time.Time) store.Slot { return store.Slot{Start: start, End: end} }
