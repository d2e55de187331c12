package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) approveCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "approve ID... | --all",
		Short: "Approve drafts for sending (all of them, or none if one id is wrong)",
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				res, err := o.Approve(cmd.Context(), args, all)
				if err != nil {
					return withHint(err, "coffeechat queue")
				}
				for _, d := range res {
					fmt.Fprintf(a.stdout, "%s %s\n", d.ID, d.State)
				}
				fmt.Fprintln(a.stdout, "`coffeechat run` sends approved mail inside the sending window.")
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "approve every draft in the queue")
	return cmd
}
