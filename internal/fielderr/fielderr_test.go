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
	l.Add("Name", "is required")
	l.Add("Tenant ID", "is not a GUID")
	err := l.Err()
	if err == nil {
		t.Fatal("want error")
	}
	if got, want := err.Error(), "Name: is required\nTenant ID: is not a GUID"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	var back List
	if !errors.As(err, &back) || back.For("Tenant ID") != "is not a GUID" || back.For("Scope") != "" {
		t.Fatalf("For lookups wrong: %v", back)
	}
}
