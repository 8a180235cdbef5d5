package database

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"mailtokens/internal/durable"
)

// KeyEnv names the environment variable that may hold the store key (32
// bytes, base64) instead of a key file — for deployments that keep secrets
// in the service manager.
const KeyEnv = "MAILTOKENS_STORE_KEY"

const keySize = 32 // AES-256

// key seals and opens the secret columns with AES-256-GCM.
type key struct {
	aead cipher.AEAD
	id   string // short fingerprint, safe to show: tells keys apart in errors
}

func newKey(raw []byte) (*key, error) {
	if len(raw) != keySize {
		return nil, fmt.Errorf("the key must be %d bytes, got %d", keySize, len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(append([]byte("mailtokens key id\x00"), raw...))
	return &key{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

func decodeKey(text string) ([]byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return nil, errors.New("not base64")
	}
	if len(raw) != keySize {
		return nil, fmt.Errorf("holds %d bytes, want %d", len(raw), keySize)
	}
	return raw, nil
}

// GenerateKey returns a new random key in the text form key files and
// MAILTOKENS_STORE_KEY hold.
func GenerateKey() string {
	raw := make([]byte, keySize)
	rand.Read(raw)
	return base64.StdEncoding.EncodeToString(raw)
}

// readKeyFile reads a key file, refusing one that others can read.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by other users (mode %04o): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := decodeKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("key file %s is not a mailtokens key (%v): it must hold 32 random bytes in base64", path, err)
	}
	return raw, nil
}

// createKeyFile writes a new key with mode 0600. The key is written whole
// to a temporary file and then linked into place, so a process starting at
// the same moment never reads a half-written key; when another process won
// the race to create it, its key is read instead.
func createKeyFile(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	text := GenerateKey()
	f, err := os.CreateTemp(dir, ".key-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(text + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := os.Link(f.Name(), path); errors.Is(err, fs.ErrExist) {
		return readKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	if err := durable.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("create key file: %w", err)
	}
	raw, _ := decodeKey(text)
	return raw, nil
}

// sealVersion prefixes every ciphertext, so the format can change later.
const sealVersion = 1

// seal encrypts plain, bound to ad (the row and column), so a ciphertext
// copied into another row or column fails to open. Empty stays empty (NULL).
func (k *key) seal(plain, ad string) []byte {
	if plain == "" {
		return nil
	}
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	out := make([]byte, 0, 1+len(nonce)+len(plain)+k.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return k.aead.Seal(out, nonce, []byte(plain), []byte(ad))
}

// errUnseal never says more than that the value did not open: the caller
// adds which token and field.
var errUnseal = errors.New("cannot decrypt (wrong key, or the value was altered or moved)")

func (k *key) open(sealed []byte, ad string) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealVersion {
		return "", errUnseal
	}
	plain, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(ad))
	if err != nil {
		return "", errUnseal
	}
	return string(plain), nil
}

// Seal encrypts plain with the store's key, bound to ad (say, the row and
// column it is stored in), so that a ciphertext copied into another row or
// column fails to open. Empty stays empty (NULL).
func (d *DB) Seal(plain, ad string) []byte { return d.key.seal(plain, ad) }

// Unseal decrypts what Seal sealed with the same ad. Its error never says
// more than that the value did not open: the caller adds what it was.
func (d *DB) Unseal(sealed []byte, ad string) (string, error) { return d.key.open(sealed, ad) }
