package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/daemon"
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
				a.printWhoSends(o)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "approve every draft in the queue")
	return cmd
}

// printWhoSends tells whether a running daemon will send what was just
// approved, or that one must be started.
func (a *app) printWhoSends(o *outreach.Outreach) {
	if dbPath, err := o.Cfg.DBPath(); err == nil {
		if pid, err := daemon.Holder(dbPath); err == nil && pid > 0 {
			fmt.Fprintf(a.stdout, "The running daemon (PID %d) sends approved mail inside the sending window; `coffeechat queue` shows when.\n", pid)
			return
		}
	}
	fmt.Fprintln(a.stdout, "No daemon is running: start `coffeechat run` to send approved mail inside the sending window.")
}
