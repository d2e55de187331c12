package inbox

import "context"

// Examine opens mailbox read-only (EXAMINE) and returns how many messages it
// holds and its UIDVALIDITY (for `coffeechat doctor`).
func (c *Conn) Examine(ctx context.Context, mailbox string) (messages, uidValidity uint32, err error) {
	d, err := c.examine(ctx, mailbox)
	if err != nil {
		return 0, 0, err
	}
	return d.NumMessages, d.UIDValidity, nil
}
