package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) asksCmd() *cobra.Command {
	var state string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "asks [--state STATE] [--json]",
		Short: "The pipeline: every ask, who, via whom, and where it stands",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				rows, err := o.Asks(cmd.Context(), state)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSONList(a, rows)
				}
				if len(rows) == 0 && state != "" {
					fmt.Fprintf(a.stdout, "No asks in state %s.\n", state)
					return nil
				}
				if len(rows) == 0 {
					fmt.Fprintln(a.stdout, "No asks: coffeechat ask intro --via REF --to REF, or ask interview --to REF")
					return nil
				}
				w := newTable(a.stdout, "ID\tKIND\tWHO\tVIA\tSTATE\tLAST ACTIVITY")
				for _, r := range rows {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Who, dash(r.Via), r.State, r.LastActivity.In(o.Cfg.Location()).Format("2006-01-02 15:04"))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only asks in this state")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
