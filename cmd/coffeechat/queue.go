package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) queueCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "queue [--json]",
		Short: "Drafts waiting for your approval, and replies waiting for your decision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o, done, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			items, err := o.Queue(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				if items == nil {
					items = []outreach.QueueItem{}
				}
				return a.printJSON(items)
			}
			outgoing, err := o.Outgoing(cmd.Context())
			if err != nil {
				return err
			}
			if len(items) == 0 {
				fmt.Fprintln(a.stdout, "The queue is empty.")
				return printOutgoing(a.stdout, outgoing, o.Cfg.Location(), a.clock()())
			}
			w := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tASK\tPURPOSE\tTO\tSUBJECT")
			for _, it := range items {
				if it.Type == "review" {
					fmt.Fprintf(w, "%s\t%s\treview: %s\t\t%s\n", it.ID, askRef(it.AskID), it.Purpose, it.Summary)
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", it.ID, askRef(it.AskID), it.Purpose, it.To, it.Subject)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "\ncoffeechat show ID | edit ID | approve ID... | reject ID...")
			return printOutgoing(a.stdout, outgoing, o.Cfg.Location(), a.clock()())
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func askRef(id int64) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprint(id)
}
