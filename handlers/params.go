package handlers

import "math"

// parseID parses API.md's integers: plain decimal (^[0-9]+$), 1 ≤ n ≤
// 2147483647. Leading zeros are allowed and dropped ("007" is 7).
func parseID(b []byte) (int32, bool) {
	if len(b) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > math.MaxInt32 {
			return 0, false
		}
	}
	if n < 1 {
		return 0, false
	}
	return int32(n), true
}
