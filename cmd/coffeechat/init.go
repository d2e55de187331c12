package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	coffeechat "github.com/coffeechat/coffeechat"
	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/mailer"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

func (a *app) initCmd() *cobra.Command {
	var name, email string
	var writeTemplates bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the config, the templates folder and the database (never overwrites)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := mailer.CheckHeader("--name", name); err != nil {
				return err
			}
			if email != "" {
				addr, err := mailer.ParseAddress("--email", email)
				if err != nil {
					return err
				}
				email = addr.Address
			}
			path, err := a.cfgPath()
			if err != nil {
				return err
			}
			out := a.stdout
			// 1. The config.
			if _, err := os.Stat(path); err == nil {
				fmt.Fprintf(out, "config      %s exists: left as it is\n", path)
				if name != "" || email != "" {
					fmt.Fprintf(out, "            (--name/--email not applied: edit the file to change them)\n")
				}
			} else if errors.Is(err, fs.ErrNotExist) {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					return fmt.Errorf("create config folder: %w", err)
				}
				text := fillAccount(string(coffeechat.ExampleConfig), name, email)
				if err := writeNew(path, []byte(text), 0o600); err != nil {
					return err
				}
				fmt.Fprintf(out, "config      %s written\n", path)
			} else {
				return err
			}
			cfg, err := a.env().Load(path)
			if err != nil {
				return withHint(fmt.Errorf("config: %w", err), "fix the file, then run `coffeechat init` again")
			}
			// 2. The templates folder.
			dir := a.templatesDir(path)
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("create templates folder: %w", err)
			}
			readme := filepath.Join(dir, "README.txt")
			if err := writeNew(readme, []byte(outreach.TemplatesReadme), 0o644); err == nil {
				fmt.Fprintf(out, "templates   %s created (README.txt explains them)\n", dir)
			} else if errors.Is(err, fs.ErrExist) {
				fmt.Fprintf(out, "templates   %s exists: left as it is\n", dir)
			} else {
				return err
			}
			if writeTemplates {
				for _, n := range outreach.TemplateNames {
					b, err := outreach.DefaultTemplate(n)
					if err != nil {
						return err
					}
					p := filepath.Join(dir, n+".tmpl")
					switch err := writeNew(p, b, 0o644); {
					case err == nil:
						fmt.Fprintf(out, "            %s written\n", filepath.Base(p))
					case errors.Is(err, fs.ErrExist):
						fmt.Fprintf(out, "            %s exists: left as it is\n", filepath.Base(p))
					default:
						return err
					}
				}
			}
			if _, err := outreach.LoadTemplates(dir); err != nil {
				return withHint(err, "fix the template, or move it out of "+dir)
			}
			// 3. The database.
			dbPath, err := cfg.DBPath()
			if err != nil {
				return err
			}
			_, statErr := os.Stat(dbPath)
			db, err := store.Open(ctx, dbPath)
			if err != nil {
				return err
			}
			db.Close()
			if statErr == nil {
				fmt.Fprintf(out, "database    %s exists: schema up to date\n", dbPath)
			} else {
				fmt.Fprintf(out, "database    %s created\n", dbPath)
			}
			fmt.Fprint(out, nextSteps(path, cfg))
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "your name, for account.name")
	cmd.Flags().StringVar(&email, "email", "", "your address, for account.email")
	cmd.Flags().BoolVar(&writeTemplates, "write-templates", false, "copy the built-in templates into the templates folder for editing")
	return cmd
}

// writeNew creates path with data, failing with fs.ErrExist if it exists.
func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\t", `\t`).Replace(s) + `"`
}

var (
	accountName  = regexp.MustCompile(`(?m)^name = "" *`)
	accountEmail = regexp.MustCompile(`(?m)^email = "" *`)
)

// fillAccount puts the user's name and address into the example config: the
// first name and email keys, those of [account].
func fillAccount(text, name, email string) string {
	replaceFirst := func(re *regexp.Regexp, s, key, v string) string {
		loc := re.FindStringIndex(s)
		if loc == nil {
			return s
		}
		// Keep the comment that follows in its column when the value fits.
		kv := key + " = " + tomlString(v)
		if pad := loc[1] - loc[0] - len(kv); pad > 0 {
			kv += strings.Repeat(" ", pad)
		} else if loc[1] < len(s) && s[loc[1]] == '#' {
			kv += " "
		}
		return s[:loc[0]] + kv + s[loc[1]:]
	}
	if name != "" {
		text = replaceFirst(accountName, text, "name", name)
	}
	if email != "" {
		text = replaceFirst(accountEmail, text, "email", email)
	}
	return text
}

func nextSteps(cfgPath string, cfg *config.Config) string {
	var b strings.Builder
	b.WriteString("\nNext steps:\n")
	n := 1
	step := func(format string, args ...any) {
		fmt.Fprintf(&b, "  %d. "+format+"\n", append([]any{n}, args...)...)
		n++
	}
	if cfg.Account.Name == "" || cfg.Account.Email == "" {
		step("Set your name and address in [account] of %s", cfgPath)
	}
	step("Fill in [smtp] and [imap] in %s (a password_cmd such as \"pass show mail\" keeps the password out of the file)", cfgPath)
	step("Check everything: coffeechat doctor")
	// Steps 4 to 6 are a script that works as typed, in order: every name
	// is added before it is used (a test runs them).
	step("Add the people you know and the people you want to meet:\n" +
		"       coffeechat contact add Dad --email dad@example.com\n" +
		"       coffeechat contact add \"Jane Doe\" --email jane@example.com --org Acme\n" +
		"     (or import them: contact import Connections.csv, a Google CSV or a .vcf)")
	step("Say who knows whom:\n" +
		"       coffeechat contact link Dad Jane --note \"plays tennis with Dad\"")
	step("Ask Dad to introduce you to Jane, or ask Jane directly:\n" +
		"       coffeechat ask intro --via Dad --to Jane\n" +
		"       coffeechat ask interview --to Jane")
	step("Review the drafts: coffeechat queue, show ID, edit ID, approve ID")
	step("Start the daemon: coffeechat run\n" +
		"     (as a service: a systemd user unit with ExecStart=coffeechat run, then\n" +
		"      systemctl --user enable --now coffeechat; on macOS a launchd agent)")
	return b.String()
}
