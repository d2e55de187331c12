// Package contacts reads address books people already have: LinkedIn's
// Connections.csv, a Google Contacts CSV export and vCard files. It only parses;
// merging into the database is the workflow's job.
package contacts
