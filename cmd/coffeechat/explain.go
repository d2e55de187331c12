package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) explainCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain FILE.eml [--json]",
		Short: "How the inbox reads one raw message, changing nothing",
		Long: "Reads one raw RFC 5322 message (a .eml file, or - for standard input) and prints\n" +
			"what the inbox would decide: its kind, the ask it belongs to and how it was matched,\n" +
			"the intent and time of a reply, and why. Nothing is stored or changed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := readMessageFile(args[0], a.stdin)
			if err != nil {
				return err
			}
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				r, err := o.Explain(cmd.Context(), raw)
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if asJSON {
					return a.printJSON(r)
				}
				printReading(a.stdout, r)
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// maxExplainBytes bounds the file explain reads (the inbox reads 30 MiB).
const maxExplainBytes = 64 << 20

func readMessageFile(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = stdin
	} else {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, withHint(fmt.Errorf("no file %s", name), "give the path of a saved message (.eml), e.g. from your mail client's \"Save as\" or \"Show original\"")
		}
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return nil, withHint(fmt.Errorf("%s is a folder", name), "give one message file (.eml)")
		}
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxExplainBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(raw) > maxExplainBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB: not a single email", name, maxExplainBytes>>20)
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, withHint(fmt.Errorf("%s is empty", name), "give a raw message (.eml)")
	}
	return raw, nil
}

// printReading writes a reading for a person.
func printReading(w io.Writer, r *outreach.Reading) {
	line := func(k, v string) { fmt.Fprintf(w, "%-12s %s\n", k+":", v) }
	line("kind", r.Kind)
	if r.Ask != nil {
		by := ""
		if r.MatchedBy != nil {
			by = " (matched by " + *r.MatchedBy + ")"
		}
		line("ask", fmt.Sprintf("%d%s", *r.Ask, by))
	} else {
		line("ask", "none")
	}
	for _, p := range []struct {
		k string
		v *string
	}{{"intent", r.Intent}, {"time", r.Time}, {"partstat", r.PartStat}, {"return date", r.ReturnDate}} {
		if p.v != nil {
			line(p.k, *p.v)
		}
	}
	for _, c := range r.NewContacts {
		line("new contact", fmt.Sprintf("%s <%s>", c.Name, c.Email))
	}
	line("reason", r.Reason)
	if t := strings.TrimSpace(r.Text); t != "" {
		fmt.Fprintln(w, "text:")
		for _, l := range strings.Split(t, "\n") {
			fmt.Fprintln(w, "  | "+l)
		}
	}
}
