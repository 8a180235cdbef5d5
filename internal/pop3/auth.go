package pop3

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"
)

// maxAuthRounds bounds an AUTH exchange. XOAUTH2 and OAUTHBEARER need at
// most three lines from the server; a server that keeps challenging is
// stopped with "*" rather than answered forever.
const maxAuthRounds = 8

// User logs in with USER and PASS. The password is sent as given and never
// appears in an error: a refusal is an *Error for the command "PASS".
func (c *Client) User(user, pass string) error {
	if strings.ContainsAny(user, "\r\n") {
		return errors.New("pop3 USER: the user name contains a line break")
	}
	if strings.ContainsAny(pass, "\r\n") {
		return errors.New("pop3 PASS: the password contains a line break")
	}
	if _, err := c.cmd("USER "+user, "USER "+user); err != nil {
		return err
	}
	_, err := c.cmd("PASS", "PASS "+pass)
	return err
}

// Auth logs in with a SASL mechanism (RFC 5034), in two steps: it sends
// "AUTH <MECH>" alone, waits for the server's "+", and only then sends the
// base64 initial response. Exchange Online requires this (it answers an
// initial response on the AUTH line with "-ERR Protocol error"), and Gmail
// accepts it. Later challenges go to mech.Next and its answers back to the
// server, so a failure challenge (Gmail's JSON) is answered by the mechanism
// — with an empty line for the oauthsasl XOAUTH2 client — and the server's
// final -ERR comes back as *Error. If the mechanism gives up, the exchange
// is cancelled with "*" and its error returned. The initial response and
// every answer may hold a token; none of them appears in an error.
func (c *Client) Auth(mech sasl.Client) error {
	if err := c.ready(); err != nil {
		return err
	}
	name, ir, err := mech.Start()
	if err != nil {
		return fmt.Errorf("pop3 AUTH: %w", err)
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("pop3 AUTH: mechanism name %q is not a single word", name)
	}
	command := "AUTH " + strings.ToUpper(name)
	if err := c.send(command, command); err != nil {
		return err
	}
	irPending := ir != nil
	for round := 0; ; round++ {
		line, err := c.readLine()
		if err != nil {
			return c.fail(command, err)
		}
		ind, text, err := parseStatus(line, true)
		if err != nil {
			return c.fail(command, err)
		}
		switch ind {
		case replyOK:
			return nil
		case replyErr:
			return newError(command, text)
		}
		if round >= maxAuthRounds {
			return c.cancelAuth(command, fmt.Errorf("%w: server sent more than %d challenges", ErrMalformed, maxAuthRounds))
		}
		challenge, err := decodeChallenge(text)
		if err != nil {
			return c.cancelAuth(command, err)
		}
		var resp []byte
		if irPending && len(challenge) == 0 {
			// The empty first challenge asks for the initial response
			// (RFC 4422 section 5), which this client never puts on the
			// AUTH line.
			resp = ir
		} else if resp, err = mech.Next(challenge); err != nil {
			return c.cancelAuth(command, err)
		}
		irPending = false
		// An empty response is an empty line: what Gmail wants in answer
		// to its failure challenge.
		if err := c.send(command, base64.StdEncoding.EncodeToString(resp)); err != nil {
			return err
		}
	}
}

// decodeChallenge decodes the base64 after "+". RFC 5034 servers send "="
// for nothing; some send nothing at all.
func decodeChallenge(text string) ([]byte, error) {
	if text == "" || text == "=" {
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("%w: challenge is not base64", ErrMalformed)
	}
	return b, nil
}

// cancelAuth ends an exchange the client cannot go on with by sending "*"
// (RFC 5034), reads the server's -ERR and returns why it gave up.
func (c *Client) cancelAuth(command string, why error) error {
	if err := c.send(command, "*"); err != nil {
		return err
	}
	if _, err := c.status(command); err != nil {
		var perr *Error
		if !errors.As(err, &perr) {
			return err
		}
	}
	return fmt.Errorf("pop3 %s: cancelled: %w", command, why)
}
