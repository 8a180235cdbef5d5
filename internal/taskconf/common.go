package taskconf

import (
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/secret"
)

// Store is where the shared token store lives.
type Store struct {
	// Path is TOKEN_STORE: a SQLite file, or a postgres:// URL (without
	// the password) for one store shared by several hosts.
	Path         string
	KeyFile      string // TOKEN_STORE_KEY_FILE
	PasswordFile string // TOKEN_STORE_PASSWORD_FILE: PostgreSQL's password
}

func readStore(f *File) Store {
	s := Store{
		Path:         f.String("TOKEN_STORE", "data/tokens.db"),
		KeyFile:      f.String("TOKEN_STORE_KEY_FILE", "data/tokens.key"),
		PasswordFile: f.String("TOKEN_STORE_PASSWORD_FILE", ""),
	}
	if u, err := url.Parse(s.Path); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		if _, has := u.User.Password(); has {
			f.problem("TOKEN_STORE", "must not contain the database password: put it in the file TOKEN_STORE_PASSWORD_FILE names (mode 0600), or in PGPASSFILE")
		}
	} else if s.PasswordFile != "" {
		f.warn("TOKEN_STORE_PASSWORD_FILE", "is only for a PostgreSQL TOKEN_STORE (postgres://…); it is ignored for the SQLite file %s", s.Path)
	}
	return s
}

// Worker is what every worker's task file says about its mail server and
// how to log in to it.
type Worker struct {
	Store
	Log
	mailserver.Server
	// CAFile, when set, holds PEM certificates of the CAs that sign the
	// server's certificate (a private CA); empty = the system's CAs. The
	// worker reads it into Server.RootCAs.
	CAFile string // PREFIX_TLS_CA_FILE
	Login
	// TokenKey is the key that names the token (MAILBOX_EMAIL_TOKEN_NAME or
	// MAIL_TOKEN_NAME), for messages about it.
	TokenKey string
}

func readWorker(f *File, prefix, tokenKey string, proto mailserver.Protocol, defSecurity mailserver.Security, ports map[mailserver.Security]int) Worker {
	w := Worker{Store: readStore(f), Log: readLog(f)}
	w.Server, w.CAFile = readServer(f, prefix, proto, defSecurity, ports)
	w.Login = readLogin(f, prefix, tokenKey)
	w.TokenKey = tokenKey
	return w
}

// Log is how a program logs.
type Log struct {
	JSON  bool       // LOG_FORMAT = json (default text)
	Level slog.Level // LOG_LEVEL = DEBUG | INFO | WARN | ERROR (default INFO)
}

func readLog(f *File) Log {
	var l Log
	l.JSON = f.Enum("LOG_FORMAT", "TEXT", "TEXT", "JSON") == "JSON"
	switch f.Enum("LOG_LEVEL", "INFO", "DEBUG", "INFO", "WARN", "ERROR") {
	case "DEBUG":
		l.Level = slog.LevelDebug
	case "WARN":
		l.Level = slog.LevelWarn
	case "ERROR":
		l.Level = slog.LevelError
	}
	return l
}

// AuthType is how a worker logs in.
type AuthType string

// The login methods.
const (
	Password AuthType = "PASSWORD"
	OAuth2   AuthType = "OAUTH2"
)

// readServer reads PREFIX_HOST, PREFIX_PORT, PREFIX_SECURITY and
// PREFIX_TLS_CA_FILE; ports default from the security.
func readServer(f *File, prefix string, proto mailserver.Protocol, defSecurity mailserver.Security, ports map[mailserver.Security]int) (s mailserver.Server, caFile string) {
	s.Protocol = proto
	s.Host = f.Required(prefix+"_HOST", "the mail server's host name, e.g. outlook.office365.com")
	if s.Host != "" && !validHost(s.Host) {
		f.problem(prefix+"_HOST", "%q is not a host name or IP address (no scheme, no port: put the port in %s_PORT)", s.Host, prefix)
	}
	s.Security = mailserver.Security(f.Enum(prefix+"_SECURITY", string(defSecurity), string(mailserver.SSL), string(mailserver.STARTTLS), string(mailserver.NONE)))
	s.Port = f.Int(prefix+"_PORT", ports[s.Security], 1, 65535)
	caFile = f.String(prefix+"_TLS_CA_FILE", "")
	if caFile != "" && s.Security == mailserver.NONE {
		f.warn(prefix+"_TLS_CA_FILE", "is ignored because %s_SECURITY is NONE", prefix)
	}
	if s.Security == mailserver.NONE && s.Host != "" && !isLoopback(s.Host) {
		f.warn(prefix+"_SECURITY", "NONE sends the login (password or token) in clear to %s: use SSL or STARTTLS", s.Host)
	}
	return s, caFile
}

// Login is how a worker authenticates.
type Login struct {
	User      string
	AuthType  AuthType
	Password  secret.Secret // PASSWORD only
	TokenName string        // OAUTH2 only; "" = the store's default token
}

// readLogin reads PREFIX_USER, PREFIX_AUTH_TYPE, PREFIX_PASSWORD and the
// token-name key (which the contract names differently per program).
func readLogin(f *File, prefix, tokenKey string) Login {
	var l Login
	l.User = f.Required(prefix+"_USER", "the mailbox's login, e.g. support@contoso.com")
	l.AuthType = AuthType(f.Enum(prefix+"_AUTH_TYPE", string(Password), string(Password), string(OAuth2)))
	pw := f.Secret(prefix + "_PASSWORD")
	l.TokenName = f.String(tokenKey, "")
	if raw, _ := f.raw(prefix + "_AUTH_TYPE"); raw != "" && !strings.EqualFold(raw, string(Password)) && !strings.EqualFold(raw, string(OAuth2)) {
		// Enum said what is wrong; which login is meant is unknown, so
		// nothing is said about the password or the token.
		return l
	}
	switch l.AuthType {
	case Password:
		if pw == "" {
			f.problem(prefix+"_PASSWORD", "is empty but %s_AUTH_TYPE is PASSWORD: set the password, or set %s_AUTH_TYPE = OAUTH2 and %s", prefix, prefix, tokenKey)
		}
		l.Password = secret.New(pw)
		if l.TokenName != "" {
			f.warn(tokenKey, "is ignored because %s_AUTH_TYPE is PASSWORD", prefix)
		}
	case OAuth2:
		if pw != "" {
			f.warn(prefix+"_PASSWORD", "is ignored because %s_AUTH_TYPE is OAUTH2: remove it", prefix)
		}
	}
	return l
}

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || strings.ContainsAny(h, " /:@") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func isLoopback(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// webAPIs are the workers' transports over HTTPS: the key that says
// where the API is, and its address by default.
var webAPIs = map[mailserver.Protocol]struct{ key, def string }{
	mailserver.GRAPH:    {"_GRAPH_URL", "https://graph.microsoft.com/v1.0"},
	mailserver.GMAILAPI: {"_GMAIL_API_URL", "https://gmail.googleapis.com"},
}

// readWebAPI reads the keys of a task whose protocol is a web API
// (GRAPH, GMAIL_API): the login (OAUTH2 only: the APIs take no
// password), PREFIX_GRAPH_URL or PREFIX_GMAIL_API_URL (the API's
// address; another for a national cloud, or the sandbox) and
// PREFIX_TLS_CA_FILE. Server names the API's host for the task's records.
// The keys of a mail server are ignored, with a warning.
func readWebAPI(f *File, prefix, tokenKey string, proto mailserver.Protocol) (w Worker, apiURL string) {
	w = Worker{Store: readStore(f), Log: readLog(f), Login: readLogin(f, prefix, tokenKey), TokenKey: tokenKey}
	if w.AuthType != OAuth2 {
		f.problem(prefix+"_AUTH_TYPE", "is %s, but %s_PROTOCOL = %s needs OAUTH2 (the API takes no password): set %s_AUTH_TYPE = OAUTH2 and %s", w.AuthType, prefix, proto, prefix, tokenKey)
	}
	api := webAPIs[proto]
	key := prefix + api.key
	apiURL = strings.TrimRight(f.String(key, api.def), "/")
	u, err := url.Parse(apiURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		f.problem(key, "%q is not an https:// URL such as %s", apiURL, api.def)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		f.problem(key, "%q would send the token in clear: use https://", apiURL)
	default:
		w.Server = mailserver.Server{Protocol: proto, Host: u.Hostname(), Port: 443, Security: mailserver.SSL}
		if p := u.Port(); p != "" {
			w.Server.Port, _ = strconv.Atoi(p)
		} else if u.Scheme == "http" {
			w.Server.Port = 80
		}
		if u.Scheme == "http" {
			w.Server.Security = mailserver.NONE
		}
	}
	w.CAFile = f.String(prefix+"_TLS_CA_FILE", "")
	for _, k := range []string{"_HOST", "_PORT", "_SECURITY"} {
		if f.Has(prefix + k) {
			f.warn(prefix+k, "is ignored because %s_PROTOCOL is %s (%s says where the API is)", prefix, proto, key)
		}
	}
	for other, o := range webAPIs {
		if other != proto && f.Has(prefix+o.key) {
			f.warn(prefix+o.key, "is ignored because %s_PROTOCOL is %s", prefix, proto)
		}
	}
	return w, apiURL
}

// ignoreWebAPIKeys warns about the web APIs' address keys in a task that
// uses a mail server.
func ignoreWebAPIKeys(f *File, prefix string, proto mailserver.Protocol) {
	for _, o := range webAPIs {
		if f.Has(prefix + o.key) {
			f.warn(prefix+o.key, "is ignored because %s_PROTOCOL is %s", prefix, proto)
		}
	}
}
