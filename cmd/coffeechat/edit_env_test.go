package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEditorGetsTheUsersEnvironment: the editor is the user's own program and
// must see the whole environment (nvim, emacsclient and others need theirs),
// with the variables given to the command on top.
func TestEditorGetsTheUsersEnvironment(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "editor.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s|%s' \"$COFFEECHAT_EDITOR_PROBE\" \"$HOME\" > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COFFEECHAT_EDITOR_PROBE", "from-the-process")
	vars := map[string]string{"EDITOR": script, "HOME": dir}
	a := &app{getenv: func(k string) string { return vars[k] }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard}
	file := filepath.Join(dir, "draft.txt")
	if err := a.runEditor(t.Context(), file); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "from-the-process|" + dir; string(got) != want {
		t.Errorf("the editor saw %q, want %q (process environment plus the command's HOME)", got, want)
	}
}
