#!/bin/sh
# Installs mailtokens for real, at the paths the units in deploy/ name:
#
#   the system user and group mailtokens
#   /opt/mailtokens/bin/   evadmin, evmail, batchmail (never the demo)   root 0755
#   /opt/mailtokens/README.md                                            root 0644
#   /etc/mailtokens/       evadmin.properties, evmail/support.properties,
#                          batchmail/notify.properties            root:mailtokens 0750/0640
#   /var/lib/mailtokens/   the store, its key, inbox/, outbox/    mailtokens 0700
#   /etc/systemd/system/   evadmin.service, evmail@.service, batchmail@.service,
#                          evmail-tasks.service, batchmail-tasks.service
#
# `make install` runs it (after `make build`, as yourself). The example
# files are conf/*.properties with the store, key, Maildir and spool set to
# absolute paths under /var/lib/mailtokens, the one directory the units may
# write to. A file in /etc/mailtokens that exists is kept: installing again
# updates programs and units, never your settings.
#
# DESTDIR=DIR installs into DIR instead (a package build, the test): then it
# creates no user, changes no owner and reloads nothing, and prints each such
# command it leaves out as "not run (DESTDIR): COMMAND".
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$SRC/bin}
DESTDIR=${DESTDIR:-}

NAME=mailtokens
PREFIX=/opt/mailtokens
CONF=/etc/mailtokens
DATA=/var/lib/mailtokens
UNITS=/etc/systemd/system
PROGRAMS="evadmin evmail batchmail"

die() { echo "install.sh: $*" >&2; exit 1; }

# privileged CMD...: runs CMD; with DESTDIR, prints it instead.
privileged() {
	if [ -n "$DESTDIR" ]; then
		echo "not run (DESTDIR): $*"
	else
		"$@"
	fi
}

# dir MODE OWNER:GROUP PATH
dir() {
	install -d -m "$1" "$DESTDIR$3"
	privileged chown "$2" "$3"
}

# file MODE OWNER:GROUP SOURCE PATH
file() {
	install -m "$1" "$3" "$DESTDIR$4"
	privileged chown "$2" "$4"
}

# example SOURCE PATH UNIT KEY=VALUE...: installs conf/SOURCE as PATH, for
# UNIT, with each KEY's line set to VALUE, unless PATH exists. A KEY that
# conf/SOURCE does not set exactly once stops the install.
example() {
	src=$1 dst=$2 unit=$3
	shift 3
	if [ -e "$DESTDIR$dst" ]; then
		echo "kept $dst (it exists; the new example is $SRC/conf/$src)"
		return
	fi
	{
		echo "# Installed by deploy/install.sh from conf/$src,"
		echo "# for $unit."
		case $unit in
		*@*)
			echo "# Another task: install -m 0640 -g $NAME this file as NAME.properties"
			echo "# in $(dirname "$dst"), then systemctl enable --now ${unit%%@*}@NAME."
			;;
		esac
		echo "# After editing: systemctl restart $unit"
		echo
		awk -v pairs="$(printf '%s\n' "$@")" '
			BEGIN {
				n = split(pairs, p, "\n")
				for (i = 1; i <= n; i++) {
					if (p[i] == "") continue
					eq = index(p[i], "=")
					k = substr(p[i], 1, eq - 1)
					v[k] = substr(p[i], eq + 1)
					seen[k] = 0
				}
			}
			{
				for (k in v) if ($0 ~ "^" k "[ \t]*=") { print k " = " v[k]; seen[k]++; next }
				print
			}
			END {
				for (k in seen) if (seen[k] != 1) {
					printf "install.sh: %s sets %s on %d lines, not 1: update deploy/install.sh\n", FILENAME, k, seen[k] > "/dev/stderr"
					bad = 1
				}
				exit bad
			}' "$SRC/conf/$src"
	} >"$tmp"
	file 0640 "root:$NAME" "$tmp" "$dst"
}

for p in $PROGRAMS; do
	[ -x "$BIN/$p" ] || die "$BIN/$p is missing: run make build first (as yourself, not with sudo)"
done
if [ -z "$DESTDIR" ] && [ "$(id -u)" != 0 ]; then
	die "run as root (sudo make install), or set DESTDIR to install into a directory"
fi
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# The user the units run as; its home is the data directory, it has no shell.
if [ -n "$DESTDIR" ] || ! getent passwd "$NAME" >/dev/null; then
	group=--user-group
	if [ -z "$DESTDIR" ] && getent group "$NAME" >/dev/null; then group="-g $NAME"; fi
	# shellcheck disable=SC2086 # $group is two words or one
	privileged useradd --system $group --home-dir "$DATA" --no-create-home \
		--shell /usr/sbin/nologin --comment "mailtokens services" "$NAME"
	[ -n "$DESTDIR" ] || echo "created the system user $NAME"
fi

dir 0755 root:root "$PREFIX"
dir 0755 root:root "$PREFIX/bin"
for p in $PROGRAMS; do
	file 0755 root:root "$BIN/$p" "$PREFIX/bin/$p"
done
file 0644 root:root "$SRC/README.md" "$PREFIX/README.md"

# Task files hold mail passwords: readable by the services' group only.
dir 0750 "root:$NAME" "$CONF"
dir 0750 "root:$NAME" "$CONF/evmail"
dir 0750 "root:$NAME" "$CONF/batchmail"
dir 0750 "root:$NAME" "$CONF/evmail.d"
dir 0750 "root:$NAME" "$CONF/batchmail.d"
dir 0700 "$NAME:$NAME" "$DATA"

store="TOKEN_STORE=$DATA/tokens.db"
key="TOKEN_STORE_KEY_FILE=$DATA/tokens.key"
example evadmin.properties "$CONF/evadmin.properties" evadmin.service "$store" "$key"
example evmail.properties "$CONF/evmail/support.properties" evmail@support.service \
	"$store" "$key" "MAILBOX_DELIVER_TO=maildir:$DATA/inbox/support"
example batchmail.properties "$CONF/batchmail/notify.properties" batchmail@notify.service \
	"$store" "$key" "MAIL_SPOOL_DIR=$DATA/outbox/notify"

install -d -m 0755 "$DESTDIR$UNITS"
for u in "$SRC"/deploy/*.service; do
	file 0644 root:root "$u" "$UNITS/$(basename "$u")"
done
if [ -n "$DESTDIR" ] || [ -d /run/systemd/system ]; then
	privileged systemctl daemon-reload
fi

echo "installed mailtokens into ${DESTDIR:-/}: next, edit $CONF/evadmin.properties, then systemctl enable --now evadmin"
