package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				rows, err := o.Interviews(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return printJSONList(a, rows)
				}
				if len(rows) == 0 {
					fmt.Fprintln(a.stdout, "No interviews yet. When someone agrees to a time, the invite goes out and it shows here.")
					return nil
				}
				past := false
				// The slots differ in length ("Mon Dec 7" and "Fri Dec 11"):
				// pad them to the longest so that the columns after line up.
				width := 0
				for _, r := range rows {
					width = max(width, utf8.RuneCountInString(outreach.FormatSlot(slotOfRow(r), r.Start.Location())))
				}
				if !rows[0].Past {
					fmt.Fprintln(a.stdout, "Upcoming:")
				}
				for _, r := range rows {
					if r.Past && !past {
						past = true
						fmt.Fprintln(a.stdout, "Past:")
					}
					who := r.Who
					if r.Organizer == "them" {
						who += " (their invite)"
					}
					fmt.Fprintf(a.stdout, "  %-4d ask %-4d %-28s %-*s  %-10s seq %d\n", r.ID, r.AskID, who,
						width, outreach.FormatSlot(slotOfRow(r), r.Start.Location()), r.Status, r.Sequence)
				}
				return nil
			})
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
			return a.changeInterview(cmd.Context(), args[0], "an interview", "coffeechat interviews", "moved",
				func(o *outreach.Outreach, id int64) (*outreach.Scheduled, error) {
					at, err := outreach.ParseTime(to, o.Cfg.Location())
					if err != nil {
						return nil, withHint(fmt.Errorf("--to: %w", err), "coffeechat interview move ID --to \"2026-12-08 14:00\"")
					}
					s, err := o.MoveInterview(cmd.Context(), id, at)
					return s, withHint(err, "coffeechat interviews")
				})
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
			return a.changeInterview(cmd.Context(), args[0], "an interview", "coffeechat interviews", "cancelled",
				func(o *outreach.Outreach, id int64) (*outreach.Scheduled, error) {
					s, err := o.CancelInterview(cmd.Context(), id, reason)
					return s, withHint(err, "coffeechat interviews")
				})
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
			return a.changeInterview(cmd.Context(), args[0], "an ask", "coffeechat asks --state agreed", "scheduled",
				func(o *outreach.Outreach, id int64) (*outreach.Scheduled, error) {
					t, err := outreach.ParseTime(at, o.Cfg.Location())
					if err != nil {
						return nil, withHint(fmt.Errorf("--at: %w", err), "coffeechat interview schedule ASK --at \"2026-12-08 14:00\"")
					}
					s, err := o.ScheduleAsk(cmd.Context(), id, t)
					return s, withHint(err, "coffeechat queue")
				})
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the start time")
	cmd.MarkFlagRequired("at")
	return cmd
}

// changeInterview is the body of move, cancel and schedule: it reads the
// number in arg (of what, listed by listCmd), makes the change, and prints
// the interview it left, as verb. change hints its own errors.
func (a *app) changeInterview(ctx context.Context, arg, what, listCmd, verb string,
	change func(o *outreach.Outreach, id int64) (*outreach.Scheduled, error)) error {
	id, err := parseID(arg, what, listCmd)
	if err != nil {
		return err
	}
	return a.withOutreach(ctx, func(o *outreach.Outreach) error {
		s, err := change(o, id)
		if err != nil {
			return err
		}
		a.printScheduled(o, verb, s)
		return nil
	})
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
