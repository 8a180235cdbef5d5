package tokenstore

// ExecForTests runs raw SQL on the store, for tests of other packages that
// need a state the API does not offer (a fresh install without admins).
// Never call it outside tests.
func ExecForTests(s *Store, query string, args ...any) error {
	_, err := s.db.Exec(query, args...)
	return err
}
