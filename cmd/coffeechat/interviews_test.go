package main

import "testing"

// TestInterviewChangeErrors: move, cancel and schedule name what is wrong
// and what to try, each with its own advice.
func TestInterviewChangeErrors(t *testing.T) {
	e := initEnv(t)
	for _, c := range []struct {
		want string
		args []string
	}{
		{`"x" is not an interview number`, []string{"interview", "cancel", "x"}},
		{"Try: coffeechat interviews", []string{"interview", "move", "0", "--to", "2026-12-08 14:00"}},
		{"Try: coffeechat interview move ID --to", []string{"interview", "move", "1", "--to", "someday"}},
		{"see `coffeechat interviews`", []string{"interview", "cancel", "7"}},
		{"Try: coffeechat asks --state agreed", []string{"interview", "schedule", "abc", "--at", "2026-12-08 14:00"}},
		{"Try: coffeechat interview schedule ASK --at", []string{"interview", "schedule", "1", "--at", "someday"}},
		{"Try: coffeechat queue", []string{"interview", "schedule", "5", "--at", "2026-12-08 14:00"}},
		{`"abc" is not an ask number`, []string{"timeline", "abc"}},
	} {
		e.fails(c.want, c.args...)
	}
}
