package admin

import (
	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// actor is how the event log names the logged-in admin.
func actor(sess *accounts.Session) tokenstore.Actor { return tokenstore.AdminUser(sess.Admin.Name) }
