package daemon

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLockHeldByAnotherProcess takes the lock in a child process and checks
// that a second Acquire names the child's PID, and that the lock is free again
// once the child is killed.
func TestLockHeldByAnotherProcess(t *testing.T) {
	if os.Getenv("COFFEECHAT_LOCK_CHILD") != "" {
		l, err := Acquire(os.Getenv("COFFEECHAT_LOCK_CHILD"))
		if err != nil {
			os.Exit(3)
		}
		defer l.Release()
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		return
	}
	db := filepath.Join(t.TempDir(), "x.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHeldByAnotherProcess$")
	cmd.Env = append(os.Environ(), "COFFEECHAT_LOCK_CHILD="+db)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || !strings.HasPrefix(string(buf), "locked") {
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	_, err = Acquire(db)
	var le *LockError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("Acquire while held = %v, want LockError naming PID %d", err, cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error %q does not name the PID", err)
	}
	if pid, err := Holder(db); err != nil || pid != cmd.Process.Pid {
		t.Errorf("Holder = %d, %v; want %d", pid, err, cmd.Process.Pid)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	l, err := Acquire(db)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	if pid, _ := Holder(db); pid != 0 {
		// Holder takes a shared lock; our own exclusive lock is held by this
		// process through another descriptor, so it reports us.
		if pid != os.Getpid() {
			t.Errorf("Holder = %d, want 0 or our PID", pid)
		}
	}
	l.Release()
	if pid, err := Holder(db); err != nil || pid != 0 {
		t.Errorf("Holder after release = %d, %v; want 0", pid, err)
	}
}
