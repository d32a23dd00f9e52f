package handlers

import "testing"

func TestParseIDSuccess(t *testing.T) {
	f := func(in string, want int32) {
		t.Helper()
		got, ok := parseID([]byte(in))
		if !ok || got != want {
			t.Errorf("parseID(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	f("1", 1)
	f("007", 7)
	f("2147483647", 2147483647)
	f("00000000000000000000042", 42)
}

func TestParseIDFailure(t *testing.T) {
	f := func(in string) {
		t.Helper()
		if got, ok := parseID([]byte(in)); ok {
			t.Errorf("parseID(%q) = %d, want failure", in, got)
		}
	}
	f("")
	f("0")
	f("000")
	f("-1")
	f("+1")
	f(" 1")
	f("1.0")
	f("1e3")
	f("2147483648")
	f("99999999999999999999999")
	f("0x10")
}
