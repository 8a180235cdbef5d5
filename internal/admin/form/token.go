// Package form reads and checks the admin utility's forms, apart from the
// handlers: what the admin typed, kept as typed so a form with errors can
// be shown again, and the problems per field.
package form

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// Token is the add/edit token form.
type Token struct {
	Name, Type, Email, Tenant, ClientID string
	ClientSecret                        string // write-only: never filled back into a page
	SecretExpiresOn                     string // YYYY-MM-DD or ""
	Scope, AuthURL, TokenURL            string
	Cloud                               string   // Microsoft's national cloud (cloud.go)
	Key                                 Key      // the certificate or service account key (key.go)
	Standard                            Standard // other providers' fields (standard.go)
}

// ReadToken reads the form's fields. Each input is named by the identifier
// problems with it carry (tokenstore.FieldName, provider.FieldTenant, ...),
// which is also the input's id on the page.
func ReadToken(v url.Values) Token {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return Token{
		Name: get(tokenstore.FieldName), Type: get(provider.FieldType), Email: get(provider.FieldEmail),
		Tenant: get(provider.FieldTenant), ClientID: get(provider.FieldClientID),
		ClientSecret: v.Get(provider.FieldClientSecret), SecretExpiresOn: get(tokenstore.FieldSecretExpiresOn),
		Scope:   strings.Join(strings.Fields(v.Get(provider.FieldScope)), " "),
		AuthURL: get(provider.FieldAuthURL), TokenURL: get(provider.FieldTokenURL),
		Cloud:    readCloud(get),
		Key:      readKey(v),
		Standard: readStandard(v),
	}
}

// FromToken fills the form from a stored token, for editing. The client
// secret stays empty: it is never sent back to the browser.
func FromToken(t *tokenstore.Token) Token {
	f := Token{Name: t.Name, Type: string(t.Type), Email: t.Email, Tenant: t.Tenant, ClientID: t.ClientID,
		Scope: t.Scope, AuthURL: t.AuthURL, TokenURL: t.TokenURL, Cloud: t.Cloud, Standard: standardFrom(t)}
	if !t.SecretExpiresOn.IsZero() {
		f.SecretExpiresOn = t.SecretExpiresOn.Format(time.DateOnly)
	}
	f.Key = f.Key.WithStored(t)
	return f
}

// Settings checks the form and returns the token settings, or every
// problem by field identifier. creating says whether a client secret is
// required (on edit an empty secret keeps the stored one).
func (f Token) Settings(creating bool) (tokenstore.Settings, fielderr.List) {
	var errs fielderr.List
	typ, err := provider.ParseType(f.Type)
	if err != nil {
		errs.Add(provider.FieldType, "is not chosen: choose Microsoft Azure, Google Gmail or other")
	}
	set := tokenstore.Settings{Name: f.Name, Config: provider.Config{
		Type: typ, Email: f.Email, Tenant: f.Tenant, ClientID: f.ClientID,
		ClientSecret: secret.New(strings.TrimSpace(f.ClientSecret)), Scope: f.Scope,
		AuthURL: f.AuthURL, TokenURL: f.TokenURL, Cloud: f.settingsCloud(typ),
	}}
	if typ != provider.Microsoft {
		// The field is hidden for other types; a value left from switching
		// type must not end up in the token.
		set.Tenant = ""
	}
	if f.SecretExpiresOn != "" {
		d, err := time.Parse(time.DateOnly, f.SecretExpiresOn)
		if err != nil {
			errs.Add(tokenstore.FieldSecretExpiresOn, fmt.Sprintf("%q is not a date: write it as YYYY-MM-DD, like 2027-06-30", f.SecretExpiresOn))
		}
		set.SecretExpiresOn = d
	}
	if strings.ContainsAny(f.ClientSecret, "\r\n") {
		errs.Add(provider.FieldClientSecret, "must be on one line")
	}
	errs = append(errs, f.Key.apply(&set, time.Now())...)
	if creating && set.ClientSecret.IsZero() && typ != provider.Generic && !f.Key.given() {
		errs.Add(provider.FieldClientSecret, "is required: the secret's Value from the app registration (or, instead, a certificate or service account key below)")
	}
	f.Standard.apply(&set, creating, &errs)
	if err == nil {
		if verr := set.Validate(); verr != nil {
			for _, e := range verr.(fielderr.List) {
				if errs.For(e.Field) == "" {
					errs = append(errs, e)
				}
			}
		}
	}
	return set, errs
}
