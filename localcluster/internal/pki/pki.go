// Package pki generates, in-process, the certificates and kubeconfigs a
// local control plane needs: one CA, the apiserver serving certificate, one
// client certificate per identity, and the service-account signing key.
package pki

import (
	"crypto"
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
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// validity is long enough for any test run and short enough to never be
// mistaken for a real cluster's PKI.
const validity = 7 * 24 * time.Hour

// Identity is a client of the apiserver.
type Identity struct {
	// File is the base name of the kubeconfig and key pair, e.g. "admin".
	File   string
	User   string
	Groups []string
}

// Files are the paths the control-plane flags point at.
type Files struct {
	Dir               string
	CACert, CAKey     string
	ServingCert       string
	ServingKey        string
	ServiceAccountKey string // private, for signing
	ServiceAccountPub string // public, for verifying
	Kubeconfigs       map[string]string
}

type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// Generate writes a fresh PKI into dir and a kubeconfig per identity that
// points at server.
func Generate(dir, server string, serviceIP net.IP, ids []Identity) (*Files, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("failed to create PKI directory: %w", err)
	}
	f := &Files{
		Dir:               dir,
		CACert:            filepath.Join(dir, "ca.crt"),
		CAKey:             filepath.Join(dir, "ca.key"),
		ServingCert:       filepath.Join(dir, "apiserver.crt"),
		ServingKey:        filepath.Join(dir, "apiserver.key"),
		ServiceAccountKey: filepath.Join(dir, "sa.key"),
		ServiceAccountPub: filepath.Join(dir, "sa.pub"),
		Kubeconfigs:       map[string]string{},
	}

	ca, err := newCertificate(nil, &x509.Certificate{
		Subject:               pkix.Name{CommonName: "eventcheck-local-ca"},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create CA: %w", err)
	}
	if err := writePair(ca, f.CACert, f.CAKey); err != nil {
		return nil, err
	}

	serving, err := newCertificate(ca, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), serviceIP},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create apiserver serving certificate: %w", err)
	}
	if err := writePair(serving, f.ServingCert, f.ServingKey); err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("failed to create service-account key: %w", err)
	}
	if err := writeKey(saKey, f.ServiceAccountKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(saKey.Public())
	if err != nil {
		return nil, fmt.Errorf("failed to encode service-account public key: %w", err)
	}
	if err := writePEM(f.ServiceAccountPub, "PUBLIC KEY", pub); err != nil {
		return nil, err
	}

	caPEM, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		client, err := newCertificate(ca, &x509.Certificate{
			Subject:     pkix.Name{CommonName: id.User, Organization: id.Groups},
			KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return nil, fmt.Errorf("failed to create client certificate for %s: %w", id.User, err)
		}
		certPath := filepath.Join(dir, id.File+".crt")
		keyPath := filepath.Join(dir, id.File+".key")
		if err := writePair(client, certPath, keyPath); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, id.File+".kubeconfig")
		if err := WriteKubeconfig(path, server, caPEM, certPath, keyPath); err != nil {
			return nil, err
		}
		f.Kubeconfigs[id.File] = path
	}
	return f, nil
}

// WriteKubeconfig writes a single-context kubeconfig with client
// certificate authentication; the certificate and key are embedded so the
// file stays valid if copied elsewhere.
func WriteKubeconfig(path, server string, caPEM []byte, certPath, keyPath string) error {
	cert, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	const name = "eventcheck-local"
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("failed to write kubeconfig %s: %w", path, err)
	}
	return nil
}

func newCertificate(parent *keyPair, tmpl *x509.Certificate) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Minute)
	tmpl.NotAfter = time.Now().Add(validity)
	signer, signerCert := crypto.Signer(key), tmpl
	if parent != nil {
		signer, signerCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, key.Public(), signer)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func writePair(kp *keyPair, certPath, keyPath string) error {
	if err := writePEM(certPath, "CERTIFICATE", kp.cert.Raw); err != nil {
		return err
	}
	return writeKey(kp.key, keyPath)
}

func writeKey(key *ecdsa.PrivateKey, path string) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("failed to encode key %s: %w", path, err)
	}
	return writePEM(path, "EC PRIVATE KEY", der)
}

func writePEM(path, blockType string, der []byte) error {
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("failed to write %s: %w", path, err)
	}
	return nil
}
