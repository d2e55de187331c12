// Command coffeechat runs a person's networking outreach for informational
// interviews through their own email account. See PRODUCT.md for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		printError(os.Stderr, err)
		os.Exit(1)
	}
}

// hintError carries a "Try: ..." line for the user.
type hintError struct {
	err  error
	hint string
}

func (e *hintError) Error() string { return e.err.Error() }
func (e *hintError) Unwrap() error { return e.err }

// withHint attaches a hint to err (nil stays nil).
func withHint(err error, hint string) error {
	if err == nil {
		return nil
	}
	return &hintError{err: err, hint: hint}
}

// printError writes "Error: ..." and, when known, "Try: ...".
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "Error: %v\n", err)
	var h *hintError
	// A hint the message already gives ("see `coffeechat queue`") is not repeated.
	if errors.As(err, &h) && h.hint != "" && !strings.Contains(err.Error(), "`"+h.hint+"`") {
		fmt.Fprintf(w, "Try: %s\n", h.hint)
	}
}
