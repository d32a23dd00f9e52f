package main

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// checkTarget parses the base URL and refuses any host that is not on this
// machine's loopback (127.0.0.0/8, ::1, localhost) unless allowRemote: a load
// test must never reach another machine by mistake. Names other than
// localhost are refused without a lookup, so /etc/hosts cannot redirect it.
func checkTarget(base string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("base URL %q: scheme must be http or https", base)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("base URL %q has no host", base)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("base URL %q: give scheme, host, port and path only", base)
	}
	if allowRemote || isLoopback(host) {
		return u, nil
	}
	return nil, fmt.Errorf("refusing to load %s: not a loopback address (127.0.0.0/8, ::1, localhost); pass -allow-non-loopback to target another machine you own", host)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
