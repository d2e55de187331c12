package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) askCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "ask", Short: "Create an ask and its first draft"}
	cmd.AddCommand(a.askIntroCmd(), a.askInterviewCmd())
	return cmd
}

func (a *app) askIntroCmd() *cobra.Command {
	var r outreach.IntroRequest
	cmd := &cobra.Command{
		Use:   "intro --via REF (--to REF | --looking-for TEXT) [--topic TEXT]",
		Short: "Ask someone you know for an introduction",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.Via == "" {
				return withHint(errors.New("--via REF is required: who would make the introduction?"), "coffeechat ask intro --via Dad --to Jane")
			}
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				c, err := o.AskIntro(cmd.Context(), r)
				if err != nil {
					return askError(err)
				}
				a.printCreated(c)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&r.Via, "via", "", "the connector: who would introduce you")
	cmd.Flags().StringVar(&r.To, "to", "", "the person to be introduced to")
	cmd.Flags().StringVar(&r.LookingFor, "looking-for", "", "or who you are looking for: \"anyone in sports marketing\"")
	cmd.Flags().StringVar(&r.Topic, "topic", "", "what you are curious about")
	return cmd
}

func (a *app) askInterviewCmd() *cobra.Command {
	var r outreach.InterviewRequest
	cmd := &cobra.Command{
		Use:   "interview --to REF [--topic TEXT]",
		Short: "Ask someone directly for 20–30 minutes, proposing free times",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.To == "" {
				return withHint(errors.New("--to REF is required"), "coffeechat ask interview --to Jane --topic \"sports marketing\"")
			}
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				c, err := o.AskInterview(cmd.Context(), r)
				if err != nil {
					return askError(err)
				}
				a.printCreated(c)
				if len(c.Ask.Slots) == 0 {
					fmt.Fprintln(a.stdout, "No free time found in [availability]: the draft asks them to suggest a time.")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&r.To, "to", "", "the person to ask")
	cmd.Flags().StringVar(&r.Topic, "topic", "", "what you are curious about")
	return cmd
}

func askError(err error) error {
	var amb *outreach.AmbiguousError
	var dup *outreach.DuplicateAskError
	switch {
	case errors.As(err, &amb):
		return withHint(err, "give the id or the address instead of the name")
	case errors.As(err, &dup):
		return withHint(err, fmt.Sprintf("coffeechat timeline %d", dup.Existing.ID))
	case errors.Is(err, outreach.ErrNoContact):
		return withHint(err, "coffeechat contact list")
	}
	return err
}

func (a *app) printCreated(c *outreach.Created) {
	fmt.Fprintf(a.stdout, "ask %d (%s) created; draft %d to %s\n", c.Ask.ID, c.Ask.Kind, c.Draft.ID, c.Draft.To)
	fmt.Fprintf(a.stdout, "  Subject: %s\n", c.Draft.Subject)
	fmt.Fprintf(a.stdout, "Review it: coffeechat show %d, edit %d, approve %d\n", c.Draft.ID, c.Draft.ID, c.Draft.ID)
}
