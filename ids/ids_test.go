package ids

import (
	"errors"
	"testing"
)

func TestParseSuccess(t *testing.T) {
	f := func(in string, want int32) {
		t.Helper()
		got, err := Parse([]byte(in))
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("1", 1)
	f("007", 7)
	f("2147483647", 2147483647)
}

func TestParseFailure(t *testing.T) {
	f := func(in string, want error) {
		t.Helper()
		if got, err := Parse([]byte(in)); !errors.Is(err, want) {
			t.Errorf("Parse(%q) = %d, %v; want %v", in, got, err, want)
		}
	}
	f("", ErrNotPositive)
	f("0", ErrNotPositive)
	f("-1", ErrNotPositive)
	f("1.0", ErrNotPositive)
	f(" 1", ErrNotPositive)
	f("2147483648", ErrOutOfRange)
	f("99999999999999999999", ErrOutOfRange)
}
