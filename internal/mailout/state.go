package mailout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// retryState is what batchmail remembers about a message that is still
// queued after an attempt: new/.NAME.state, JSON, replaced atomically after
// every attempt that did not finish the message, and removed with it.
type retryState struct {
	// Attempts counts the transactions that ended without finishing the
	// message.
	Attempts int `json:"attempts"`
	// FirstAttempt and LastAttempt are when the first and the latest of
	// them ended.
	FirstAttempt time.Time `json:"first_attempt"`
	LastAttempt  time.Time `json:"last_attempt"`
	// NextAttempt is when the message is due again.
	NextAttempt time.Time `json:"next_attempt"`
	// LastReply is the server's reply (or the network error) that ended
	// the latest attempt.
	LastReply string `json:"last_reply"`
	// Delivered are the recipients that already have the message: a retry
	// goes to the others only.
	Delivered []string `json:"delivered,omitempty"`
	// Rejected are the recipients the server refused for good (5xx at
	// RCPT TO); they are not tried again.
	Rejected []rejection `json:"rejected,omitempty"`
}

// rejection is a recipient the server refused, with its reply.
type rejection struct {
	Rcpt  string `json:"rcpt"`
	Reply string `json:"reply"`
}

// maxStateBytes bounds a state file: it holds recipients and replies, not
// messages.
const maxStateBytes = 1 << 20

// parseState reads a state file. Anything but what marshal writes is
// refused, so that a damaged file is noticed instead of half-believed.
func parseState(data []byte) (*retryState, error) {
	if len(data) > maxStateBytes {
		return nil, fmt.Errorf("state file of %d bytes is larger than %d", len(data), maxStateBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st retryState
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("state file: data after the JSON object")
	}
	if st.Attempts < 0 {
		return nil, fmt.Errorf("state file: attempts %d is negative", st.Attempts)
	}
	for _, r := range st.Delivered {
		if err := checkAddress(r); err != nil {
			return nil, fmt.Errorf("state file: delivered: %w", err)
		}
	}
	for _, r := range st.Rejected {
		if err := checkAddress(r.Rcpt); err != nil {
			return nil, fmt.Errorf("state file: rejected: %w", err)
		}
	}
	return &st, nil
}

// marshal writes the state as parseState reads it.
func (st *retryState) marshal() []byte {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		panic(err) // only strings, ints and times: cannot fail
	}
	return append(data, '\n')
}

// done reports whether rcpt needs no further attempt.
func (st *retryState) done(rcpt string) bool {
	eq := func(s string) bool { return strings.EqualFold(s, rcpt) }
	return slices.ContainsFunc(st.Delivered, eq) ||
		slices.ContainsFunc(st.Rejected, func(r rejection) bool { return eq(r.Rcpt) })
}

// remaining are the recipients of rcpts still to be tried.
func (st *retryState) remaining(rcpts []string) []string {
	var out []string
	for _, r := range rcpts {
		if !st.done(r) {
			out = append(out, r)
		}
	}
	return out
}
