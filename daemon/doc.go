// Package daemon runs coffeechat in the background: the sender, the inbox
// watcher, the scheduler and the calendar sync under one errgroup, with a lock
// per database, config reload on SIGHUP and a two-phase shutdown.
package daemon
