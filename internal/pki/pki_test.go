package pki

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// A leaf verifies against its CA for the hosts it names, as a server and
// as a client, and not against another CA.
func TestLeafVerifiesAgainstItsCAOnly(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("node", "localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatalf("key pair: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s, usage %v: %v", host, usage, err)
			}
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.com"}); err == nil {
		t.Error("verified for a host it does not name")
	}
	otherPool := x509.NewCertPool()
	otherPool.AppendCertsFromPEM(other.PEM)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: otherPool, DNSName: "localhost"}); err == nil {
		t.Error("verified against another CA")
	}
}
