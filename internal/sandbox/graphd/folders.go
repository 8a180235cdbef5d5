package graphd

import (
	"net/http"
	"regexp"
	"strings"
)

// Folders are the IMAP folders of the mailbox; "/" separates a child's
// name from its parent's, as in imapmemserver.

const folderDelim = "/"

// displayName is a folder's last name segment; INBOX shows as Inbox.
func displayName(name string) string {
	if name == "INBOX" {
		return "Inbox"
	}
	return name[strings.LastIndex(name, folderDelim)+1:]
}

func parentOf(name string) string {
	i := strings.LastIndex(name, folderDelim)
	if i < 0 {
		return rootFolder
	}
	return name[:i]
}

func (s *Server) folderJSON(name string, all []string) map[string]any {
	children := 0
	for _, f := range all {
		if f != name && parentOf(f) == name {
			children++
		}
	}
	return map[string]any{
		"id":               folderID(name),
		"displayName":      displayName(name),
		"parentFolderId":   folderID(parentOf(name)),
		"childFolderCount": children,
		"isHidden":         false,
	}
}

// filterDisplayName is the one $filter the sandbox reads.
var filterDisplayName = regexp.MustCompile(`^\s*displayName\s+eq\s+'((?:[^']|'')*)'\s*$`)

// listFolders serves GET /users/{user}/mailFolders (the top-level
// folders) and …/mailFolders/{folder}/childFolders, with an optional
// $filter=displayName eq 'Name'.
func (s *Server) listFolders(c *call) *apiError {
	parent := rootFolder
	what := "mailFolders"
	if ref := c.r.PathValue("folder"); ref != "" {
		p, e := s.folderName(c.mailbox, ref)
		if e != nil {
			return e
		}
		parent, what = p, "mailFolders('"+ref+"')/childFolders"
	}
	var want *string
	if f := c.r.URL.Query().Get("$filter"); f != "" {
		m := filterDisplayName.FindStringSubmatch(f)
		if m == nil {
			return &apiError{http.StatusBadRequest, "ErrorInvalidUrlQueryFilter", "The query filter contains one or more invalid nodes.", 0}
		}
		name := strings.ReplaceAll(m[1], "''", "'")
		want = &name
	}
	all, err := s.opt.IMAP.Folders(c.mailbox)
	if err != nil {
		return errNotFound
	}
	value := []map[string]any{}
	for _, f := range all {
		if parentOf(f) != parent || f == parent {
			continue
		}
		// Exchange compares display names without regard to case.
		if want != nil && !strings.EqualFold(displayName(f), *want) {
			continue
		}
		value = append(value, s.folderJSON(f, all))
	}
	writeJSON(c.w, http.StatusOK, s.withContext(c, what, map[string]any{"value": value}))
	return nil
}

// getFolder serves GET /users/{user}/mailFolders/{folder}.
func (s *Server) getFolder(c *call) *apiError {
	name, e := s.folderName(c.mailbox, c.r.PathValue("folder"))
	if e != nil {
		return e
	}
	all, err := s.opt.IMAP.Folders(c.mailbox)
	if err != nil {
		return errNotFound
	}
	writeJSON(c.w, http.StatusOK, s.withContext(c, "mailFolders/$entity", s.folderJSON(name, all)))
	return nil
}

// routes maps every path to its handler, under /users/{user} and /me.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(method, path string, perm permission, h func(*call) *apiError) {
		mux.HandleFunc(method+" /v1.0/users/{user}"+path, s.api(perm, h))
		mux.HandleFunc(method+" /v1.0/me"+path, s.api(perm, h))
	}
	handle("POST", "/sendMail", permSend, s.sendMail)
	handle("GET", "/mailFolders", permRead, s.listFolders)
	handle("GET", "/mailFolders/{folder}", permRead, s.getFolder)
	handle("GET", "/mailFolders/{folder}/childFolders", permRead, s.listFolders)
	handle("GET", "/mailFolders/{folder}/messages/delta", permRead, s.messagesDelta)
	handle("GET", "/messages/{id}", permRead, s.getMessage)
	handle("GET", "/messages/{id}/$value", permRead, s.getMessageValue)
	handle("PATCH", "/messages/{id}", permWrite, s.updateMessage)
	handle("DELETE", "/messages/{id}", permWrite, s.deleteMessage)
	handle("POST", "/messages/{id}/move", permWrite, s.moveMessage)
	handle("POST", "/messages/{id}/permanentDelete", permWrite, s.permanentDelete)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e := *errNoRoute
		e.status = http.StatusBadRequest
		e.message = "Resource not found for the segment '" + lastSegment(r.URL.Path) + "'."
		s.writeError(w, &e)
	})
	return mux
}

func lastSegment(p string) string {
	p = strings.TrimSuffix(p, "/")
	return p[strings.LastIndex(p, "/")+1:]
}
