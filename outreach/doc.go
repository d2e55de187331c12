// Package outreach is the workflow that ties coffeechat together: asks and their
// states, the templates that draft each email, the approval queue, applying what
// the inbox read to the right ask, invites, and the schedule of follow-ups and
// thank-you notes.
package outreach
