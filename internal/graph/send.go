package graph

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
)

// SendMIME sends the size bytes of mime, an RFC 5322 message, as the
// mailbox (POST /users/{mailbox}/sendMail, the MIME base64-encoded as
// text/plain). Graph answers 202 once it has accepted the message, and
// keeps a copy in the mailbox's Sent Items (it always does for MIME).
// Recipients come from the message's To, Cc and Bcc headers; Exchange
// removes Bcc from what the recipients get.
func (c *Client) SendMIME(ctx context.Context, mime io.ReaderAt, size int64) error {
	resp, err := c.do(ctx, request{Op: "send", Method: http.MethodPost, URL: c.userURL("/sendMail"),
		ContentType: "text/plain", Length: int64(base64.StdEncoding.EncodedLen(int(size))),
		Body: func() io.Reader {
			pr, pw := io.Pipe()
			go func() {
				enc := base64.NewEncoder(base64.StdEncoding, pw)
				_, err := io.Copy(enc, io.NewSectionReader(mime, 0, size))
				if err == nil {
					err = enc.Close()
				}
				pw.CloseWithError(err)
			}()
			return pr
		}})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}
