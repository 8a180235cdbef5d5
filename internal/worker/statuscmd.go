package worker

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"mailtokens/internal/advice"
	"mailtokens/internal/cmdline"
	"mailtokens/internal/health"
)

// ProcessStatus is what a running worker answers on its status socket.
type ProcessStatus struct {
	Program string       `json:"program"`
	PID     int          `json:"pid"`
	Target  string       `json:"target"` // the -tasks directory or the -conf file, absolute
	Started time.Time    `json:"started"`
	Tasks   []TaskReport `json:"tasks"`
}

// statusAddress is the socket where a worker running target (the -tasks
// directory or the -conf file) answers `status`: an abstract Unix socket
// (no file to create, so it works under ProtectSystem=strict), named
// from target's absolute path so that both sides find it from the same
// command line. Only the worker's own user and root may ask.
func statusAddress(program, target string) string {
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = target
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	sum := sha256.Sum256([]byte(abs))
	return "@mailtokens-" + program + "-" + hex.EncodeToString(sum[:12])
}

// NotRunningError is `status` finding no worker running the file or
// directory.
type NotRunningError struct {
	Program, Flag, Target string
	Err                   error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("no %s is running with %s %s: %v", e.Program, e.Flag, e.Target, e.Err)
}

func (e *NotRunningError) Advice() (string, advice.Kind) {
	unit := e.Program + "@NAME"
	if e.Flag == "-tasks" {
		unit = e.Program + "-tasks@NAME"
	}
	return fmt.Sprintf("Start it (systemctl start %s, or %s %s %s), and run status as its user or as root, with the same %s as the running one.",
		unit, e.Program, e.Flag, e.Target, e.Flag), advice.Misconfigured
}

// StatusCommand is the program's `status`: every task of the running
// worker started with the same -tasks DIR (or -conf FILE), its state,
// last pass and last error. It exits 1 when a task is failing, waiting to
// restart or has a bad file, so that monitoring can run it.
func StatusCommand(program string) cmdline.Command {
	return cmdline.Command{Name: "status", Args: "[--json]",
		Summary: "show every task of the running " + program + " (same -tasks DIR or -conf FILE): state, last pass, last error; exit 1 if one is not running well",
		Run: func(env *cmdline.Env, args []string) error {
			fs := flag.NewFlagSet(program+" status", flag.ContinueOnError)
			asJSON := fs.Bool("json", false, "print the status as JSON")
			if _, err := env.Parse(fs, args, 0); err != nil {
				return err
			}
			fl, target := "-conf", env.Conf
			if env.Tasks != "" {
				fl, target = "-tasks", env.Tasks
			}
			st, err := askStatus(program, target)
			if err != nil {
				return &NotRunningError{Program: program, Flag: fl, Target: target, Err: err}
			}
			if *asJSON {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				enc.Encode(st)
			} else {
				printStatus(env.Stdout, st)
			}
			for _, t := range st.Tasks {
				if t.State == StateFailing || t.State == StateRestarting || t.State == StateBadFile {
					return cmdline.ErrFailed
				}
			}
			return nil
		}}
}

func askStatus(program, target string) (*ProcessStatus, error) {
	c, err := net.DialTimeout("unix", statusAddress(program, target), 5*time.Second)
	if err != nil {
		return nil, errors.Unwrap(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var st ProcessStatus
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return nil, fmt.Errorf("read its answer: %w", err)
	}
	return &st, nil
}

// printStatus prints st as a table, one task per line, the ones needing
// attention first.
func printStatus(w io.Writer, st *ProcessStatus) {
	fmt.Fprintf(w, "%s pid %d, running %s since %s, %d task(s)\n", st.Program, st.PID, st.Target,
		st.Started.Local().Format("2006-01-02 15:04:05 MST"), len(st.Tasks))
	tasks := slices.Clone(st.Tasks)
	slices.SortStableFunc(tasks, func(a, b TaskReport) int { return rank(a.State) - rank(b.State) })
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tSTATE\tSINCE\tLAST PASS\tRESTARTS\tLAST ERROR")
	for _, t := range tasks {
		lastErr := "-"
		if t.LastError != "" {
			// The directory is on the first line already.
			lastErr = when(t.LastErrorAt) + " " + oneLine(strings.ReplaceAll(t.LastError, st.Target+string(filepath.Separator), ""), 160)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Task, t.State, when(t.Since), when(t.LastPass), t.Restarts, lastErr)
	}
	tw.Flush()
}

func rank(s State) int {
	switch s {
	case StateBadFile:
		return 0
	case StateRestarting:
		return 1
	case StateFailing:
		return 2
	case StateStarting:
		return 3
	case StateRunning:
		return 4
	}
	return 5
}

// when is a time as the status table shows it: health.At, "-" for never.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return health.At(t, time.Now())
}

// oneLine is s on one line, at most max bytes, cut between characters.
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		for max > 0 && !utf8.RuneStart(s[max]) {
			max--
		}
		s = s[:max] + "…"
	}
	return s
}
