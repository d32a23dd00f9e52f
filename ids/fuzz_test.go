package ids

import (
	"errors"
	"math/big"
	"regexp"
	"testing"
)

var digits = regexp.MustCompile(`^[0-9]+$`)

// FuzzParse: Parse accepts exactly the decimal strings of 1..2147483647
// (leading zeros allowed), returns their value, and refuses everything
// else with one of its two errors. The reference is math/big, which has
// no overflow to get wrong. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"1", "007", "2147483647", "2147483648", "0", "", "-1", "+1", " 1", "1e3", "99999999999999999999", "0000000000000000000001"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := Parse(b)
		want, ok := new(big.Int), false
		if digits.Match(b) {
			want.SetString(string(b), 10)
			ok = want.Sign() > 0 && want.Cmp(big.NewInt(1<<31-1)) <= 0
		}
		switch {
		case ok && (err != nil || int64(n) != want.Int64()):
			t.Fatalf("Parse(%q) = %d, %v; want %s", b, n, err, want)
		case !ok && err == nil:
			t.Fatalf("Parse(%q) = %d, accepted; want an error", b, n)
		case !ok && !errors.Is(err, ErrNotPositive) && !errors.Is(err, ErrOutOfRange):
			t.Fatalf("Parse(%q): error %v is neither ErrNotPositive nor ErrOutOfRange", b, err)
		case !ok && n != 0:
			t.Fatalf("Parse(%q) = %d with an error; want 0", b, n)
		}
	})
}
