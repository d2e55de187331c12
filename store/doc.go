// Package store keeps coffeechat's state in SQLite: contacts and who knows whom,
// asks and their timeline, every message sent and every reply that belongs to an
// ask, review items, interviews and the inbox checkpoints. One writer connection
// (immediate transactions) and a pool of readers; migrations are embedded.
package store
