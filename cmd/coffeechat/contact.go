package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// contactJSON is a contact in --json output.
type contactJSON struct {
	ID      int64     `json:"id"`
	Name    string    `json:"name"`
	Emails  []string  `json:"emails"`
	Org     string    `json:"org"`
	Role    string    `json:"role"`
	Note    string    `json:"note"`
	Tags    []string  `json:"tags"`
	Source  string    `json:"source"`
	Created time.Time `json:"created_at"`
}

func toJSON(c *store.Contact) contactJSON {
	j := contactJSON{ID: c.ID, Name: c.Name, Emails: c.Emails, Org: c.Org, Role: c.Role, Note: c.Note, Tags: c.Tags, Source: c.Source, Created: c.CreatedAt}
	if j.Emails == nil {
		j.Emails = []string{}
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	return j
}

func (a *app) contactCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "contact", Short: "Add, list, show, import and link the people you know"}
	cmd.AddCommand(a.contactAddCmd(), a.contactListCmd(), a.contactShowCmd(), a.contactImportCmd(), a.contactLinkCmd())
	return cmd
}

func (a *app) contactAddCmd() *cobra.Command {
	var n outreach.NewContact
	cmd := &cobra.Command{
		Use:   "add NAME --email ADDR [--org O] [--role R] [--tag T]... [--note N]",
		Short: "Add a person",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				n.Name = args[0]
				c, err := o.AddContact(cmd.Context(), n)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "contact %d: %s", c.ID, c.Name)
				if len(c.Emails) > 0 {
					fmt.Fprintf(a.stdout, " <%s>", strings.Join(c.Emails, ", "))
				}
				fmt.Fprintln(a.stdout)
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&n.Emails, "email", nil, "an address (repeat for several; the first is the main one)")
	cmd.Flags().StringVar(&n.Org, "org", "", "organisation")
	cmd.Flags().StringVar(&n.Role, "role", "", "role or job title")
	cmd.Flags().StringArrayVar(&n.Tags, "tag", nil, "a tag (repeat for several)")
	cmd.Flags().StringVar(&n.Note, "note", "", "a note for yourself")
	return cmd
}

func (a *app) contactListCmd() *cobra.Command {
	var tag string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--tag T] [--json]",
		Short: "List people",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				cs, err := o.Contacts(cmd.Context(), tag)
				if err != nil {
					return err
				}
				if asJSON {
					out := make([]contactJSON, 0, len(cs))
					for _, c := range cs {
						out = append(out, toJSON(c))
					}
					return a.printJSON(out)
				}
				if len(cs) == 0 && tag != "" {
					fmt.Fprintf(a.stdout, "No contact has the tag %q (`coffeechat contact list` shows everyone)\n", tag)
					return nil
				}
				if len(cs) == 0 {
					fmt.Fprintln(a.stdout, "No contacts yet: coffeechat contact add NAME --email ADDR, or contact import FILE")
					return nil
				}
				w := newTable(a.stdout, "ID\tNAME\tEMAIL\tORG\tROLE\tTAGS")
				for _, c := range cs {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Email(), c.Org, c.Role, strings.Join(c.Tags, ","))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "", "only people with this tag")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) contactShowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show REF [--json]",
		Short: "Show a person, who they know, who knows them, and the asks about them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				v, err := o.ShowContact(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if asJSON {
					type linkJSON struct {
						ID     int64  `json:"id"`
						Name   string `json:"name"`
						Note   string `json:"note"`
						Source string `json:"source"`
					}
					type askJSON struct {
						ID    int64  `json:"id"`
						Kind  string `json:"kind"`
						State string `json:"state"`
					}
					out := struct {
						contactJSON
						Knows   []linkJSON `json:"knows"`
						KnownBy []linkJSON `json:"known_by"`
						Asks    []askJSON  `json:"asks"`
					}{contactJSON: toJSON(v.Contact), Knows: []linkJSON{}, KnownBy: []linkJSON{}, Asks: []askJSON{}}
					for _, l := range v.Knows {
						out.Knows = append(out.Knows, linkJSON{l.Contact.ID, l.Contact.Name, l.Note, l.Source})
					}
					for _, l := range v.KnownBy {
						out.KnownBy = append(out.KnownBy, linkJSON{l.Contact.ID, l.Contact.Name, l.Note, l.Source})
					}
					for _, k := range v.Asks {
						out.Asks = append(out.Asks, askJSON{k.ID, k.Kind, k.State})
					}
					return a.printJSON(out)
				}
				c := v.Contact
				w := a.stdout
				fmt.Fprintf(w, "%s (contact %d)\n", c.Name, c.ID)
				for i, e := range c.Emails {
					label := "email:"
					if i > 0 {
						label = "      "
					}
					fmt.Fprintf(w, "  %s  %s\n", label, e)
				}
				for _, f := range [][2]string{{"org:  ", c.Org}, {"role: ", c.Role}, {"tags: ", strings.Join(c.Tags, ", ")}, {"note: ", c.Note}} {
					if f[1] != "" {
						fmt.Fprintf(w, "  %s  %s\n", f[0], f[1])
					}
				}
				fmt.Fprintf(w, "  source: %s, added %s\n", c.Source, c.CreatedAt.In(o.Cfg.Location()).Format("2006-01-02"))
				printLinks := func(title string, ls []outreach.Link) {
					if len(ls) == 0 {
						return
					}
					fmt.Fprintf(w, "%s\n", title)
					for _, l := range ls {
						fmt.Fprintf(w, "  %d  %s", l.Contact.ID, l.Contact.Name)
						if l.Note != "" {
							fmt.Fprintf(w, "  (%s)", l.Note)
						}
						fmt.Fprintln(w)
					}
				}
				printLinks("Knows:", v.Knows)
				printLinks("Known by:", v.KnownBy)
				if len(v.Asks) > 0 {
					fmt.Fprintln(w, "Asks:")
					for _, k := range v.Asks {
						fmt.Fprintf(w, "  %d  %s  %s\n", k.ID, k.Kind, k.State)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) contactImportCmd() *cobra.Command {
	var opt outreach.ImportOptions
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import FILE [--format linkedin|google|vcard] [--dry-run] [--skip-bad]",
		Short: "Import LinkedIn's Connections.csv, a Google Contacts CSV or a vCard file, merging by address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				res, err := o.Import(cmd.Context(), f, args[0], opt)
				if _, ok := err.(*outreach.BadRowsError); ok {
					return withHint(err, "fix those rows, or import the others with --skip-bad")
				}
				if err != nil {
					return err
				}
				if asJSON {
					return a.printJSON(res)
				}
				w := a.stdout
				verb := map[bool]string{true: "would be ", false: ""}[opt.DryRun]
				for _, l := range res.Added {
					fmt.Fprintf(w, "add     line %d: %s %s\n", l.Line, l.Name, angle(l.Email))
				}
				for _, l := range res.Updated {
					fmt.Fprintf(w, "update  line %d: %s (contact %d): %s\n", l.Line, l.Name, l.ContactID, strings.Join(l.Changes, "; "))
				}
				for _, l := range res.Skipped {
					fmt.Fprintf(w, "skip    line %d: %s %s: %s\n", l.Line, l.Name, angle(l.Email), l.Reason)
				}
				for _, b := range res.Bad {
					fmt.Fprintf(w, "bad     %s\n", b.Error())
				}
				fmt.Fprintf(w, "%s: %d %sadded, %d %supdated, %d skipped", res.Format, len(res.Added), verb, len(res.Updated), verb, len(res.Skipped))
				if len(res.Bad) > 0 {
					fmt.Fprintf(w, ", %d bad rows left out", len(res.Bad))
				}
				if opt.DryRun {
					fmt.Fprint(w, " (dry run: nothing changed)")
				}
				fmt.Fprintln(w)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&opt.Format, "format", "", "linkedin, google or vcard (default: detected)")
	cmd.Flags().BoolVar(&opt.DryRun, "dry-run", false, "show what would be added, updated and skipped, change nothing")
	cmd.Flags().BoolVar(&opt.SkipBad, "skip-bad", false, "import the good rows of a file that has bad ones")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func angle(s string) string {
	if s == "" {
		return ""
	}
	return "<" + s + ">"
}

func (a *app) contactLinkCmd() *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "link REF REF [--note N]",
		Short: "Record that the first person knows the second",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				r, err := o.Link(cmd.Context(), args[0], args[1], note)
				if err != nil {
					return err
				}
				switch {
				case r.Created:
					fmt.Fprintf(a.stdout, "%s knows %s\n", r.From.Name, r.To.Name)
				case note != "":
					fmt.Fprintf(a.stdout, "%s already knew %s: note updated\n", r.From.Name, r.To.Name)
				default:
					fmt.Fprintf(a.stdout, "%s already knew %s: nothing changed\n", r.From.Name, r.To.Name)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "how they know each other")
	return cmd
}
