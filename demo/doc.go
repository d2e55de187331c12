// Package demo plays the whole coffeechat story against the in-process sandbox,
// with simulated people who answer by email the way people do.
package demo
