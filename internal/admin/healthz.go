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
		Error  string `json:"error,omitempty"`
	}
	a := answer{Status: "ok", Store: "ok"}
	status := http.StatusOK
	if err := s.store.Ping(r.Context()); err != nil {
		a = answer{Status: "unavailable", Store: "unreachable", Error: err.Error()}
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}
