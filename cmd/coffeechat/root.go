package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coffeechat/coffeechat/config"
	"github.com/coffeechat/coffeechat/outreach"
	"github.com/coffeechat/coffeechat/store"
)

// app is one invocation: where it reads and writes, and the global flags.
type app struct {
	getenv     func(string) string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	configPath string
	now        func() time.Time // the clock of this run (clock.go); use a.clock()
}

// clock is the now func every command and the daemon use (see clock.go).
func (a *app) clock() func() time.Time {
	if a.now == nil {
		a.now = newClock(a.getenv)
	}
	return a.now
}

// run parses args and runs one command. Every lookup of the environment goes
// through getenv, so tests run with their own HOME and XDG folders.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err != nil {
		var h *hintError
		if !errors.As(err, &h) && isUsageError(err) {
			return withHint(err, fmt.Sprintf("coffeechat %s --help", strings.TrimPrefix(cmd.CommandPath(), "coffeechat ")))
		}
	}
	return err
}

// isUsageError tells cobra's flag and argument errors from the commands' own.
func isUsageError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"unknown flag", "unknown shorthand", "unknown command", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "required flag", "arg(s)"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "coffeechat",
		Short:         "Networking outreach for informational interviews, through your own email",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.PersistentFlags().StringVar(&a.configPath, "config", "", "config file (default $XDG_CONFIG_HOME/coffeechat/config.toml)")
	root.AddCommand(a.initCmd(), a.contactCmd(), a.askCmd(), a.asksCmd(), a.timelineCmd(),
		a.queueCmd(), a.showCmd(), a.editCmd(), a.approveCmd(), a.rejectCmd(), a.runCmd(),
		a.interviewsCmd(), a.interviewCmd(), a.explainCmd(), a.demoCmd())
	root.AddCommand(a.statusCmd(), a.doctorCmd())
	return root
}

// env is the getenv of this run as a config.Env.
func (a *app) env() config.Env { return config.Env(a.getenv) }

// cfgPath is --config or the default path.
func (a *app) cfgPath() (string, error) {
	if a.configPath != "" {
		return a.configPath, nil
	}
	p, err := a.env().DefaultPath()
	if err != nil {
		return "", withHint(fmt.Errorf("find the config: %w", err), "coffeechat --config PATH ...")
	}
	return p, nil
}

// templatesDir is the "templates" folder beside the config file.
func (a *app) templatesDir(cfgPath string) string {
	return filepath.Join(filepath.Dir(cfgPath), "templates")
}

// existingDB is cfg's database path (store.path or its default), which
// `coffeechat init` must have created.
func existingDB(cfg *config.Config) (string, error) {
	p, err := cfg.DBPath()
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return "", withHint(fmt.Errorf("no database at %s", p), "coffeechat init")
	}
	return p, nil
}

// loadConfig reads the config, with advice when it is missing.
func (a *app) loadConfig() (*config.Config, string, error) {
	path, err := a.cfgPath()
	if err != nil {
		return nil, "", err
	}
	cfg, err := a.env().Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", withHint(fmt.Errorf("no config at %s", path), "coffeechat init --name \"Your Name\" --email you@example.com")
	}
	if err != nil {
		return nil, "", withHint(fmt.Errorf("config: %w", err), "fix the file, then run the command again")
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(a.stderr, "Warning: %s\n", w)
	}
	return cfg, path, nil
}

// open loads the config, the templates and the database.
func (a *app) open(ctx context.Context) (*outreach.Outreach, func(), error) {
	cfg, path, err := a.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	dbPath, err := existingDB(cfg)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		return nil, nil, err
	}
	logger, err := config.NewLogger(a.stderr, cfg.Log)
	if err != nil {
		logger = slog.New(slog.NewTextHandler(a.stderr, nil))
	}
	// Commands talk to the user on stdout; only warnings and errors go to the log.
	logger = slog.New(levelFilter{logger.Handler(), slog.LevelWarn})
	db.Now = a.clock()
	o, err := a.newOutreach(db, cfg, path, logger)
	if err != nil {
		db.Close()
		return nil, nil, withHint(err, "fix the template, or move it out of "+a.templatesDir(path)+" to use the built-in one")
	}
	return o, func() { db.Close() }, nil
}

// newOutreach is the Outreach of the config at path over db, with the
// templates beside the config, this run's clock and every review action.
func (a *app) newOutreach(db *store.DB, cfg *config.Config, path string, log *slog.Logger) (*outreach.Outreach, error) {
	tmpl, err := outreach.LoadTemplates(a.templatesDir(path))
	if err != nil {
		return nil, err
	}
	o := outreach.New(db, cfg, tmpl, log)
	o.Now = a.clock()
	o.RegisterSendReviews()
	o.RegisterCalendarReviews()
	o.RegisterScheduleReviews()
	return o, nil
}

// levelFilter drops records below min.
type levelFilter struct {
	slog.Handler
	min slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.Handler.Enabled(ctx, l)
}

// printJSON writes v as indented JSON on stdout.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "Jane Doe <jane@...>", not \u003c: read by people and jq alike
	return enc.Encode(v)
}

// withOutreach opens the config, the templates and the database, runs f
// with them, and closes them: the body of every command that needs them.
func (a *app) withOutreach(ctx context.Context, f func(o *outreach.Outreach) error) error {
	o, done, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer done()
	return f(o)
}

// printJSONList writes rows as a JSON array on stdout: none is [], not null.
func printJSONList[T any](a *app, rows []T) error {
	if rows == nil {
		rows = []T{}
	}
	return a.printJSON(rows)
}

// newTable is an aligned table on w with its tab-separated header written;
// Flush it after the rows.
func newTable(w io.Writer, header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}
