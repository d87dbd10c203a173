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
	"sync"
	"testing"
	"time"
)

// TestOpenTLSWithUser opens a rediss:// URL with an ACL user and password against a
// redis-server serving TLS only, its certificate trusted through SSL_CERT_FILE (as a
// deployment would add its CA to the system pool).
func TestOpenTLSWithUser(t *testing.T) {
	dir := t.TempDir()
	certPath, keyPath := writeSelfSigned(t, dir)
	// Go reads SSL_CERT_FILE once, at the process's first TLS verification; this package's
	// other tests make none.
	t.Setenv("SSL_CERT_FILE", certPath)
	port := freePort(t)
	startRedis(t, dir, "tls.pid", "--port", "0", "--tls-port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--tls-cert-file", certPath, "--tls-key-file", keyPath, "--tls-auth-clients", "no",
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

// selfSigned is one self-signed certificate for 127.0.0.1 and its key, PEM encoded, made
// once per process: Go reads SSL_CERT_FILE at the first TLS verification only, so a second
// run of the test (go test -count=2) must present the certificate the first one trusted.
var selfSigned = sync.OnceValues(func() (pemPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pemPair{}, err
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
		return pemPair{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return pemPair{}, err
	}
	return pemPair{
		cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
})

// pemPair is a certificate and its private key, PEM encoded.
type pemPair struct{ cert, key []byte }

// writeSelfSigned writes selfSigned's certificate and key into dir.
func writeSelfSigned(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	pair, err := selfSigned()
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pair.cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pair.key, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
