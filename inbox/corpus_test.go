package inbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// corpusExpect is what a careful person reads in one fixture message.
type corpusExpect struct {
	Kind            Kind     `json:"kind"`
	ReturnDate      *string  `json:"return_date"`
	BounceOriginal  *string  `json:"bounce_original"`
	BounceRcpts     []string `json:"bounce_recipients"`
	NewTextContains []string `json:"new_text_contains"`
	NewTextExcludes []string `json:"new_text_excludes"`
	Mentioned       []string `json:"mentioned"`
	Intent          *string  `json:"intent"`
	Time            *string  `json:"time"`
	Slots           []string `json:"slots"`
	TZ              string   `json:"tz"`
}

const corpusDir = "testdata/mail"

func loadCorpus(t testing.TB) map[string]corpusExpect {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "expect.json"))
	if err != nil {
		t.Fatalf("read expectations: %v", err)
	}
	var exp map[string]corpusExpect
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatalf("parse expect.json: %v", err)
	}
	return exp
}

// TestCorpus reads every fixture message and compares each field with what a
// person reads in it; it prints the accuracy per field and fails on any miss.
func TestCorpus(t *testing.T) {
	exp := loadCorpus(t)
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.eml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 60 {
		t.Errorf("corpus has %d messages, want at least 60", len(files))
	}
	for _, f := range files {
		if _, ok := exp[filepath.Base(f)]; !ok {
			t.Errorf("%s has no entry in expect.json", f)
		}
	}
	fields := []string{"kind", "return_date", "bounce", "new_text", "mentioned", "intent", "time"}
	total := map[string]int{}
	ok := map[string]int{}
	var misses []string
	check := func(name, field string, good bool, format string, args ...any) {
		total[field]++
		if good {
			ok[field]++
			return
		}
		misses = append(misses, fmt.Sprintf("%s: %s: %s", name, field, fmt.Sprintf(format, args...)))
	}
	names := make([]string, 0, len(exp))
	for n := range exp {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		e := exp[name]
		raw, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		loc, err := time.LoadLocation(e.TZ)
		if err != nil {
			t.Fatalf("%s: zone %q: %v", name, e.TZ, err)
		}
		m, err := Read(raw, ReadOptions{Loc: loc})
		if err != nil {
			t.Errorf("Read(%s) = %v", name, err)
			continue
		}
		kind := m.Kind()
		check(name, "kind", kind == e.Kind, "Kind() = %q, want %q", kind, e.Kind)

		var gotReturn *string
		if m.Auto != nil && !m.Auto.ReturnDate.IsZero() {
			s := m.Auto.ReturnDate.In(loc).Format(time.DateOnly)
			gotReturn = &s
		}
		check(name, "return_date", eqPtr(gotReturn, e.ReturnDate), "return date = %s, want %s", show(gotReturn), show(e.ReturnDate))

		var gotOrig *string
		var gotRcpts []string
		if m.Bounce != nil {
			s := m.Bounce.OriginalMessageID
			gotOrig = &s
			for _, r := range m.Bounce.Recipients {
				gotRcpts = append(gotRcpts, strings.ToLower(r.Address))
			}
		}
		check(name, "bounce", eqPtr(gotOrig, e.BounceOriginal) && strings.Join(gotRcpts, ",") == strings.Join(e.BounceRcpts, ","),
			"bounce original = %s, recipients %v, want %s, %v", show(gotOrig), gotRcpts, show(e.BounceOriginal), e.BounceRcpts)

		var textMiss []string
		for _, s := range e.NewTextContains {
			if !strings.Contains(m.NewText, s) {
				textMiss = append(textMiss, fmt.Sprintf("lacks %q", s))
			}
		}
		for _, s := range e.NewTextExcludes {
			if strings.Contains(m.NewText, s) {
				textMiss = append(textMiss, fmt.Sprintf("has %q", s))
			}
		}
		check(name, "new_text", len(textMiss) == 0, "%s; NewText = %q", strings.Join(textMiss, ", "), m.NewText)

		var got []string
		for _, a := range m.Mentioned {
			got = append(got, strings.ToLower(a.Address))
		}
		want := append([]string(nil), e.Mentioned...)
		sort.Strings(got)
		sort.Strings(want)
		check(name, "mentioned", strings.Join(got, ",") == strings.Join(want, ","), "Mentioned = %v, want %v", got, want)

		if kind != KindReply || e.Intent == nil {
			continue
		}
		var slots []time.Time
		for _, s := range e.Slots {
			st, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Fatalf("%s: slot %q: %v", name, s, err)
			}
			slots = append(slots, st)
		}
		u := Understand(m.NewText, m.Date, loc, slots)
		check(name, "intent", string(u.Intent) == *e.Intent, "Understand(%q).Intent = %q, want %q (%s)", m.NewText, u.Intent, *e.Intent, u.Reason)
		var wantTime *time.Time
		if e.Time != nil {
			wt, err := time.Parse(time.RFC3339, *e.Time)
			if err != nil {
				t.Fatalf("%s: time %q: %v", name, *e.Time, err)
			}
			wantTime = &wt
		}
		timeOK := wantTime == nil && u.Time == nil || wantTime != nil && u.Time != nil && u.Time.Equal(*wantTime)
		check(name, "time", timeOK, "Understand(%q).Time = %s, want %s", m.NewText, showTime(u.Time), showTime(wantTime))
	}
	for _, f := range fields {
		if total[f] == 0 {
			continue
		}
		t.Logf("%-12s %3d/%3d  %5.1f%%", f, ok[f], total[f], 100*float64(ok[f])/float64(total[f]))
	}
	for _, miss := range misses {
		t.Error(miss)
	}
}

func eqPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

func showTime(t *time.Time) string {
	if t == nil {
		return "null"
	}
	return t.Format(time.RFC3339)
}
