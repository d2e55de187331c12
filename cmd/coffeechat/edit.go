package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/outreach"
)

func (a *app) editCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "edit ID",
		Short: "Edit a draft (To, Cc, Bcc, Subject and body) in $EDITOR",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withOutreach(cmd.Context(), func(o *outreach.Outreach) error {
				changed, err := o.EditDraft(cmd.Context(), args[0], a.getenv("TMPDIR"), a.runEditor)
				if err != nil {
					return err
				}
				if changed {
					fmt.Fprintf(a.stdout, "draft %s saved\n", args[0])
				} else {
					fmt.Fprintf(a.stdout, "draft %s unchanged\n", args[0])
				}
				return nil
			})
		},
	}
}

// editor is $VISUAL, else $EDITOR, else vi.
func (a *app) editor() string {
	for _, k := range []string{"VISUAL", "EDITOR"} {
		if v := strings.TrimSpace(a.getenv(k)); v != "" {
			return v
		}
	}
	return "vi"
}

// runEditor runs the editor on path through the shell, as git does, so that
// EDITOR may carry arguments ("code --wait").
func (a *app) runEditor(ctx context.Context, path string) error {
	ed := a.editor()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", ed+` "$@"`, ed, path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = a.stdin, a.stdout, a.stderr
	// The editor is the user's own program: it gets the user's whole
	// environment (nvim, emacsclient and friends need theirs), with the
	// variables this command was given on top (tests set HOME and TMPDIR).
	env := os.Environ()
	for _, k := range []string{"PATH", "HOME", "TERM", "LANG", "LC_ALL", "DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "TMPDIR", "VISUAL", "EDITOR"} {
		if v := a.getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = env
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", ed, err)
	}
	return nil
}
