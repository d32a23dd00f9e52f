package handlers

import "github.com/catwalk/reviews/ids"

// parseID parses API.md's integers (ids.Parse): plain decimal, 1 ≤ n ≤
// 2147483647, leading zeros dropped ("007" is 7).
func parseID(b []byte) (int32, bool) {
	n, err := ids.Parse(b)
	return n, err == nil
}
