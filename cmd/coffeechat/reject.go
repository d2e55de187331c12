package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) rejectCmd() *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "reject ID... [--reason TEXT]",
		Short: "Reject drafts (an ask left without any email is closed) or dismiss review items",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mailer.CheckHeader("--reason", reason); err != nil {
				return err
			}
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				res, err := o.Reject(cmd.Context(), args, reason)
				if err != nil {
					return withHint(err, "coffeechat queue")
				}
				for _, d := range res {
					fmt.Fprintf(a.stdout, "%s %s", d.ID, d.State)
					if d.Closed {
						fmt.Fprintf(a.stdout, "; ask %d closed", d.AskID)
					}
					fmt.Fprintln(a.stdout)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (kept in the timeline)")
	return cmd
}
