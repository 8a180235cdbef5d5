package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// maxClientKey bounds a client key file: a PEM key and certificate chain,
// or a service account's JSON key, is a few kilobytes.
const maxClientKey = 64 << 10

// readClientKey reads a client key from file, or from stdin when file is
// "" or "-": the whole input, never a flag value.
func readClientKey(env *Env, file string) (string, error) {
	var r io.Reader = env.Stdin
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("read the client key: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxClientKey+1))
	if err != nil {
		return "", fmt.Errorf("read the client key: %w", err)
	}
	if len(data) > maxClientKey {
		return "", fmt.Errorf("the client key is over %d KB: give the private key and its certificate, or the service account's JSON key", maxClientKey>>10)
	}
	return string(data), nil
}

// setClientKey puts key into set, checked as the web form checks it: a
// certificate and its key for Microsoft (the token then authenticates with
// certificate credentials, and the certificate's expiry is tracked), a
// service account's JSON key for Google (its client ID fills an empty
// --client-id). Problems name the --client-key-file flag.
func setClientKey(set *tokenstore.Settings, key string, now time.Time) (provider.KeyInfo, error) {
	set.ClientKey = secret.New(key)
	info, err := set.CheckClientKey(now)
	if err != nil {
		return info, fielderr.List{{Field: provider.FieldClientKey, Message: provider.KeyProblem(err)}}.Rename(flagNames)
	}
	switch set.Type {
	case provider.Microsoft, provider.Generic:
		set.ClientAuth, set.KeyExpiresOn = provider.ClientAuthPrivateKeyJWT, info.NotAfter
	case provider.Google:
		if set.ClientID == "" {
			if sa, err := provider.ParseServiceAccount([]byte(key)); err == nil {
				set.ClientID = sa.ClientID
			}
		}
	}
	return info, nil
}

// clock is the time the store runs on (tests move it).
func (env *Env) clock() time.Time {
	if env.now != nil {
		return env.now()
	}
	return time.Now()
}
