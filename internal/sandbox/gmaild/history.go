package gmaild

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pageToken is where a listing stopped: for messages.list the last
// message's place in the order (internalDate, then arrival), for
// history.list the last record's id.
type pageToken struct {
	date int64
	seq  uint64
}

func encodeToken(kind string, e *entry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(e.internalDate.UnixNano(), 10) + ":" + strconv.FormatUint(e.seq, 10)))
}

func decodeToken(tok, kind string) (pageToken, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	parts := strings.Split(string(b), ":")
	if err != nil || len(parts) != 3 || parts[0] != kind {
		return pageToken{}, errors.New("bad page token")
	}
	d, err1 := strconv.ParseInt(parts[1], 10, 64)
	q, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return pageToken{}, errors.New("bad page token")
	}
	return pageToken{d, q}, nil
}

// before reports whether e comes after the token in messages.list's order
// (newest first).
func (t pageToken) before(e *entry) bool {
	d := e.internalDate.UnixNano()
	return d < t.date || (d == t.date && e.seq < t.seq)
}

var historyTypes = []string{"messageAdded", "messageDeleted", "labelAdded", "labelRemoved"}

// listHistory serves GET …/history?startHistoryId=…: the records after
// startHistoryId, oldest first, maxResults (100, at most 500) a page, with
// nextPageToken while more remain, and the mailbox's current historyId.
// labelId keeps the parts of records whose message had that label (or,
// for a label change, whose change was that label); historyTypes
// (repeatable) keeps those kinds. A startHistoryId older than the
// records kept (ForgetHistory) answers 404 notFound: sync in full. One
// newer than the mailbox's answers no records.
func (s *Server) listHistory(c *call) *apiError {
	q := c.r.URL.Query()
	startStr := q.Get("startHistoryId")
	if startStr == "" {
		return invalid("Missing required field: startHistoryId")
	}
	start, err := strconv.ParseUint(startStr, 10, 64)
	if err != nil {
		return invalid("Invalid value at 'start_history_id' (TYPE_UINT64), \"" + startStr + "\"")
	}
	n, e := pageSize(c.r, 100)
	if e != nil {
		return e
	}
	label := q.Get("labelId")
	types := q["historyTypes"]
	for _, t := range types {
		if !slices.Contains(historyTypes, t) {
			return invalid("Invalid value at 'history_types' (type.googleapis.com/google.apps.gmail.v1.ListHistoryRequest.HistoryTypes), \"" + t + "\"")
		}
	}
	after := start
	if tok := q.Get("pageToken"); tok != "" {
		pt, err := decodeToken(tok, "h")
		if err != nil {
			return invalid("Invalid pageToken")
		}
		after = pt.seq
	}
	return s.withMailbox(c, func(mb *mailbox) *apiError {
		if start < mb.floor || after < mb.floor {
			return errNotFound
		}
		var out []map[string]any
		last := uint64(0)
		more := false
		for _, r := range mb.records {
			if r.id <= after {
				continue
			}
			if len(out) == n {
				more = true
				break
			}
			last = r.id
			if h := historyJSON(r, label, types); h != nil {
				out = append(out, h)
			}
		}
		resp := map[string]any{"historyId": strconv.FormatUint(mb.historyID, 10)}
		if len(out) > 0 {
			resp["history"] = out
		}
		if more {
			resp["nextPageToken"] = encodeToken("h", &entry{internalDate: time.Unix(0, 0), seq: last})
		}
		writeJSON(c.w, http.StatusOK, resp)
		return nil
	})
}

// historyJSON is r as Gmail's History, or nil when the filters leave
// nothing of it.
func historyJSON(r record, label string, types []string) map[string]any {
	want := func(t string) bool { return len(types) == 0 || slices.Contains(types, t) }
	msg := map[string]any{"id": r.msgID, "threadId": r.thread}
	withLabels := map[string]any{"id": r.msgID, "threadId": r.thread, "labelIds": slices.Clone(r.labels)}
	had := label == "" || slices.Contains(r.labels, label)
	out := map[string]any{}
	if r.added && want("messageAdded") && had {
		out["messagesAdded"] = []map[string]any{{"message": withLabels}}
	}
	if r.deleted && want("messageDeleted") && had {
		out["messagesDeleted"] = []map[string]any{{"message": withLabels}}
	}
	if len(r.labelsAdded) > 0 && want("labelAdded") && (had || slices.Contains(r.labelsAdded, label)) {
		out["labelsAdded"] = []map[string]any{{"message": withLabels, "labelIds": r.labelsAdded}}
	}
	if len(r.labelsRemoved) > 0 && want("labelRemoved") && (had || slices.Contains(r.labelsRemoved, label)) {
		out["labelsRemoved"] = []map[string]any{{"message": withLabels, "labelIds": r.labelsRemoved}}
	}
	if len(out) == 0 {
		return nil
	}
	out["id"] = strconv.FormatUint(r.id, 10)
	out["messages"] = []map[string]any{msg}
	return out
}
