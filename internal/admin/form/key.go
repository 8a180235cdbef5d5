package form

import (
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// The key field of the token form (templates/form_key.html): a
// certificate with its private key (Microsoft's certificate credentials)
// or a Google service account's JSON key. Write-only: a stored key is
// described, never sent back to the browser.

// fieldKeyRemove is the checkbox that forgets a stored key.
const fieldKeyRemove = "client_key_remove"

func init() {
	labels[provider.FieldClientKey] = "Certificate or Service Account Key"
}

// Key is what the form says about the client key.
type Key struct {
	ClientKey string // write-only: never filled back into a page
	Remove    bool
	// Stored and Info describe the key the token has (editing): whether
	// one is stored, and what it is ("certificate CN=…, expires …,
	// thumbprint …"). Set from the token, never from the request.
	Stored bool
	Info   string
}

func readKey(v url.Values) Key {
	return Key{ClientKey: strings.TrimSpace(v.Get(provider.FieldClientKey)), Remove: v.Get(fieldKeyRemove) != ""}
}

// WithStored is k with the description of t's stored key.
func (k Key) WithStored(t *tokenstore.Token) Key {
	k.Stored, k.Info = t.HasClientKey, ""
	if t.HasClientKey {
		if info, err := t.ClientKeyInfo(); err == nil {
			k.Info = info.String()
		} else {
			k.Info = "it " + provider.KeyProblem(err)
		}
	}
	return k
}

// given says whether the form brings a key, or keeps a stored one.
func (k Key) given() bool { return k.ClientKey != "" || (k.Stored && !k.Remove) }

// apply checks the key field and puts it into set: a new key, checked at
// now (an expired certificate is refused here rather than by Microsoft
// later), with the certificate's expiry and, for Microsoft, certificate
// credentials as the client authentication; or the stored key kept or
// removed.
func (k Key) apply(set *tokenstore.Settings, now time.Time) fielderr.List {
	var errs fielderr.List
	switch {
	case k.ClientKey != "":
		set.ClientKey = secret.New(k.ClientKey)
		info, err := set.CheckClientKey(now)
		if err != nil {
			errs.Add(provider.FieldClientKey, provider.KeyProblem(err))
			set.ClientKey = secret.Secret{} // Validate need not say it again
			break
		}
		set.KeyExpiresOn = info.NotAfter
		if set.Type == provider.Google && set.ClientID == "" {
			if sa, err := provider.ParseServiceAccount([]byte(k.ClientKey)); err == nil {
				set.ClientID = sa.ClientID
			}
		}
	case k.Stored && k.Remove:
		set.DropClientKey = true
	}
	if set.Type == provider.Microsoft && k.given() && !set.DropClientKey {
		set.ClientAuth = provider.ClientAuthPrivateKeyJWT
	}
	return errs
}
