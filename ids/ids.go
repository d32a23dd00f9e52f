// Package ids parses the decimal integers that API.md and the source CSV
// files use for ids and references: ^[0-9]+$, 1 ≤ n ≤ 2147483647.
package ids

import "errors"

var (
	// ErrNotPositive: empty, a character other than a digit, or zero.
	ErrNotPositive = errors.New("not a positive integer")
	// ErrOutOfRange: the digits read so far already exceed 2147483647.
	ErrOutOfRange = errors.New("out of range")
)

// Parse parses b. Leading zeros are allowed and dropped ("007" is 7).
func Parse(b []byte) (int32, error) {
	if len(b) == 0 {
		return 0, ErrNotPositive
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrNotPositive
		}
		n = n*10 + int64(c-'0')
		if n > 1<<31-1 {
			return 0, ErrOutOfRange
		}
	}
	if n < 1 {
		return 0, ErrNotPositive
	}
	return int32(n), nil
}
