package cmdline

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version is the build's version: the module version, or the commit it was
// built from (with "+modified" when the tree had changes), and the Go
// version.
func Version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := info.Main.Version
	var rev, modified, when string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		case "vcs.time":
			when = s.Value
		}
	}
	parts := []string{}
	if v != "" && v != "(devel)" {
		parts = append(parts, v)
	}
	if rev != "" {
		parts = append(parts, "commit "+rev[:min(12, len(rev))]+modified)
	}
	if when != "" {
		parts = append(parts, when)
	}
	if len(parts) == 0 {
		parts = append(parts, "development build")
	}
	return strings.Join(parts, ", ") + ", " + info.GoVersion
}

func runVersion(env *Env, args []string) error {
	if _, err := env.Parse(newFlagSet("version"), args, 0); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s (mailtokens) %s\n", env.prog.Name, Version())
	return nil
}
