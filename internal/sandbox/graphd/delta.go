package graphd

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/emersion/go-imap/v2"
)

// Delta query on a folder's messages (learn.microsoft.com: message: delta,
// "Get incremental changes to messages in a folder"). A round is one or
// more pages: every page but the last carries @odata.nextLink (with
// $skiptoken), the last @odata.deltaLink (with $deltatoken). The first
// round lists every message; a round started from a deltaLink lists the
// messages that arrived or whose read state changed since that link was
// handed out, and an @removed entry for each that left the folder. The
// state tokens carry $select and changeType from the round's first
// request. A token the server no longer has answers 410 Gone,
// SyncStateNotFound (ExpireDeltaTokens drops them all): the client must
// start over without a token.
//
// Every message that left the folder (moved elsewhere, deleted to Deleted
// Items or for good) is reported with reason "deleted", as in Microsoft's
// own example; the "changed" reason of the delta overview is for
// directory objects that can be restored, and the sandbox does not use it
// for messages.

// deltaState is what a $skiptoken or $deltatoken stands for.
type deltaState struct {
	mailbox, folder string
	fields          []string // $select; nil for the default properties
	changeType      string   // "", created, updated or deleted
	// snapshot is each message id's isRead when the round began; a
	// $deltatoken's is the state the next round compares with.
	snapshot map[string]bool
	// pending are the entries a $skiptoken's next pages still owe.
	pending []map[string]any
}

type deltaStore struct {
	mu     sync.Mutex
	tokens map[string]*deltaState
}

func (d *deltaStore) init() { d.tokens = map[string]*deltaState{} }

func (d *deltaStore) get(tok, mailbox, folder string) *deltaState {
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.tokens[tok]
	if st == nil || st.mailbox != mailbox || st.folder != folder {
		return nil
	}
	return st
}

func (d *deltaStore) put(st *deltaState) string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tokens[tok] = st
	return tok
}

// ExpireDeltaTokens forgets every $skiptoken and $deltatoken handed out:
// the next request with one answers 410 Gone, SyncStateNotFound, as when
// Exchange has dropped a sync state.
func (s *Server) ExpireDeltaTokens() {
	s.delta.mu.Lock()
	defer s.delta.mu.Unlock()
	clear(s.delta.tokens)
}

// messagesDelta serves GET /users/{user}/mailFolders/{folder}/messages/delta.
func (s *Server) messagesDelta(c *call) *apiError {
	folder, e := s.folderName(c.mailbox, c.r.PathValue("folder"))
	if e != nil {
		return e
	}
	if folder == rootFolder {
		return errNotFound
	}
	q := c.r.URL.Query()
	var st deltaState
	if skip := q.Get("$skiptoken"); skip != "" {
		prev := s.delta.get(skip, c.mailbox, folder)
		if prev == nil {
			return errSyncState
		}
		st = *prev
	} else {
		msgs, err := s.opt.IMAP.Messages(c.mailbox, folder)
		if err != nil {
			return errNotFound
		}
		st = deltaState{mailbox: c.mailbox, folder: folder, fields: parseSelect(c.r), changeType: q.Get("changeType"),
			snapshot: map[string]bool{}}
		var old map[string]bool
		if dt := q.Get("$deltatoken"); dt != "" {
			prev := s.delta.get(dt, c.mailbox, folder)
			if prev == nil {
				return errSyncState
			}
			st.fields, st.changeType, old = prev.fields, prev.changeType, prev.snapshot
		}
		v, err := s.opt.IMAP.UIDValidity(c.mailbox, folder)
		if err != nil {
			return errNotFound
		}
		for _, m := range msgs {
			ref := msgRef{mailbox: c.mailbox, folder: folder, uidValidity: v, uid: m.UID}
			id, read := ref.id(), slices.Contains(m.Flags, imap.FlagSeen)
			st.snapshot[id] = read
			was, known := old[id]
			switch {
			case old == nil: // the first round lists everything
			case !known && st.changeType != "updated" && st.changeType != "deleted":
			case known && was != read && st.changeType != "created" && st.changeType != "deleted":
			default:
				continue
			}
			entry := messageJSON(ref, m, st.fields)
			entry["@odata.type"] = "#microsoft.graph.message"
			st.pending = append(st.pending, entry)
		}
		if old != nil && st.changeType != "created" && st.changeType != "updated" {
			var gone []string
			for id := range old {
				if _, ok := st.snapshot[id]; !ok {
					gone = append(gone, id)
				}
			}
			slices.Sort(gone)
			for _, id := range gone {
				st.pending = append(st.pending, map[string]any{
					"@odata.type": "#microsoft.graph.message",
					"id":          id,
					"@removed":    map[string]string{"reason": "deleted"},
				})
			}
		}
	}

	n := s.opt.PageSize
	if p, ok := maxPageSize(c.r); ok {
		n = min(p, s.opt.MaxPageSize)
		c.w.Header().Set("Preference-Applied", "odata.maxpagesize="+strconv.Itoa(n))
	}
	page := st.pending[:min(n, len(st.pending))]
	rest := st.pending[len(page):]
	out := map[string]any{
		"@odata.context": baseURL(c.r) + "/v1.0/$metadata#Collection(message)",
		"value":          append([]map[string]any{}, page...),
	}
	link := baseURL(c.r) + c.r.URL.Path
	if len(rest) > 0 {
		next := st
		next.pending = rest
		out["@odata.nextLink"] = link + "?$skiptoken=" + s.delta.put(&next)
	} else {
		done := st
		done.pending = nil
		out["@odata.deltaLink"] = link + "?$deltatoken=" + s.delta.put(&done)
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// maxPageSize reads Prefer: odata.maxpagesize=N.
func maxPageSize(r *http.Request) (int, bool) {
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(k, "odata.maxpagesize") {
				continue
			}
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
				return n, true
			}
		}
	}
	return 0, false
}
