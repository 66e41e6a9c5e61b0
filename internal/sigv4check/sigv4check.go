// Package sigv4check is an endpoint that checks AWS SigV4 signatures as
// Amazon OpenSearch Service does, with the AWS SDK's own signer, and passes
// the requests it accepts to an OpenSearch behind it: the url provider's
// and the exporter's SigV4 tested against something that can say no. It
// answers a bad signature with the service's own messages.
package sigv4check

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The messages Amazon OpenSearch Service answers a rejected signature with.
const (
	MsgWrongRegion    = "Credential should be scoped to a valid region. "
	MsgWrongService   = "Credential should be scoped to correct service: '%s'. "
	MsgSignature      = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	MsgUnknownKey     = "The security token included in the request is invalid."
	MsgMissing        = "Missing Authentication Token"
	MsgPayloadHash    = "The provided 'x-amz-content-sha256' header does not match what was computed."
	MsgExpired        = "Signature expired"
	algorithm         = "AWS4-HMAC-SHA256"
	maxSkew           = 5 * time.Minute
	maxBody           = 64 << 20
	amzDateLayout     = "20060102T150405Z"
	headerContentHash = "X-Amz-Content-Sha256"
)

// Verifier checks each request's signature for Region and Service with
// Credentials, then hands it, unsigned, to Next.
type Verifier struct {
	Region, Service string
	Credentials     aws.Credentials
	Next            http.Handler
	// Accepted counts the requests that passed, for tests.
	Accepted func()
}

func (v *Verifier) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if msg := v.check(r, body); msg != "" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
		return
	}
	if v.Accepted != nil {
		v.Accepted()
	}
	r.Header.Del("Authorization")
	for k := range r.Header {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			r.Header.Del(k)
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	v.Next.ServeHTTP(w, r)
}

// authorization is the parsed Authorization header.
type authorization struct {
	keyID, date, region, service string
	signedHeaders, signature     string
}

func parse(h string) (authorization, bool) {
	var a authorization
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		return a, false
	}
	for part := range strings.SplitSeq(rest, ",") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			scope := strings.Split(val, "/")
			if len(scope) != 5 || scope[4] != "aws4_request" {
				return a, false
			}
			a.keyID, a.date, a.region, a.service = scope[0], scope[1], scope[2], scope[3]
		case "SignedHeaders":
			a.signedHeaders = val
		case "Signature":
			a.signature = val
		}
	}
	return a, a.keyID != "" && a.signedHeaders != "" && a.signature != ""
}

// check returns the service's message for a rejected request, "" for one
// whose signature the SDK's signer computes the same.
func (v *Verifier) check(r *http.Request, body []byte) string {
	a, ok := parse(r.Header.Get("Authorization"))
	switch {
	case !ok:
		return MsgMissing
	case a.keyID != v.Credentials.AccessKeyID:
		return MsgUnknownKey
	case a.region != v.Region:
		return MsgWrongRegion
	case a.service != v.Service:
		return fmt.Sprintf(MsgWrongService, v.Service)
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get(headerContentHash); h != "" && h != payloadHash {
		return MsgPayloadHash
	}
	signed, err := time.Parse(amzDateLayout, r.Header.Get("X-Amz-Date"))
	if err != nil || time.Since(signed).Abs() > maxSkew || signed.Format("20060102") != a.date {
		return MsgExpired
	}
	// The request as the client signed it: only the headers it signed.
	again, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return MsgSignature
	}
	again.Host = r.Host
	again.ContentLength = r.ContentLength
	for _, h := range strings.Split(a.signedHeaders, ";") {
		if h == "host" || h == "content-length" {
			continue
		}
		for _, val := range r.Header.Values(h) {
			again.Header.Add(h, val)
		}
	}
	if err := v4.NewSigner().SignHTTP(r.Context(), v.Credentials, again, payloadHash, v.Service, v.Region, signed); err != nil {
		return MsgSignature
	}
	want, ok := parse(again.Header.Get("Authorization"))
	if !ok || want.signature != a.signature || want.signedHeaders != a.signedHeaders {
		return MsgSignature
	}
	return ""
}
