// go-verify: Go's crypto/x509 as a third, independent verifier (it shares no code with OpenSSL or GnuTLS).
// Usage: go run . <roots.pem> <intermediates.pem> <leaf.pem> [unix-time]
// Prints "OK" and exits 0 when the leaf chains to a root for any extended key usage, else prints why and exits 1.
package main

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"time"
)

func load(file string) []*x509.Certificate {
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	var certs []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return certs
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			fmt.Println("parse:", err)
			os.Exit(1)
		}
		certs = append(certs, cert)
	}
}

func main() {
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	for _, c := range load(os.Args[1]) {
		roots.AddCert(c)
	}
	for _, c := range load(os.Args[2]) {
		intermediates.AddCert(c)
	}
	options := x509.VerifyOptions{Roots: roots, Intermediates: intermediates, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if len(os.Args) > 4 {
		seconds, _ := strconv.ParseInt(os.Args[4], 10, 64)
		options.CurrentTime = time.Unix(seconds, 0)
	}
	if _, err := load(os.Args[3])[0].Verify(options); err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("OK")
}
