package deploytest

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mailtokens/internal/taskconf"
	"mailtokens/internal/testenv"
)

// production are the programs a site installs. The stand-in bin/ also has
// evdemo, which must stay out.
var production = []string{"batchmail", "evadmin", "evmail"}

// privileged are the commands an install into DESTDIR must not run: they
// would change the real system.
var privileged = []string{"useradd", "groupadd", "chown", "chgrp", "getent", "systemctl"}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// fakeBin is a bin/ as `make build` leaves it, with stand-ins whose
// contents say which program they are.
func fakeBin(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range append(slices.Clone(production), "evdemo") {
		if err := os.WriteFile(filepath.Join(dir, p), []byte("#!/bin/sh\n# stand-in for "+p+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// installed is what one install into DESTDIR did and said.
type installed struct {
	dest   string
	out    string
	user   string            // the user it would create
	owners map[string]string // path → the owner:group it would set
}

// install runs `make install DESTDIR=dest BIN=bin` in the repository, with
// a PATH on which every privileged command records its call and fails.
func install(t *testing.T, dest, bin string) *installed {
	t.Helper()
	testenv.LookPath(t, "make", "apt-get install make")
	trap := t.TempDir()
	calls := filepath.Join(trap, "calls")
	for _, p := range privileged {
		script := "#!/bin/sh\necho " + p + " \"$@\" >>" + calls + "\nexit 1\n"
		if err := os.WriteFile(filepath.Join(trap, p), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), "make", "-s", "-C", repoRoot(t), "install", "DESTDIR="+dest, "BIN="+bin)
	cmd.Env = append(os.Environ(), "PATH="+trap+string(os.PathListSeparator)+os.Getenv("PATH"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make install DESTDIR=%s: %v\n%s%s", dest, err, out, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("make install wrote to standard error:\n%s", stderr.String())
	}
	if got, err := os.ReadFile(calls); err == nil {
		t.Errorf("make install DESTDIR=… ran commands that change the real system:\n%s", got)
	}

	in := &installed{dest: dest, out: string(out), owners: map[string]string{}}
	for line := range strings.Lines(in.out) {
		cmd, ok := strings.CutPrefix(strings.TrimSpace(line), "not run (DESTDIR): ")
		if !ok {
			continue
		}
		f := strings.Fields(cmd)
		switch f[0] {
		case "chown":
			in.owners[f[2]] = f[1]
		case "useradd":
			in.user = f[len(f)-1]
			if !slices.Contains(f, "--system") || !slices.Contains(f, "--user-group") {
				t.Errorf("useradd does not create a system user with its own group: %s", cmd)
			}
		}
	}
	if in.user == "" {
		t.Fatalf("make install DESTDIR=… does not say which user it would create:\n%s", in.out)
	}
	return in
}

// check fails t unless path exists in the install, is a directory or not
// as dir says, has mode perm, and would be owned by owner.
func (in *installed) check(t *testing.T, path string, dir bool, perm fs.FileMode, owner string) {
	t.Helper()
	fi, err := os.Stat(filepath.Join(in.dest, path))
	if err != nil {
		t.Errorf("%s is not installed: %v", path, err)
		return
	}
	if fi.IsDir() != dir {
		t.Errorf("%s: directory is %v, want %v", path, fi.IsDir(), dir)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), perm)
	}
	if got := in.owners[path]; got != owner {
		t.Errorf("%s: would be owned by %q, want %q", path, got, owner)
	}
}

// unit is a unit file from deploy/ and the name the README starts it by.
type unit struct {
	file string              // evmail@.service
	name string              // evmail@support.service
	keys map[string][]string // [Unit], [Service], [Install] entries, %i expanded
}

// value is key's one value.
func (u unit) value(t *testing.T, key string) string {
	t.Helper()
	if v := u.keys[key]; len(v) == 1 {
		return v[0]
	}
	t.Fatalf("%s: %s is set %d times, want once", u.file, key, len(u.keys[key]))
	return ""
}

// units reads deploy/*.service and names each as the README's `systemctl
// enable --now` lines do; a unit the README never starts fails t.
func units(t *testing.T) []unit {
	t.Helper()
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var enabled []string
	for _, m := range regexp.MustCompile(`systemctl enable --now ([\w@.-]+)`).FindAllStringSubmatch(string(readme), -1) {
		enabled = append(enabled, strings.TrimSuffix(m[1], ".service")+".service")
	}
	files, _ := filepath.Glob(filepath.Join(root, "deploy", "*.service"))
	if len(files) != 5 {
		t.Fatalf("deploy/ has units %q, want evadmin, evmail@, batchmail@, evmail-tasks and batchmail-tasks", files)
	}
	var us []unit
	for _, f := range files {
		u := unit{file: filepath.Base(f)}
		prefix, template := strings.CutSuffix(u.file, "@.service")
		for _, e := range enabled {
			if e == u.file || template && strings.HasPrefix(e, prefix+"@") {
				u.name = e
				break
			}
		}
		if u.name == "" {
			t.Fatalf("the README never says systemctl enable --now %s (enables %q)", u.file, enabled)
		}
		instance := strings.TrimSuffix(strings.TrimPrefix(u.name, prefix+"@"), ".service")
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		u.keys = map[string][]string{}
		for line := range strings.Lines(string(data)) {
			line = strings.TrimSpace(line)
			k, v, ok := strings.Cut(line, "=")
			if !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
				continue
			}
			u.keys[k] = append(u.keys[k], strings.ReplaceAll(v, "%i", instance))
		}
		us = append(us, u)
	}
	return us
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	path, dir = filepath.Clean(path), filepath.Clean(dir)
	return path == dir || strings.HasPrefix(path, dir+"/")
}

// taskPaths reads an installed properties file as program does and returns
// the paths in it that program writes, by key.
func taskPaths(t *testing.T, program, file string) map[string]string {
	t.Helper()
	f, err := taskconf.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	var store taskconf.Store
	paths := map[string]string{}
	switch program {
	case "evadmin":
		store = taskconf.ReadEvadmin(f).Store
	case "evmail":
		c := taskconf.ReadEvmail(f)
		store = c.Store
		paths["MAILBOX_DELIVER_TO"] = c.DeliverTo.Maildir
	case "batchmail":
		c := taskconf.ReadBatchmail(f)
		store = c.Store
		paths["MAIL_SPOOL_DIR"] = c.SpoolDir
	default:
		t.Fatalf("a unit runs %q, not one of %q", program, production)
	}
	paths["TOKEN_STORE"] = store.Path
	paths["TOKEN_STORE_KEY_FILE"] = store.KeyFile
	return paths
}

// TestInstall installs into a temporary root and checks it against what
// the units run, read and write, and what the README names.
func TestInstall(t *testing.T) {
	bin := fakeBin(t)
	in := install(t, t.TempDir(), bin)

	var binDir string
	var written []string // every path a program writes, from the task files
	stores := map[string]bool{}
	for _, u := range units(t) {
		t.Run(u.file, func(t *testing.T) {
			if got, want := u.value(t, "User"), in.user; got != want {
				t.Errorf("User=%s, but install creates %s", got, want)
			}
			if got, want := u.value(t, "Group"), in.user; got != want {
				t.Errorf("Group=%s, but install creates the group %s", got, want)
			}
			src, _ := os.ReadFile(filepath.Join(repoRoot(t), "deploy", u.file))
			dst, err := os.ReadFile(filepath.Join(in.dest, "etc/systemd/system", u.file))
			if err != nil || !bytes.Equal(src, dst) {
				t.Errorf("/etc/systemd/system/%s is not deploy/%s (%v)", u.file, u.file, err)
			}
			in.check(t, "/etc/systemd/system/"+u.file, false, 0o644, "root:root")

			// The program: a production one, installed as built.
			argv := strings.Fields(u.value(t, "ExecStart"))
			program := filepath.Base(argv[0])
			if !slices.Contains(production, program) {
				t.Fatalf("ExecStart runs %s, not one of %q", argv[0], production)
			}
			// systemctl reload: the workers read their task file again;
			// evadmin logs that a change needs a restart. Without it,
			// systemctl reload fails, and a SIGHUP by hand used to kill.
			if got, want := u.value(t, "ExecReload"), "/bin/kill -HUP $MAINPID"; got != want {
				t.Errorf("ExecReload=%s, want %s", got, want)
			}
			binDir = filepath.Dir(argv[0])
			in.check(t, argv[0], false, 0o755, "root:root")
			built, _ := os.ReadFile(filepath.Join(bin, program))
			if got, _ := os.ReadFile(filepath.Join(in.dest, argv[0])); !bytes.Equal(got, built) {
				t.Errorf("%s is not bin/%s: %q", argv[0], program, got)
			}

			// The directories it may write: its user's alone.
			var writable []string
			for _, v := range u.keys["ReadWritePaths"] {
				for _, p := range strings.Fields(v) {
					if strings.HasPrefix(p, "-") {
						t.Errorf("ReadWritePaths=%s: install creates it, so it need not be optional", p)
					}
					writable = append(writable, strings.TrimLeft(p, "-+"))
				}
			}
			if len(writable) == 0 || u.value(t, "ProtectSystem") != "strict" {
				t.Errorf("want ProtectSystem=strict and the data directory in ReadWritePaths; have %q", writable)
			}
			for _, p := range writable {
				in.check(t, p, true, 0o700, in.user+":"+in.user)
			}
			wd := u.value(t, "WorkingDirectory")
			in.check(t, wd, true, 0o700, in.user+":"+in.user)
			if !slices.ContainsFunc(writable, func(w string) bool { return within(wd, w) }) {
				t.Errorf("WorkingDirectory=%s is read-only (ReadWritePaths=%s): a relative path in a task file could not be written", wd, writable)
			}
			for _, d := range u.keys["Documentation"] {
				for _, doc := range strings.Fields(d) {
					if p, ok := strings.CutPrefix(doc, "file://"); ok {
						in.check(t, p, false, 0o644, "root:root")
					}
				}
			}

			// A directory of task files (-tasks): its group may read it, and
			// nobody else; install leaves it empty.
			if i := slices.Index(argv, "-tasks"); i >= 0 && i+1 < len(argv) {
				for d := argv[i+1]; d != "/etc"; d = filepath.Dir(d) {
					in.check(t, d, true, 0o750, "root:"+in.user)
				}
				return
			}
			// Its properties file: readable by its group only, every path in
			// it absolute and writable by the unit.
			i := slices.Index(argv, "-conf")
			if i < 0 || i+1 == len(argv) {
				t.Fatalf("ExecStart=%s names neither a -conf file nor a -tasks directory", u.value(t, "ExecStart"))
			}
			conf := argv[i+1]
			in.check(t, conf, false, 0o640, "root:"+in.user)
			for d := filepath.Dir(conf); d != "/etc"; d = filepath.Dir(d) {
				in.check(t, d, true, 0o750, "root:"+in.user)
			}
			paths := taskPaths(t, program, filepath.Join(in.dest, conf))
			for key, p := range paths {
				switch {
				case !filepath.IsAbs(p):
					t.Errorf("%s: %s = %q is relative", conf, key, p)
				case !slices.ContainsFunc(writable, func(w string) bool { return within(p, w) }):
					t.Errorf("%s: %s = %s is outside ReadWritePaths=%s", conf, key, p, writable)
				}
				written = append(written, p)
			}
			stores[paths["TOKEN_STORE"]+" "+paths["TOKEN_STORE_KEY_FILE"]] = true
		})
	}
	if len(stores) != 1 {
		t.Errorf("the installed properties files name different stores: %v", stores)
	}

	entries, err := os.ReadDir(filepath.Join(in.dest, binDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, production) {
		t.Errorf("%s holds %q, want exactly %q", binDir, names, production)
	}

	t.Run("README", func(t *testing.T) {
		// Every path the README names exists once installed, is one the
		// programs create (a task file names it), or is a file its own
		// `sudo install` line creates in an installed directory.
		readme, _ := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
		for _, m := range regexp.MustCompile(`sudo install .* (/\S+)\n`).FindAllStringSubmatch(string(readme), -1) {
			if _, err := os.Stat(filepath.Join(in.dest, filepath.Dir(m[1]))); err != nil {
				t.Errorf("the README installs %s into a directory make install does not create", m[1])
			}
			written = append(written, m[1])
		}
		named := regexp.MustCompile(`/(?:etc|opt|var/lib)/mailtokens(?:/[\w.@-]+)*`).FindAllString(string(readme), -1)
		if len(named) < 5 {
			t.Errorf("the README names only %q of the installed paths", named)
		}
		for _, p := range named {
			p = strings.TrimRight(p, ".")
			if _, err := os.Stat(filepath.Join(in.dest, p)); err != nil && !slices.Contains(written, p) {
				t.Errorf("the README names %s, which make install does not create and no task file names", p)
			}
		}
	})

	t.Run("again", func(t *testing.T) {
		// Installing again updates programs and units, never settings.
		conf := filepath.Join(in.dest, "etc/mailtokens/evadmin.properties")
		edited := []byte("PUBLIC_URL = https://mailtokens.example.com\n")
		if err := os.WriteFile(conf, edited, 0o640); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bin, "evmail"), []byte("#!/bin/sh\n# a newer evmail\n"), 0o755)
		again := install(t, in.dest, bin)
		if got, _ := os.ReadFile(conf); !bytes.Equal(got, edited) {
			t.Errorf("a second install replaced the edited evadmin.properties with:\n%s", got)
		}
		if !strings.Contains(again.out, "kept /etc/mailtokens/evadmin.properties") {
			t.Errorf("a second install does not say it kept evadmin.properties:\n%s", again.out)
		}
		if got, _ := os.ReadFile(filepath.Join(in.dest, "opt/mailtokens/bin/evmail")); !bytes.Contains(got, []byte("a newer evmail")) {
			t.Errorf("a second install left the old evmail: %q", got)
		}
	})
}

// TestInstallStopsOnAChangedExample: the examples are conf/*.properties with
// some keys set to absolute paths; when conf/ no longer has such a key, the
// install fails rather than write a relative path.
func TestInstallStopsOnAChangedExample(t *testing.T) {
	src := t.TempDir()
	root := repoRoot(t)
	for _, p := range []string{"deploy", "conf"} {
		if err := os.CopyFS(filepath.Join(src, p), os.DirFS(filepath.Join(root, p))); err != nil {
			t.Fatal(err)
		}
	}
	readme, _ := os.ReadFile(filepath.Join(root, "README.md"))
	os.WriteFile(filepath.Join(src, "README.md"), readme, 0o644)
	evmail := filepath.Join(src, "conf/evmail.properties")
	data, _ := os.ReadFile(evmail)
	changed := regexp.MustCompile(`(?m)^MAILBOX_DELIVER_TO *=`).ReplaceAll(data, []byte("# MAILBOX_DELIVER_TO ="))
	if bytes.Equal(changed, data) {
		t.Fatal("conf/evmail.properties has no MAILBOX_DELIVER_TO line")
	}
	os.WriteFile(evmail, changed, 0o644)

	dest := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "sh", filepath.Join(src, "deploy/install.sh"))
	cmd.Env = append(os.Environ(), "DESTDIR="+dest, "BIN="+fakeBin(t))
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("install succeeded without MAILBOX_DELIVER_TO in conf/evmail.properties:\n%s", out)
	}
	if !strings.Contains(string(out), "sets MAILBOX_DELIVER_TO on 0 lines") {
		t.Errorf("install does not say which key it could not set:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dest, "etc/mailtokens/evmail/support.properties")); err == nil {
		t.Error("install wrote evmail/support.properties anyway")
	}
}

// TestUnitsVerify runs systemd-analyze verify on every unit as installed,
// in the temporary root (--root), beside the system's own units.
func TestUnitsVerify(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze", "apt-get install systemd")
	in := install(t, t.TempDir(), fakeBin(t))
	system, err := filepath.EvalSymlinks("/lib/systemd/system")
	if err != nil {
		testenv.Missing(t, "/lib/systemd/system", "apt-get install systemd")
	}
	// sysinit.target, network-online.target and the rest the units pull in.
	into := filepath.Join(in.dest, "usr/lib/systemd")
	os.MkdirAll(into, 0o755)
	if out, err := exec.Command("cp", "-a", system, into).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", system, err, out)
	}
	// ExecReload's /bin/kill is the system's too.
	kill := testenv.LookPath(t, "/bin/kill", "apt-get install procps")
	os.MkdirAll(filepath.Join(in.dest, "bin"), 0o755)
	if out, err := exec.Command("cp", "-L", kill, filepath.Join(in.dest, "bin/kill")).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", kill, err, out)
	}
	verify := func(name string) (string, error) {
		out, err := exec.CommandContext(t.Context(), analyze, "verify", "--root="+in.dest, name).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}

	us := units(t)
	for _, u := range us {
		out, err := verify(u.name)
		if err != nil || out != "" {
			t.Errorf("systemd-analyze verify --root=%s %s: %v\n%s", in.dest, u.name, err, out)
		} else {
			t.Logf("systemd-analyze verify --root=%s %s: exit 0, no output", in.dest, u.name)
		}
	}

	// It checks the installed tree, not this machine's: without its
	// program, a unit fails.
	u := us[0]
	program := filepath.Join(in.dest, strings.Fields(u.value(t, "ExecStart"))[0])
	if err := os.Remove(program); err != nil {
		t.Fatal(err)
	}
	out, err := verify(u.name)
	if err == nil || !strings.Contains(out, "not executable") {
		t.Errorf("systemd-analyze verify %s passes without %s: %v %s", u.name, program, err, out)
	}
	t.Logf("without %s: %v: %s", program, err, out)
}
