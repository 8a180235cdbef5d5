package admin

import (
	"embed"
	"net/http"
)

//go:embed static
var staticFS embed.FS

// static serves the embedded CSS and JavaScript.
func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=3600")
	http.FileServerFS(staticFS).ServeHTTP(w, r)
}
