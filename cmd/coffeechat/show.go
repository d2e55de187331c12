package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

func (a *app) showCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Print a draft in full (headers and body), or a review item",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				s, err := o.Show(cmd.Context(), args[0])
				if err != nil {
					return withHint(err, "coffeechat queue")
				}
				w := a.stdout
				if r := s.Review; r != nil {
					fmt.Fprintf(w, "Review item r%d (%s, %s)", r.ID, r.Kind, r.State)
					if r.AskID != 0 {
						fmt.Fprintf(w, " of ask %d", r.AskID)
					}
					fmt.Fprintf(w, "\n%s\n", r.Summary)
					if r.Detail != "" {
						fmt.Fprintf(w, "\n%s\n", r.Detail)
					}
					if r.Resolution != "" {
						fmt.Fprintf(w, "Resolution: %s\n", r.Resolution)
					}
					if s.Message != nil {
						fmt.Fprintf(w, "\n--- message %d ---\n", s.Message.ID)
						printMessage(w, s.Message)
					}
					return nil
				}
				m := s.Message
				fmt.Fprintf(w, "# message %d: %s %s, %s", m.ID, m.Direction, m.Purpose, m.State)
				if m.AskID != 0 {
					fmt.Fprintf(w, ", ask %d", m.AskID)
				}
				fmt.Fprintln(w)
				printMessage(w, m)
				return nil
			})
		},
	}
}

func printMessage(w io.Writer, m *store.Message) {
	fmt.Fprintf(w, "From: %s\n", m.From)
	if m.MessageID != "" {
		fmt.Fprintf(w, "Message-ID: <%s>\n", m.MessageID)
	}
	if m.InReplyTo != "" {
		fmt.Fprintf(w, "In-Reply-To: <%s>\n", m.InReplyTo)
	}
	fmt.Fprint(w, outreach.DraftText(m))
}
