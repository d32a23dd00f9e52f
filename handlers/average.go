package handlers

import (
	"strconv"
	"strings"
)

// appendAverage appends sum/count as PostgreSQL prints AVG(smallint), which
// is numeric_div(sum, count): rounded half away from zero to the scale
// divScale picks, normally 16 decimals. It uses integer arithmetic only:
// float64 holds ~16 significant digits and would round the last one
// differently. count must be positive.
func appendAverage(b []byte, sum int64, count int32) []byte {
	neg := sum < 0
	mag := uint64(sum)
	if neg {
		mag = -mag
	}
	d := uint64(count)
	q, r := mag/d, mag%d
	scale := divScale(mag, d)
	// Long division, one decimal at a time: r < d < 2^31, so r·10 never
	// overflows. One more step decides the rounding.
	var digits [32]byte
	frac := digits[:scale]
	for i := range frac {
		r *= 10
		frac[i] = byte('0' + r/d)
		r %= d
	}
	if r >= d-r { // remainder ≥ ½ ulp: half away from zero
		i := len(frac) - 1
		for ; i >= 0 && frac[i] == '9'; i-- {
			frac[i] = '0'
		}
		if i >= 0 {
			frac[i]++
		} else {
			q++
		}
	}
	if neg && (q != 0 || r != 0 || strings.Trim(string(frac), "0") != "") {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, q, 10)
	if scale > 0 {
		b = append(b, '.')
		b = append(b, frac...)
	}
	return b
}

// divScale is the result scale PostgreSQL's numeric division picks for two
// integers (select_div_scale in numeric.c): 16 significant digits from the
// estimated quotient weight in base-10000 digits. When the leading base-10000
// digit of sum is not above count's at the same weight (e.g. an average of
// exactly 1), PostgreSQL estimates one group fewer and prints 20 decimals.
func divScale(sum, count uint64) int {
	w1, f1 := nbaseLead(sum)
	w2, f2 := nbaseLead(count)
	qweight := w1 - w2
	if f1 <= f2 {
		qweight--
	}
	return min(max(16-qweight*4, 0), 31)
}

// nbaseLead returns the weight and leading digit of n in base 10000 (0, 0
// for zero, as numeric.c treats a zero dividend).
func nbaseLead(n uint64) (weight int, first uint64) {
	for n >= 10000 {
		n /= 10000
		weight++
	}
	return weight, n
}
