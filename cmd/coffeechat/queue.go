package main

import (
	"fmt"

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
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				items, err := o.Queue(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					return printJSONList(a, items)
				}
				outgoing, err := o.Outgoing(cmd.Context())
				if err != nil {
					return err
				}
				if len(items) == 0 {
					fmt.Fprintln(a.stdout, "The queue is empty.")
					return printOutgoing(a.stdout, outgoing, o.Cfg.Location(), a.clock()())
				}
				w := newTable(a.stdout, "ID\tASK\tPURPOSE\tTO\tSUBJECT")
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
			})
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
