package handlers

import (
	"math/bits"
	"strconv"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string escaped like JavaScript's
// JSON.stringify: only '"', '\\' and control characters are escaped; '<',
// '>', '&' and U+2028/U+2029 stay literal. Invalid UTF-8 (which PostgreSQL
// never returns) becomes U+FFFD so the output is always valid JSON.
func appendJSONString(b []byte, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, "\ufffd"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\b':
			b = append(b, '\\', 'b')
		case '\f':
			b = append(b, '\\', 'f')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// averageScale is 10^16: averages are shown with exactly 16 decimals.
const averageScale = 1e16

// appendAverage appends sum/count with exactly 16 decimals, rounded half away
// from zero, with integer arithmetic only: the text PostgreSQL gives for
// AVG(smallint) of values 1..5. (float64 cannot: it holds ~16 significant
// digits and rounds the 17th differently.) count must be positive.
func appendAverage(b []byte, sum, count int64) []byte {
	neg := sum < 0
	mag := uint64(sum)
	if neg {
		mag = -mag
	}
	d := uint64(count)
	q, r := mag/d, mag%d
	// frac = r·10^16 / d < 10^16 fits in 64 bits since r < d; the 128-bit
	// product keeps it exact for any count.
	hi, lo := bits.Mul64(r, averageScale)
	frac, rem := bits.Div64(hi, lo, d)
	if rem >= d-rem { // rem/d ≥ ½: half away from zero
		frac++
		if frac == averageScale {
			frac = 0
			q++
		}
	}
	if neg && (q != 0 || frac != 0) {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, q, 10)
	b = append(b, '.')
	var digits [16]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	return append(b, digits[:]...)
}
