package smtpd

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-smtp"
)

// script is what a test asked the server to do wrong.
type script struct {
	rejectRcpt map[string]*smtp.SMTPError // by lowercased address
	failData   []*smtp.SMTPError          // one per DATA to fail, in order
	dropData   int                        // DATAs still to answer by hanging up
}

// RejectRecipient makes RCPT TO:<addr> fail with code (550 permanent, 450
// temporary, ...), enhanced (such as "5.1.10"; "" for go-smtp's X.0.0) and
// text, until AcceptRecipient(addr). The transaction goes on with the other
// recipients, as at a real server. It panics on a code that is not 4xx or
// 5xx or a malformed enhanced code: that is a mistake in the test.
//
// Exchange's answer for an unknown recipient in its own domains is
// 550 5.1.10 "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP
// address lookup".
func (s *Server) RejectRecipient(addr string, code int, enhanced, text string) {
	e := newReply(code, enhanced, text)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script.rejectRcpt[normalize(addr)] = e
}

// AcceptRecipient undoes RejectRecipient(addr).
func (s *Server) AcceptRecipient(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.script.rejectRcpt, normalize(addr))
}

// FailData makes the next times DATA transfers fail with code, enhanced
// and text once the whole message has been received; the message is not
// recorded. Calls add up. It panics as RejectRecipient does.
func (s *Server) FailData(times, code int, enhanced, text string) {
	e := newReply(code, enhanced, text)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.script.failData = append(s.script.failData, e)
	}
}

// DropAfterData makes the server, for the next times messages, record the
// message (Message.Dropped) and close the connection instead of answering
// 250, so that the sender cannot tell whether it went out. Calls add up.
func (s *Server) DropAfterData(times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script.dropData += times
}

func (s *Server) recipientRefusal(addr string) *smtp.SMTPError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.script.rejectRcpt[normalize(addr)]
}

// dataFailure takes the next scripted DATA failure, if any.
func (s *Server) dataFailure() *smtp.SMTPError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.script.failData) == 0 {
		return nil
	}
	e := s.script.failData[0]
	s.script.failData = s.script.failData[1:]
	return e
}

// dropAfterData takes one scripted drop, if any.
func (s *Server) dropAfterData() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.script.dropData == 0 {
		return false
	}
	s.script.dropData--
	return true
}

// newReply builds a scripted reply, panicking on a test's mistake.
func newReply(code int, enhanced, text string) *smtp.SMTPError {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtpd: scripted reply code %d is not an error (4xx or 5xx)", code))
	}
	e := &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
	if enhanced == "" {
		return e
	}
	parts := strings.Split(enhanced, ".")
	if len(parts) != 3 {
		panic(fmt.Sprintf("smtpd: enhanced code %q is not class.subject.detail", enhanced))
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			panic(fmt.Sprintf("smtpd: enhanced code %q is not class.subject.detail", enhanced))
		}
		e.EnhancedCode[i] = n
	}
	if e.EnhancedCode[0] != code/100 {
		panic(fmt.Sprintf("smtpd: enhanced code %q does not match reply code %d", enhanced, code))
	}
	return e
}

// GrantSendAs lets mailbox send with MAIL FROM:<address>, as an Exchange
// admin does with Add-RecipientPermission address -Trustee mailbox
// -AccessRights SendAs. Full access to a mailbox (mailauth's
// GrantFullAccess) does not include this, at Exchange as here.
func (s *Server) GrantSendAs(address, mailbox string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := normalize(address)
	if s.sendAs[a] == nil {
		s.sendAs[a] = map[string]bool{}
	}
	s.sendAs[a][normalize(mailbox)] = true
}

// maySendAs reports whether mailbox may use from as its envelope sender.
// The null sender impersonates nobody.
func (s *Server) maySendAs(mailbox, from string) bool {
	from = normalize(from)
	if from == "" || from == mailbox {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendAs[from][mailbox]
}
