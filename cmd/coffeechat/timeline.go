package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) timelineCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "timeline ASK [--json]",
		Short: "Everything that happened to one ask",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0], "an ask", "coffeechat asks")
			if err != nil {
				return err
			}
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				ask, events, err := o.Timeline(cmd.Context(), id)
				if err != nil {
					return withHint(err, "coffeechat asks")
				}
				if asJSON {
					type eventJSON struct {
						At      time.Time `json:"at"`
						Event   string    `json:"event"`
						Detail  string    `json:"detail"`
						Message int64     `json:"message,omitempty"`
					}
					out := struct {
						Ask    int64       `json:"ask"`
						Kind   string      `json:"kind"`
						State  string      `json:"state"`
						Events []eventJSON `json:"events"`
					}{Ask: ask.ID, Kind: ask.Kind, State: ask.State, Events: []eventJSON{}}
					for _, e := range events {
						out.Events = append(out.Events, eventJSON{e.At, e.Event, e.Detail, e.MessageID})
					}
					return a.printJSON(out)
				}
				fmt.Fprintf(a.stdout, "ask %d (%s), now %s\n", ask.ID, ask.Kind, ask.State)
				for _, e := range events {
					fmt.Fprintf(a.stdout, "  %s  %-10s %s", e.At.In(o.Cfg.Location()).Format("2006-01-02 15:04"), e.Event, e.Detail)
					if e.MessageID != 0 {
						fmt.Fprintf(a.stdout, "  [message %d]", e.MessageID)
					}
					fmt.Fprintln(a.stdout)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
