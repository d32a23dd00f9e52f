package main

import (
	"strings"
	"testing"
)

func TestCheckTargetSuccess(t *testing.T) {
	f := func(base string, allowRemote bool) {
		t.Helper()
		if _, err := checkTarget(base, allowRemote); err != nil {
			t.Fatalf("checkTarget(%q, %t): %v", base, allowRemote, err)
		}
	}
	f("http://127.0.0.1:3000", false)
	f("http://127.0.0.1:3000/", false)
	f("http://127.8.9.10:80", false)
	f("http://localhost:3000", false)
	f("http://LOCALHOST", false)
	f("http://[::1]:3000", false)
	f("https://127.0.0.1:8443/api", false)
	f("http://10.1.2.3:3000", true)
	f("https://reviews.example.com", true)
}

func TestCheckTargetFailure(t *testing.T) {
	f := func(base, want string) {
		t.Helper()
		_, err := checkTarget(base, false)
		if err == nil {
			t.Fatalf("checkTarget(%q) accepted it", base)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("checkTarget(%q): %v; want it to mention %q", base, err, want)
		}
	}
	f("http://10.0.0.1:3000", "not a loopback")
	f("http://192.168.1.20", "not a loopback")
	f("http://0.0.0.0:3000", "not a loopback")
	f("http://[::]:3000", "not a loopback")
	f("http://example.com", "not a loopback")
	f("http://localhost.example.com", "not a loopback")
	f("http://127.0.0.1.nip.io", "not a loopback")
	f("ftp://127.0.0.1", "scheme")
	f("127.0.0.1:3000", "base URL")
	f("//127.0.0.1:3000", "scheme")
	f("http://", "no host")
	f("http://127.0.0.1:3000/?x=1", "path only")
	f("http://user:pw@127.0.0.1", "path only")
}
