package redisconn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOpenTLSWithUser opens a rediss:// URL with an ACL user and password against a
// redis-server serving TLS only, its certificate trusted through SSL_CERT_FILE (as a
// deployment would add its CA to the system pool), which TestMain sets for the process.
func TestOpenTLSWithUser(t *testing.T) {
	t.Parallel() // its own server, on a port of its own
	dir := t.TempDir()
	port := freePort(t)
	startRedis(t, dir, "tls.pid", "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--tls-cert-file", tlsCert, "--tls-key-file", tlsKey, "--tls-auth-clients", "no",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--user", "default", "off", "--user", "dialer", "on", ">tls-pass-71c3", "~*", "&*", "+@all")

	url := fmt.Sprintf("rediss://dialer:tls-pass-71c3@127.0.0.1:%d/2", port)
	openAndRoundTrip(t, url, "over TLS")
	// The wrong password is refused, and the message hides both passwords.
	bad := strings.Replace(url, "tls-pass-71c3", "guess-000", 1)
	_, err := Open(t.Context(), bad)
	if err == nil || strings.Contains(err.Error(), "guess-000") || strings.Contains(err.Error(), "tls-pass-71c3") {
		t.Errorf("wrong password: %v", err)
	}
	// Plain redis:// to a TLS port fails with a message, not a hang.
	if _, err := Open(t.Context(), strings.Replace(url, "rediss://", "redis://", 1)); err == nil {
		t.Error("redis:// to a TLS-only port succeeded")
	}
}

// tlsCert and tlsKey are the paths of a self-signed certificate for 127.0.0.1 and its key,
// PEM encoded, that TestMain writes and trusts (SSL_CERT_FILE) before any test runs: Go
// reads SSL_CERT_FILE once, at the process's first TLS verification, so the variable must be
// set for the whole process, and t.Setenv would keep TestOpenTLSWithUser from running in
// parallel.
var tlsCert, tlsKey string

// trustSelfSigned writes a self-signed certificate for 127.0.0.1 and its key into dir, sets
// tlsCert and tlsKey to their paths and SSL_CERT_FILE to the certificate's.
func trustSelfSigned(dir string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	tlsCert, tlsKey = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(tlsCert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(tlsKey, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return os.Setenv("SSL_CERT_FILE", tlsCert)
}
