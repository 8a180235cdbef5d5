package admin

import (
	"encoding/json"
	"errors"
	"net/http"

	"mailtokens/internal/database"
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
		// Anyone may ask: the answer says what is wrong in words, and the
		// details (which name the database's user, host and port) go to
		// the log, once per change.
		why := "the store cannot be read"
		var ue *database.UnavailableError
		var ke *database.KeyMismatchError
		switch {
		case errors.As(err, &ue):
			why = "the database does not answer"
		case errors.As(err, &ke):
			why = "the encryption key does not match the store"
		}
		a = answer{Status: "unavailable", Store: "unreachable", Engine: a.Engine, Error: why + "; evadmin's log has the details"}
		status = http.StatusServiceUnavailable
		s.healthChanged(why, err)
	} else {
		s.healthChanged("", nil)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(a)
}

// healthChanged logs the store's health when it changes (why: what
// /healthz says is wrong, "" = fine): the error in full when a problem
// starts or becomes another, and when the store answers again. A load
// balancer asks every few seconds; the log hears each change once.
func (s *Server) healthChanged(why string, err error) {
	s.healthMu.Lock()
	last := s.healthErr
	s.healthErr = why
	s.healthMu.Unlock()
	switch {
	case why == last:
	case why == "":
		s.log.Info("healthz: the store answers again")
	default:
		s.log.Warn("healthz: the store cannot be read", "why", why, "err", err.Error())
	}
}
