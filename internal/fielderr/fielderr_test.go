package fielderr

import (
	"errors"
	"testing"
)

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("empty list must be no error")
	}
	l.Add("name", "is required")
	l.Add("tenant", "is not a GUID")
	err := l.Err()
	if err == nil {
		t.Fatal("want error")
	}
	if got, want := err.Error(), "name: is required\ntenant: is not a GUID"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var back List
	if !errors.As(err, &back) || back.For("tenant") != "is not a GUID" || back.For("scope") != "" {
		t.Fatalf("For lookups wrong: %v", back)
	}
}

func TestRename(t *testing.T) {
	l := List{{"tenant", "is required"}, {"extra", "odd"}}
	got := l.Rename(map[string]string{"tenant": "--tenant"})
	if want := "--tenant: is required\nextra: odd"; got.Error() != want {
		t.Fatalf("Rename: %q, want %q", got.Error(), want)
	}
	if l[0].Field != "tenant" {
		t.Fatal("Rename changed the original list")
	}
}
