package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked is returned by Lock when another daemon holds the database.
var ErrLocked = errors.New("another coffeechat run holds the database")

// LockError names the process that holds the lock.
type LockError struct {
	Path string
	PID  int
}

func (e *LockError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%v (PID %d, lock %s): stop it first, or use another store.path", ErrLocked, e.PID, e.Path)
	}
	return fmt.Sprintf("%v (lock %s): stop it first, or use another store.path", ErrLocked, e.Path)
}

func (e *LockError) Unwrap() error { return ErrLocked }

// Lock is an exclusive flock(2) on a file beside the database, holding the
// owner's PID. The kernel drops it when the process dies, so a crashed daemon
// never leaves a stale lock behind.
type Lock struct {
	f *os.File
}

// LockPath is the lock file for the database at dbPath.
func LockPath(dbPath string) string { return dbPath + ".lock" }

// Acquire takes the lock for dbPath or returns a *LockError naming the holder.
func Acquire(dbPath string) (*Lock, error) {
	path := LockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := readPID(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", path, err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("write lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close()
	l.f = nil
	return err
}

// Holder reports the PID of the running daemon for dbPath, or 0 when none
// runs. It takes the lock for an instant to tell a live holder from a stale
// file.
func Holder(dbPath string) (int, error) {
	path := LockPath(dbPath)
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("open lock %s: %w", path, err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, nil
	}
	return readPID(f)
}

func readPID(f *os.File) (int, error) {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		return 0, fmt.Errorf("read lock pid: %w", err)
	}
	return pid, nil
}
