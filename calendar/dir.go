package calendar

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Dir is the user's own calendar as a folder of .ics files, one per event
// UID, which calendar programs can import or watch.
type Dir struct{ Path string }

// maxNameLen bounds the UID part of a file name.
const maxNameLen = 100

// fileName is the file name for a UID: the UID itself when it is made of
// safe characters, else a sanitised form with a hash of the UID, so that two
// UIDs never share a file.
func fileName(uid string) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '_', r == '.', r == '@', r == '+':
			return r
		}
		return '_'
	}, uid)
	safe = strings.TrimLeft(safe, ".")
	if safe != uid || len(safe) > maxNameLen || safe == "" {
		sum := sha256.Sum256([]byte(uid))
		if len(safe) > maxNameLen {
			safe = safe[:maxNameLen]
		}
		safe += "-" + hex.EncodeToString(sum[:6])
	}
	return safe + ".ics"
}

// File returns the file that holds the event with this UID. (The brief
// named it Path, which Go forbids beside the Path field.)
func (d Dir) File(uid string) string {
	return filepath.Join(d.Path, fileName(uid))
}

// Write stores the user's copy of the event (see Publish), replacing the
// file of the same UID atomically (a temp file renamed over it). A
// cancelled event is kept, with STATUS:CANCELLED.
func (d Dir) Write(ev Event) error {
	if d.Path == "" {
		return errors.New("write event: no calendar folder")
	}
	data, err := Publish(ev)
	if err != nil {
		return fmt.Errorf("write event: %w", err)
	}
	if err := os.MkdirAll(d.Path, 0o700); err != nil {
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	final := d.File(ev.UID)
	tmp, err := os.CreateTemp(d.Path, ".tmp-*.ics")
	if err != nil {
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("write event %s: %w", ev.UID, err)
	}
	if dir, err := os.Open(d.Path); err == nil {
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Read returns the stored event with this UID.
func (d Dir) Read(uid string) (Event, error) {
	data, err := os.ReadFile(d.File(uid))
	if err != nil {
		return Event{}, fmt.Errorf("read event %s: %w", uid, err)
	}
	msg, err := Parse(data)
	if err != nil {
		return Event{}, fmt.Errorf("read event %s: %w", uid, err)
	}
	for _, ev := range msg.Events {
		if ev.UID == uid {
			return ev, nil
		}
	}
	return Event{}, fmt.Errorf("read event %s: not in %s", uid, d.File(uid))
}
