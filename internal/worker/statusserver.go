package worker

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"
)

// serveStatus answers `status` for the worker running target until the
// returned stop is called. A second worker running the same target
// cannot listen: it says so (the two would share the work of the same
// tasks), and runs without a status socket.
func serveStatus(program, target string, log *slog.Logger, tasks func() []TaskReport) (stop func()) {
	l, err := net.Listen("unix", statusAddress(program, target))
	if err != nil {
		log.Warn("no status socket: is another "+program+" running the same tasks? `status` will not answer for this one", "err", err.Error())
		return func() {}
	}
	abs, _ := filepath.Abs(target)
	started := time.Now()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					log.Warn("status socket failed", "err", err.Error())
				}
				return
			}
			go func() {
				defer c.Close()
				if !allowed(c) {
					return
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				json.NewEncoder(c).Encode(ProcessStatus{Program: program, PID: os.Getpid(), Target: abs,
					Started: started, Tasks: tasks()})
			}()
		}
	}()
	return func() { l.Close() }
}
