package worker

import (
	"sync"
	"time"
)

// State is where a task of a process stands.
type State string

const (
	StateStarting   State = "starting"   // loading its file, opening its store, first login
	StateRunning    State = "running"    // its last pass went well, or none has ended yet
	StateFailing    State = "failing"    // its last pass or login failed; it retries by itself
	StateRestarting State = "restarting" // it ended or crashed and starts again after a pause
	StateBadFile    State = "bad file"   // its file does not load; fix it and reload
	StateStopped    State = "stopped"    // it ended (SIGTERM, removed from the directory, -once)
)

// TaskStatus is what an operator asks of one task before opening the
// logs: its state, its last pass and its last error. It is safe for use
// by several goroutines; a nil *TaskStatus records nothing.
type TaskStatus struct {
	mu sync.Mutex
	st TaskReport
}

// TaskReport is a TaskStatus at one moment.
type TaskReport struct {
	Task  string    `json:"task"` // the file's name in its directory
	State State     `json:"state"`
	Since time.Time `json:"since"`
	// LastPass is when its last pass over the mailbox or the spool ended
	// without an error.
	LastPass time.Time `json:"last_pass,omitzero"`
	// LastError is its last failure's text, and when it happened; kept
	// after a success, to say what went wrong last.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	Restarts    int       `json:"restarts,omitempty"` // crashes and ends that restarted it
}

// NewTaskStatus is the status of the task file named name.
func NewTaskStatus(name string) *TaskStatus {
	return &TaskStatus{st: TaskReport{Task: name, State: StateStarting, Since: time.Now()}}
}

// Report returns the status now.
func (s *TaskStatus) Report() TaskReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}

func (s *TaskStatus) set(state State, err error) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.st.State != state {
		s.st.State, s.st.Since = state, now
	}
	if err != nil {
		s.st.LastError, s.st.LastErrorAt = err.Error(), now
	}
	if state == StateRestarting {
		s.st.Restarts++
	}
}

// passed records the end of a pass: err nil is a good one.
func (s *TaskStatus) passed(err error) {
	if s == nil {
		return
	}
	if err != nil {
		s.set(StateFailing, err)
		return
	}
	s.set(StateRunning, nil)
	s.mu.Lock()
	s.st.LastPass = time.Now()
	s.mu.Unlock()
}
