package admin

import (
	"regexp"
	"strings"
	"testing"

	"mailtokens/internal/provider"
)

// The scope guide marks Exchange Web Services as retired in Exchange
// Online, with its dates, points at Microsoft Graph, and offers no button
// that would add its scope.
func TestScopeGuideMarksEWSRetired(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	body := b.get("/tokens/new?type=microsoft").body
	guide := regexpFind(`(?s)(<details class="scope-guide.*?</details>)`, body)
	var row string
	for _, tr := range regexp.MustCompile(`(?s)<tr.*?</tr>`).FindAllString(guide, -1) {
		if strings.Contains(tr, "Exchange Web Services") {
			row = tr
		}
	}
	text := text(row)
	for _, want := range []string{"Retired", "2026-10-01", "2027-04-01", "Microsoft Graph"} {
		if !strings.Contains(text, want) {
			t.Errorf("the EWS row does not say %q: %s", want, text)
		}
	}
	if strings.Contains(guide, `data-scope="`+provider.MicrosoftEWSScope+`"`) {
		t.Error("the guide still offers to add the EWS scope")
	}
	if !strings.Contains(guide, `data-scope="`+provider.MicrosoftIMAPScope+`"`) {
		t.Error("the guide lost the IMAP scope's Add button")
	}
}
