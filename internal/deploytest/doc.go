// Package deploytest tests what `make install` (deploy/install.sh) puts on
// a machine against what the systemd units in deploy/ and the README's
// install section name. It has no code of its own.
package deploytest
