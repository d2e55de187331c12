package calendar

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDirWrite(t *testing.T) {
	d := Dir{Path: filepath.Join(t.TempDir(), "calendar")}
	ev := sampleEvent()
	if err := d.Write(ev); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := filepath.Base(d.File(ev.UID)); got != ev.UID+".ics" {
		t.Errorf("File(%q) = %q", ev.UID, got)
	}

	// An update replaces the same file.
	ev.Sequence = 1
	ev.Start = ev.Start.Add(24 * 60 * 60 * 1e9)
	ev.End = ev.End.Add(24 * 60 * 60 * 1e9)
	if err := d.Write(ev); err != nil {
		t.Fatalf("Write(update): %v", err)
	}
	got, err := d.Read(ev.UID)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got.Sequence != 1 || !got.Start.Equal(ev.Start) || got.Status != StatusConfirmed {
		t.Errorf("Read after update = seq %d start %v status %q", got.Sequence, got.Start, got.Status)
	}

	// A cancelled event is kept, marked cancelled.
	ev.Sequence = 2
	ev.Status = StatusCancelled
	if err := d.Write(ev); err != nil {
		t.Fatalf("Write(cancel): %v", err)
	}
	got, err = d.Read(ev.UID)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if got.Status != StatusCancelled || got.Sequence != 2 {
		t.Errorf("Read after cancel = status %q seq %d", got.Status, got.Sequence)
	}
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want one file", names)
	}
	raw, _ := os.ReadFile(d.File(ev.UID))
	if strings.Contains(string(raw), "METHOD") {
		t.Errorf("stored copy has a METHOD")
	}
}

func TestDirFileNames(t *testing.T) {
	d := Dir{Path: "/cal"}
	seen := map[string]string{}
	for _, uid := range []string{"../../etc/passwd", "a/b", "a_b", "a b", ".hidden", "x:y", strings.Repeat("u", 300), "040000008200E00074C5B7101A82E008@x"} {
		p := d.File(uid)
		if filepath.Dir(p) != "/cal" {
			t.Errorf("File(%q) = %q escapes the folder", uid, p)
		}
		base := filepath.Base(p)
		if strings.HasPrefix(base, ".") || len(base) > 130 || strings.ContainsAny(base, "/: ") {
			t.Errorf("File(%q) = %q is not a safe name", uid, base)
		}
		if other, dup := seen[base]; dup {
			t.Errorf("UIDs %q and %q share file %q", uid, other, base)
		}
		seen[base] = uid
	}
	if err := (Dir{}).Write(sampleEvent()); err == nil {
		t.Errorf("Write with no folder gave no error")
	}
}
