package gmaild

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// getProfile serves GET …/profile.
func (s *Server) getProfile(c *call) *apiError {
	return s.withMailbox(c, func(mb *mailbox) *apiError {
		threads := map[string]bool{}
		for _, e := range mb.byID {
			threads[e.threadID] = true
		}
		writeJSON(c.w, http.StatusOK, map[string]any{
			"emailAddress":  mb.name,
			"messagesTotal": len(mb.byID),
			"threadsTotal":  len(threads),
			"historyId":     strconv.FormatUint(mb.historyID, 10),
		})
		return nil
	})
}

// listLabels serves GET …/labels: the system labels, then a user label
// per folder that is not a system one.
func (s *Server) listLabels(c *call) *apiError {
	return s.withMailbox(c, func(mb *mailbox) *apiError {
		labels := []map[string]any{}
		for _, l := range systemLabels {
			labels = append(labels, map[string]any{"id": l, "name": l, "type": "system"})
		}
		folders, err := s.opt.IMAP.Folders(mb.name)
		if err != nil {
			return errInternal
		}
		for _, f := range folders {
			if _, sys := systemFolders[f]; sys {
				continue
			}
			labels = append(labels, map[string]any{"id": mb.labelOf(f), "name": f, "type": "user",
				"messageListVisibility": "show", "labelListVisibility": "labelShow"})
		}
		writeJSON(c.w, http.StatusOK, map[string]any{"labels": labels})
		return nil
	})
}

// ref is the short form of a message in lists.
func ref(e *entry) map[string]any { return map[string]any{"id": e.id, "threadId": e.threadID} }

// minimal is format=minimal: what modify, trash and send answer with too.
func minimal(e *entry) map[string]any {
	return map[string]any{
		"id":           e.id,
		"threadId":     e.threadID,
		"labelIds":     slices.Clone(e.labels),
		"snippet":      "",
		"sizeEstimate": e.size,
		"historyId":    strconv.FormatUint(e.historyID, 10),
		"internalDate": strconv.FormatInt(e.internalDate.UnixMilli(), 10),
	}
}

// pageSize reads maxResults: def when absent, capped at 500 as Gmail caps
// it.
func pageSize(r *http.Request, def int) (int, *apiError) {
	v := r.URL.Query().Get("maxResults")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalid("Invalid value for maxResults: " + v)
	}
	if n == 0 {
		n = def
	}
	return min(n, 500), nil
}

// listMessages serves GET …/messages: newest first (internalDate, then
// arrival), filtered by every labelIds given, SPAM and TRASH left out
// unless includeSpamTrash or a labelIds names them. The pageToken names
// the last message of the previous page, so messages moved away or added
// meanwhile neither shift nor repeat the rest. q is not supported (400).
func (s *Server) listMessages(c *call) *apiError {
	q := c.r.URL.Query()
	if q.Get("q") != "" {
		return invalid("The sandbox's Gmail API does not support q; use labelIds.")
	}
	n, e := pageSize(c.r, 100)
	if e != nil {
		return e
	}
	want := q["labelIds"]
	spamTrash := q.Get("includeSpamTrash") == "true" || slices.Contains(want, "SPAM") || slices.Contains(want, "TRASH")
	return s.withMailbox(c, func(mb *mailbox) *apiError {
		var all []*entry
		for _, e := range mb.byID {
			if !spamTrash && (slices.Contains(e.labels, "SPAM") || slices.Contains(e.labels, "TRASH")) {
				continue
			}
			if !containsAll(e.labels, want) {
				continue
			}
			all = append(all, e)
		}
		slices.SortFunc(all, func(a, b *entry) int {
			if c := b.internalDate.Compare(a.internalDate); c != 0 {
				return c
			}
			return int(b.seq) - int(a.seq)
		})
		start := 0
		if tok := q.Get("pageToken"); tok != "" {
			after, err := decodeToken(tok, "m")
			if err != nil {
				return invalid("Invalid pageToken")
			}
			start = len(all)
			for i, e := range all {
				if after.before(e) {
					start = i
					break
				}
			}
		}
		page := all[start:min(start+n, len(all))]
		out := map[string]any{"resultSizeEstimate": len(all)}
		if len(page) > 0 {
			msgs := make([]map[string]any, 0, len(page))
			for _, e := range page {
				msgs = append(msgs, ref(e))
			}
			out["messages"] = msgs
		}
		if start+len(page) < len(all) {
			out["nextPageToken"] = encodeToken("m", page[len(page)-1])
		}
		writeJSON(c.w, http.StatusOK, out)
		return nil
	})
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// entry finds the message of the {id} path segment.
func (mb *mailbox) entry(c *call) (*entry, *apiError) {
	id := c.r.PathValue("id")
	if id == "" || strings.Trim(id, "0123456789abcdef") != "" {
		return nil, errInvalidID
	}
	e := mb.byID[id]
	if e == nil {
		return nil, errNotFound
	}
	return e, nil
}

// withEntry runs f, as withMailbox does, on the message the path's {id}
// names.
func (s *Server) withEntry(c *call, f func(*mailbox, *entry) *apiError) *apiError {
	return s.withMailbox(c, func(mb *mailbox) *apiError {
		e, ae := mb.entry(c)
		if ae != nil {
			return ae
		}
		return f(mb, e)
	})
}

// getMessage serves GET …/messages/{id}?format=minimal|raw|metadata|full
// (full when absent, as Gmail's default).
func (s *Server) getMessage(c *call) *apiError {
	format := strings.ToLower(c.r.URL.Query().Get("format"))
	if format == "" {
		format = "full"
	}
	switch format {
	case "minimal", "metadata":
	case "raw", "full":
		if c.metadataOnly {
			return &apiError{status: http.StatusForbidden, reason: "forbidden", message: "Metadata scope doesn't allow format " + strings.ToUpper(format)}
		}
	default:
		return invalid("Invalid value at 'format' (type.googleapis.com/google.apps.gmail.v1.Format), \"" + format + "\"")
	}
	return s.withEntry(c, func(mb *mailbox, e *entry) *apiError {
		out := minimal(e)
		if format == "minimal" {
			writeJSON(c.w, http.StatusOK, out)
			return nil
		}
		m, err := s.opt.IMAP.Message(mb.name, e.loc.folder, e.loc.uid)
		if err != nil {
			return errNotFound
		}
		switch format {
		case "raw":
			out["raw"] = base64.URLEncoding.EncodeToString(m.Raw)
		case "metadata":
			out["payload"] = payload(m.Raw, "", false, c.r.URL.Query()["metadataHeaders"])
		case "full":
			out["payload"] = payload(m.Raw, "", true, nil)
		}
		writeJSON(c.w, http.StatusOK, out)
		return nil
	})
}

// payload is Gmail's MessagePart for raw: headers (only those named in
// only, when given), the MIME type and, when withBody, the body (base64url
// data) or the parts. Attachments come inline as data, not by
// attachmentId.
func payload(raw []byte, partID string, withBody bool, only []string) map[string]any {
	out := map[string]any{"partId": partID, "mimeType": "text/plain", "filename": "", "headers": []map[string]string{}}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return out
	}
	var headers []map[string]string
	for _, kv := range headerOrder(raw) {
		if len(only) > 0 && !slices.ContainsFunc(only, func(h string) bool { return strings.EqualFold(h, kv[0]) }) {
			continue
		}
		headers = append(headers, map[string]string{"name": kv[0], "value": kv[1]})
	}
	if headers != nil {
		out["headers"] = headers
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err == nil {
		out["mimeType"] = mt
	}
	if _, p, err := mime.ParseMediaType(m.Header.Get("Content-Disposition")); err == nil && p["filename"] != "" {
		out["filename"] = p["filename"]
	}
	if !withBody {
		return out
	}
	body := new(bytes.Buffer)
	_, _ = body.ReadFrom(m.Body)
	if strings.HasPrefix(mt, "multipart/") && params["boundary"] != "" {
		var parts []map[string]any
		mr := multipart.NewReader(bytes.NewReader(body.Bytes()), params["boundary"])
		for i := 0; ; i++ {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			var b bytes.Buffer
			for k, vs := range p.Header {
				for _, v := range vs {
					b.WriteString(k + ": " + v + "\r\n")
				}
			}
			b.WriteString("\r\n")
			_, _ = b.ReadFrom(p)
			id := strconv.Itoa(i)
			if partID != "" {
				id = partID + "." + id
			}
			parts = append(parts, payload(b.Bytes(), id, true, nil))
		}
		out["body"] = map[string]any{"size": 0}
		out["parts"] = parts
		return out
	}
	out["body"] = map[string]any{"size": body.Len(), "data": base64.URLEncoding.EncodeToString(body.Bytes())}
	return out
}

// headerOrder is raw's header fields in order, unfolded, as written.
func headerOrder(raw []byte) [][2]string {
	var out [][2]string
	for _, line := range strings.Split(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n") {
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(out) > 0 {
			out[len(out)-1][1] += " " + strings.TrimSpace(line)
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			out = append(out, [2]string{k, strings.TrimSpace(v)})
		}
	}
	return out
}

// modifyMessage serves POST …/messages/{id}/modify
// {"addLabelIds":[…],"removeLabelIds":[…]}: UNREAD and STARRED are flags;
// folder labels move the message between folders (its id stays). A
// message left without a folder label goes to All Mail (archived); one
// that would have two is refused, as the sandbox keeps one folder per
// message.
func (s *Server) modifyMessage(c *call) *apiError {
	var body struct {
		Add    []string `json:"addLabelIds"`
		Remove []string `json:"removeLabelIds"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 1<<20)).Decode(&body); err != nil {
		return errBadJSON
	}
	return s.withEntry(c, func(mb *mailbox, e *entry) *apiError {
		for _, l := range slices.Concat(body.Add, body.Remove) {
			if _, ok := mb.folderOf(l); !ok && l != "UNREAD" && l != "STARRED" {
				return invalid("Invalid label: " + l)
			}
		}
		for _, l := range body.Add {
			if slices.Contains(body.Remove, l) {
				return invalid("Label " + l + " cannot be both added and removed.")
			}
		}
		var folderLabels []string
		if cur := mb.labelOf(e.loc.folder); cur != "" && !slices.Contains(body.Remove, cur) {
			folderLabels = append(folderLabels, cur)
		}
		for _, l := range body.Add {
			if _, ok := mb.folderOf(l); ok && !slices.Contains(folderLabels, l) {
				folderLabels = append(folderLabels, l)
			}
		}
		if len(folderLabels) > 1 {
			return invalid("The sandbox keeps a message in one IMAP folder, so it has at most one of INBOX, SENT, DRAFT, SPAM, TRASH and the user labels; " +
				"this would leave it with " + strings.Join(folderLabels, " and ") + ". Remove the one it has when adding another.")
		}
		dest := allMail
		if len(folderLabels) == 1 {
			dest, _ = mb.folderOf(folderLabels[0])
		}
		flag := func(label string, f imap.Flag, set bool) *apiError {
			op := imap.StoreFlagsDel
			if set {
				op = imap.StoreFlagsAdd
			}
			if err := s.opt.IMAP.StoreFlags(mb.name, e.loc.folder, e.loc.uid, op, f); err != nil {
				return errNotFound
			}
			return nil
		}
		for _, x := range []struct {
			label string
			flag  imap.Flag
			set   bool // whether adding the label sets the flag
		}{{"UNREAD", imap.FlagSeen, false}, {"STARRED", imap.FlagFlagged, true}} {
			if slices.Contains(body.Add, x.label) {
				if ae := flag(x.label, x.flag, x.set); ae != nil {
					return ae
				}
			}
			if slices.Contains(body.Remove, x.label) {
				if ae := flag(x.label, x.flag, !x.set); ae != nil {
					return ae
				}
			}
		}
		if ae := s.moveAndSync(mb, e, dest); ae != nil {
			return ae
		}
		writeLabels(c.w, e)
		return nil
	})
}

// moveAndSync moves e to dest (if it is elsewhere) and syncs the index,
// so that e's labels say where it is now and the history records it.
func (s *Server) moveAndSync(mb *mailbox, e *entry, dest string) *apiError {
	if ae := s.moveTo(mb, e, dest); ae != nil {
		return ae
	}
	if err := s.sync(mb); err != nil {
		return errInternal
	}
	return nil
}

// writeLabels answers e as modify, trash and untrash do: its id, thread
// and labels.
func writeLabels(w http.ResponseWriter, e *entry) {
	writeJSON(w, http.StatusOK, map[string]any{"id": e.id, "threadId": e.threadID, "labelIds": slices.Clone(e.labels)})
}

// moveTo moves e to dest over IMAP and updates the index, so that the next
// sync finds it under its id (and records the label change).
func (s *Server) moveTo(mb *mailbox, e *entry, dest string) *apiError {
	if dest == e.loc.folder {
		return nil
	}
	if err := s.opt.IMAP.CreateFolder(mb.name, dest); err != nil {
		return errInternal
	}
	v, err := s.opt.IMAP.UIDValidity(mb.name, dest)
	if err != nil {
		return errInternal
	}
	uid, err := s.opt.IMAP.MoveMessage(mb.name, e.loc.folder, e.loc.uid, dest)
	if err != nil {
		return errNotFound
	}
	delete(mb.byLoc, e.loc)
	e.loc = loc{dest, v, uid}
	mb.byLoc[e.loc] = e
	return nil
}

// trashMessage serves POST …/messages/{id}/trash: to [Gmail]/Trash; the
// answer is the message.
func (s *Server) trashMessage(c *call) *apiError {
	return s.withEntry(c, func(mb *mailbox, e *entry) *apiError {
		if e.loc.folder != trashFolder {
			e.untrashTo = e.loc.folder
		}
		if ae := s.moveAndSync(mb, e, trashFolder); ae != nil {
			return ae
		}
		writeLabels(c.w, e)
		return nil
	})
}

// untrashMessage serves POST …/messages/{id}/untrash: back to the folder
// trash took it from (All Mail if it was trashed over IMAP).
func (s *Server) untrashMessage(c *call) *apiError {
	return s.withEntry(c, func(mb *mailbox, e *entry) *apiError {
		if e.loc.folder == trashFolder {
			dest := e.untrashTo
			if dest == "" {
				dest = allMail
			}
			if ae := s.moveAndSync(mb, e, dest); ae != nil {
				return ae
			}
		}
		writeLabels(c.w, e)
		return nil
	})
}

// deleteMessage serves DELETE …/messages/{id}: gone for good (expunged),
// 204 with no body. Only the full scope may (the method's scopes).
func (s *Server) deleteMessage(c *call) *apiError {
	return s.withEntry(c, func(mb *mailbox, e *entry) *apiError {
		if err := s.opt.IMAP.ExpungeMessage(mb.name, e.loc.folder, e.loc.uid); err != nil {
			return errNotFound
		}
		if err := s.sync(mb); err != nil {
			return errInternal
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
