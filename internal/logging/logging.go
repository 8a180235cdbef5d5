// Package logging builds the programs' slog loggers from their
// configuration: text or JSON, a minimum level, on standard error.
package logging

import (
	"io"
	"log/slog"

	"mailtokens/internal/taskconf"
)

// New returns a logger writing to w as the configuration says.
func New(cfg taskconf.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	if cfg.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Discard is a logger that drops everything, for tests and embedding.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
