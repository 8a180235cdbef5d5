package admin

import "mailtokens/internal/tokenstore"

// actor is how the event log names the logged-in admin.
func actor(sess *tokenstore.Session) tokenstore.Actor { return tokenstore.AdminUser(sess.Admin.Name) }
