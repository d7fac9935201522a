// Reads the documents `provision export cert-manager` writes (as JSON: a list of cases, each a list of
// documents) and parses every value with the Go standard library calls cert-manager itself makes on them:
// tls.X509KeyPair for the CA Secret (key must match certificate), x509 chain verification up to ca.crt,
// time.ParseDuration for duration/renewBefore (metav1.Duration), net.ParseIP, mail.ParseAddress and url.Parse for
// the alt names, x509.ParseCertificate for each Bundle source. Prints one JSON result per case.
// Run: go run test/export/k8s/go-check.go < cases.json
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"time"
)

type doc struct {
	Kind     string            `json:"kind"`
	Metadata struct{ Name string } `json:"metadata"`
	Data     map[string]string `json:"data"`
	Spec     struct {
		Duration       string   `json:"duration"`
		RenewBefore    string   `json:"renewBefore"`
		IPAddresses    []string `json:"ipAddresses"`
		EmailAddresses []string `json:"emailAddresses"`
		URIs           []string `json:"uris"`
		Sources        []struct {
			InLine string `json:"inLine"`
		} `json:"sources"`
	} `json:"spec"`
}

type certResult struct {
	DurationSeconds    float64  `json:"durationSeconds"`
	RenewBeforeSeconds *float64 `json:"renewBeforeSeconds"`
	IPs                []string `json:"ips"`
}

type result struct {
	Errors       []string              `json:"errors"`
	Certificates map[string]certResult `json:"certificates"`
	BundleRoots  int                   `json:"bundleRoots"`
}

func certs(data []byte) []*x509.Certificate {
	var out []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			out = append(out, c)
		}
	}
	return out
}

func check(docs []doc) result {
	r := result{Errors: []string{}, Certificates: map[string]certResult{}}
	fail := func(format string, args ...any) { r.Errors = append(r.Errors, fmt.Sprintf(format, args...)) }
	for _, d := range docs {
		switch d.Kind {
		case "Secret":
			get := func(key string) []byte {
				b, err := base64.StdEncoding.DecodeString(d.Data[key])
				if err != nil {
					fail("Secret %s: %s is not base64: %v", d.Metadata.Name, key, err)
				}
				return b
			}
			crt, key, ca := get("tls.crt"), get("tls.key"), get("ca.crt")
			if _, err := tls.X509KeyPair(crt, key); err != nil {
				fail("Secret %s: tls.X509KeyPair: %v", d.Metadata.Name, err)
			}
			chain, roots := certs(crt), x509.NewCertPool()
			for _, c := range certs(ca) {
				roots.AddCert(c)
			}
			if len(chain) == 0 {
				fail("Secret %s: tls.crt holds no certificate", d.Metadata.Name)
				continue
			}
			intermediates := x509.NewCertPool()
			for _, c := range chain[1:] {
				intermediates.AddCert(c)
			}
			if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				fail("Secret %s: tls.crt does not verify up to ca.crt: %v", d.Metadata.Name, err)
			}
			if !chain[0].IsCA {
				fail("Secret %s: tls.crt is not a CA", d.Metadata.Name)
			}
		case "Certificate":
			var c certResult
			dur, err := time.ParseDuration(d.Spec.Duration)
			if err != nil {
				fail("Certificate %s: duration: %v", d.Metadata.Name, err)
			}
			c.DurationSeconds = dur.Seconds()
			if d.Spec.RenewBefore != "" {
				rb, err := time.ParseDuration(d.Spec.RenewBefore)
				if err != nil {
					fail("Certificate %s: renewBefore: %v", d.Metadata.Name, err)
				}
				s := rb.Seconds()
				c.RenewBeforeSeconds = &s
			}
			c.IPs = []string{}
			for _, ip := range d.Spec.IPAddresses {
				parsed := net.ParseIP(ip)
				if parsed == nil {
					fail("Certificate %s: ipAddresses: %q is not an IP", d.Metadata.Name, ip)
					continue
				}
				c.IPs = append(c.IPs, parsed.String())
			}
			for _, e := range d.Spec.EmailAddresses {
				if a, err := mail.ParseAddress(e); err != nil || a.Address != e {
					fail("Certificate %s: emailAddresses: %q: %v", d.Metadata.Name, e, err)
				}
			}
			for _, u := range d.Spec.URIs {
				if parsed, err := url.Parse(u); err != nil || parsed.Scheme == "" {
					fail("Certificate %s: uris: %q: %v", d.Metadata.Name, u, err)
				}
			}
			r.Certificates[d.Metadata.Name] = c
		case "Bundle":
			for i, s := range d.Spec.Sources {
				found := certs([]byte(s.InLine))
				if len(found) != 1 || !found[0].IsCA || found[0].CheckSignatureFrom(found[0]) != nil {
					fail("Bundle %s: source %d is not one self-signed CA certificate", d.Metadata.Name, i)
				}
				r.BundleRoots += len(found)
			}
		}
	}
	return r
}

func main() {
	var cases [][]doc
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	results := []result{}
	for _, docs := range cases {
		results = append(results, check(docs))
	}
	json.NewEncoder(os.Stdout).Encode(results)
}
