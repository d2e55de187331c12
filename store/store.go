package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"
)

// Errors callers test with errors.Is.
var (
	ErrNotFound     = errors.New("not found")
	ErrNewerSchema  = errors.New("database written by a newer coffeechat")
	ErrCorrupt      = errors.New("database damaged or not a coffeechat database")
	ErrLocked       = errors.New("database locked")
	ErrStateChanged = errors.New("state changed meanwhile")
	ErrExists       = errors.New("already exists")
)

// DB is the coffeechat database: one writer connection for immediate
// transactions (Update) and a read-only pool (View).
type DB struct {
	path string
	w    *sql.DB
	r    *sql.DB

	// Now is the clock used for every timestamp the store writes.
	Now func() time.Time
}

// Tx is one transaction. Every domain method lives on *Tx so a caller can
// compose several in one transaction.
type Tx struct {
	tx  *sql.Tx
	now time.Time
	db  *DB
}

// Now is the time of the transaction (DB.Now when it began), so every row a
// transaction writes carries the same instant.
func (tx *Tx) Now() time.Time { return tx.now }

// dsn builds the go-sqlite3 DSN of LIBRARIES.md for path.
func dsn(path string, readOnly bool) string { return dsnWait(path, readOnly, busyTimeout) }

// busyTimeout is how long a writer waits for another one, in milliseconds.
const busyTimeout = 10000

// stmtCacheSize is how many prepared statements each connection keeps
// (go-sqlite3's _stmt_cache_size): preparing costs more than running most
// of our queries. A statement in use is out of the cache, so a query nested
// in the rows of the same one prepares its own.
const stmtCacheSize = 128

func dsnWait(path string, readOnly bool, waitMS int) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	q := fmt.Sprintf("_journal_mode=WAL&_busy_timeout=%d&_foreign_keys=on&_synchronous=NORMAL&_stmt_cache_size=%d", waitMS, stmtCacheSize)
	if readOnly {
		return "file:" + esc + "?" + q + "&_txlock=deferred&mode=ro"
	}
	return "file:" + esc + "?" + q + "&_txlock=immediate"
}

// Open opens (creating if needed) the database at path, its folder included,
// and brings its schema up to date.
func Open(ctx context.Context, path string) (*DB, error) { return open(ctx, path, busyTimeout) }

func open(ctx context.Context, path string, waitMS int) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	w, err := sql.Open("sqlite3", dsnWait(path, false, waitMS))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{path: path, w: w, Now: time.Now}
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, db.explain("open", err)
	}
	if err := migrate(ctx, w, migrationFS, path); err != nil {
		w.Close()
		return nil, db.explain("migrate", err)
	}
	r, err := sql.Open("sqlite3", dsnWait(path, true, waitMS))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	db.r = r
	return db, nil
}

// Path is the database file.
func (db *DB) Path() string { return db.path }

// Close closes both pools.
func (db *DB) Close() error {
	err := db.w.Close()
	if db.r != nil {
		if e := db.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Update runs fn in an immediate (writing) transaction, committing when fn
// returns nil and rolling back otherwise.
func (db *DB) Update(ctx context.Context, fn func(tx *Tx) error) error {
	return db.run(ctx, db.w, false, fn)
}

// View runs fn in a read-only transaction on the reader pool.
func (db *DB) View(ctx context.Context, fn func(tx *Tx) error) error {
	return db.run(ctx, db.r, true, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, ro bool, fn func(tx *Tx) error) error {
	stx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return db.explain("begin", err)
	}
	tx := &Tx{tx: stx, now: db.Now().UTC(), db: db}
	if err := fn(tx); err != nil {
		stx.Rollback()
		return db.explainDB(err)
	}
	if ro {
		return stx.Rollback()
	}
	if err := stx.Commit(); err != nil {
		return db.explain("commit", err)
	}
	return nil
}

// explainDB maps SQLite's locked and corrupt errors, leaving others as they are.
func (db *DB) explainDB(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return fmt.Errorf("%w: %s is in use by another process that kept it locked too long (is another coffeechat busy?): try again in a moment: %v", ErrLocked, db.path, err)
		case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
			return fmt.Errorf("%w: %s (%v): move the file aside and restore a backup, or run `coffeechat init` for a fresh one", ErrCorrupt, db.path, err)
		case sqlite3.ErrCantOpen, sqlite3.ErrPerm, sqlite3.ErrReadonly:
			return fmt.Errorf("database %s cannot be opened for writing (%v): check the file and folder permissions", db.path, err)
		}
	}
	return err
}

func (db *DB) explain(op string, err error) error {
	e := db.explainDB(err)
	if e != err || errors.Is(err, ErrNewerSchema) {
		return e
	}
	return fmt.Errorf("%s database %s: %w", op, db.path, err)
}

// Time encoding: fixed-width RFC 3339 UTC text, so that text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime is how the store writes a time.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime writes the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return FormatTime(t)
}

// parseTime reads a stored time; NULL and "" give the zero time.
func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid || s.String == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s.String, err)
	}
	return t.UTC(), nil
}

// exec and query helpers keep the domain files short.
func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.tx.ExecContext(ctx, q, args...)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.tx.QueryContext(ctx, q, args...)
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.tx.QueryRowContext(ctx, q, args...)
}

// isUnique reports a UNIQUE or PRIMARY KEY constraint violation.
func isUnique(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && (se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey)
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryRows runs q and reads each row with scan; what names the list in
// the error of a failed query.
func queryRows[T any](ctx context.Context, tx *Tx, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// querySet runs q, a query of one column, and returns its values as a set.
func querySet[T comparable](ctx context.Context, tx *Tx, what string, q string, args ...any) (map[T]bool, error) {
	vs, err := queryRows(ctx, tx, what, scanOne[T], q, args...)
	if err != nil {
		return nil, err
	}
	out := make(map[T]bool, len(vs))
	for _, v := range vs {
		out[v] = true
	}
	return out, nil
}

// scanOne reads a row of one column.
func scanOne[T any](s scanner) (T, error) {
	var v T
	err := s.Scan(&v)
	return v, err
}
