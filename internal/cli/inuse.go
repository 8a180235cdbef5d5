package cli

import (
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/health"
	"mailtokens/internal/tokenstore"
)

// InUseError refuses to delete or revoke a token that task files use:
// their workers would stop working. --force does it anyway.
type InUseError struct {
	Name    string
	Command string // "delete", "revoke"
	Tasks   []tokenstore.TaskUse
	Now     time.Time // the tasks' last use is told relative to it
}

func (e *InUseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "used by %d task file(s), which would stop working:", len(e.Tasks))
	for _, u := range e.Tasks {
		b.WriteString("\n  " + describeTask(u, e.Now))
	}
	return b.String()
}

// Advice says how to go ahead: move the task files to another token, or
// force.
func (e *InUseError) Advice() (string, advice.Kind) {
	return fmt.Sprintf("Point those task files at another token first (MAILBOX_EMAIL_TOKEN_NAME, MAIL_TOKEN_NAME), "+
		"or %s it anyway: evadmin token %s %s --force", e.Command, e.Command, shellWord(e.Name)), advice.Misconfigured
}

// refuseInUse returns the task files that use the named token, or, unless
// force, an *InUseError when there are any.
func refuseInUse(env *Env, store *tokenstore.Store, name, command string, force bool) ([]tokenstore.TaskUse, error) {
	tasks, err := store.Tasks(env.Ctx, name)
	if err != nil {
		return nil, fmt.Errorf("%s token %q: %w", command, name, err)
	}
	if len(tasks) > 0 && !force {
		return nil, fmt.Errorf("%s token %q: %w", command, name, &InUseError{Name: name, Command: command, Tasks: tasks, Now: time.Now()})
	}
	return tasks, nil
}

// describeTask is a task file, who runs it and its last use: "/etc/a.properties
// (evmail on host1, last seen 5 min ago, last login OK 6 min ago)".
func describeTask(u tokenstore.TaskUse, now time.Time) string {
	s := fmt.Sprintf("%s (%s on %s, last seen %s", u.Task, u.Actor, u.Host, health.When(u.LastSeen, now))
	if !u.LastOK.IsZero() {
		s += ", last login OK " + health.When(u.LastOK, now)
	}
	return s + ")"
}

// shellWord quotes s for a shell when it needs it.
func shellWord(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
