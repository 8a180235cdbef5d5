package admin

import (
	"encoding/json"
	"net/http"
)

// healthz says whether the utility and its store answer (GET /healthz),
// for load balancers and service monitors. No session: it reveals nothing
// but counts.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	type answer struct {
		Status string `json:"status"`
		Store  string `json:"store"`
		Engine string `json:"engine"`
		Schema int    `json:"schema,omitempty"`
		Key    string `json:"key,omitempty"` // "matches"
		Error  string `json:"error,omitempty"`
	}
	db := s.store.DB()
	a := answer{Status: "ok", Store: "ok", Engine: string(db.Engine()), Key: "matches"}
	status := http.StatusOK
	var err error
	if a.Schema, _, err = db.SchemaVersion(r.Context()); err == nil {
		err = db.CheckKey(r.Context())
	}
	if err != nil {
		a = answer{Status: "unavailable", Store: "unreachable", Engine: a.Engine, Error: err.Error()}
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}
