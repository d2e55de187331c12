package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// The two-process test re-runs this test binary as a worker.
const (
	workerEnv  = "COFFEECHAT_STORE_WORKER_DB"
	workerRuns = 200
)

func TestMain(m *testing.M) {
	if path := os.Getenv(workerEnv); path != "" {
		if err := worker(path); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// worker increments the "counter" row workerRuns times, each in its own
// immediate transaction (read, then write: a lost update would show).
func worker(path string) error {
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	for i := 0; i < workerRuns; i++ {
		err := db.Update(ctx, func(tx *Tx) error {
			var v string
			if err := tx.queryRow(ctx, `SELECT value FROM daemon_state WHERE key = 'counter'`).Scan(&v); err != nil {
				return err
			}
			n, _ := strconv.Atoi(v)
			_, err := tx.exec(ctx, `UPDATE daemon_state SET value = ? WHERE key = 'counter'`, strconv.Itoa(n+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("increment %d: %w", i, err)
		}
	}
	return nil
}

func openTest(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "coffeechat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateFromEmpty(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var v int
	if err := db.View(ctx, func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	}); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("schema version = %d, want %d", v, SchemaVersion())
	}
	for _, table := range []string{"contacts", "contact_emails", "connections", "asks", "messages", "review_items",
		"interviews", "checkpoints", "timeline", "steps", "daemon_state", "daemon_errors"} {
		if err := db.View(ctx, func(tx *Tx) error {
			_, err := tx.query(ctx, `SELECT * FROM `+table+` LIMIT 0`)
			return err
		}); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
	// Opening again applies nothing and keeps the data.
	db.Close()
	db2, err := Open(ctx, db.Path())
	if err != nil {
		t.Fatal(err)
	}
	db2.Close()
}

func TestMigrateFromEveryEarlierVersion(t *testing.T) {
	ctx := context.Background()
	real, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	// The real migrations plus a later one, applied step by step.
	full := fstest.MapFS{}
	for _, m := range real {
		full["migrations/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	next := real[len(real)-1].version + 1
	full[fmt.Sprintf("migrations/%04d_extra.sql", next)] = &fstest.MapFile{Data: []byte(`ALTER TABLE contacts ADD COLUMN extra TEXT NOT NULL DEFAULT 'x';`)}
	for upTo := 1; upTo <= len(real); upTo++ {
		path := filepath.Join(t.TempDir(), "db")
		prefix := fstest.MapFS{}
		for _, m := range real[:upTo] {
			prefix["migrations/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
		}
		w := mustWriter(t, path)
		if err := migrate(ctx, w, prefix, path); err != nil {
			t.Fatal(err)
		}
		if _, err := w.ExecContext(ctx, `INSERT INTO contacts (name, created_at, updated_at) VALUES ('Old', 'a', 'a')`); err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, w, full, path); err != nil {
			t.Fatalf("from version %d: %v", upTo, err)
		}
		var extra string
		if err := w.QueryRowContext(ctx, `SELECT extra FROM contacts WHERE name = 'Old'`).Scan(&extra); err != nil || extra != "x" {
			t.Fatalf("after migrating from %d: extra = %q, %v", upTo, extra, err)
		}
		w.Close()
	}
}

func TestNewerDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	path := db.Path()
	if err := db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (7, '0007_future.sql', 'x')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err := Open(ctx, path)
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open(newer) = %v, want ErrNewerSchema", err)
	}
	want := fmt.Sprintf("was written by a newer coffeechat (schema 7, this binary knows %d): upgrade coffeechat", SchemaVersion())
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open(newer) = %q, want it to say %q and name the file", err, want)
	}
}

func TestCorruptDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "coffeechat.db")
	junk := strings.Repeat("this is not sqlite at all. ", 400)
	if err := os.WriteFile(path, []byte(junk), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), path)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(junk) = %v, want ErrCorrupt", err)
	}
	if !strings.Contains(err.Error(), "restore a backup") {
		t.Fatalf("Open(junk) = %q, want advice", err)
	}
	if b, _ := os.ReadFile(path); string(b) != junk {
		t.Fatal("Open(junk) changed the file")
	}
}

func TestLockedDatabase(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	other, err := open(ctx, db.Path(), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	hold := make(chan struct{})
	held := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		db.Update(ctx, func(tx *Tx) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	err = other.Update(ctx, func(tx *Tx) error { return nil })
	close(hold)
	wg.Wait()
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("second writer while the first holds the lock = %v, want ErrLocked with advice", err)
	}
}

func TestTwoProcessesNoLostUpdate(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	if err := db.Update(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO daemon_state (key, value, updated_at) VALUES ('counter', '0', 'x')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var cmds []*exec.Cmd
	var outs []*strings.Builder
	for i := 0; i < 2; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), workerEnv+"="+db.Path())
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, outs = append(cmds, cmd), append(outs, &out)
	}
	// This process writes too, through the same DB API.
	if err := worker(db.Path()); err != nil {
		t.Fatal(err)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s", i, err, outs[i])
		}
	}
	var v string
	if err := db.View(ctx, func(tx *Tx) error {
		return tx.queryRow(ctx, `SELECT value FROM daemon_state WHERE key = 'counter'`).Scan(&v)
	}); err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(3 * workerRuns); v != want {
		t.Fatalf("counter = %s after 3×%d increments, want %s (lost updates)", v, workerRuns, want)
	}
}

func mustWriter(t *testing.T, path string) *sql.DB {
	t.Helper()
	w, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	return w
}
