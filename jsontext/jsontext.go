// Package jsontext appends JSON text by hand on hot paths, escaped exactly
// as the service's two references do: JavaScript's JSON.stringify and
// PostgreSQL's to_json.
package jsontext

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Only '"', '\\' and control
// characters are escaped ('\b', '\f', '\n', '\r', '\t', the others as
// \u00xx); '<', '>', '&', U+2028 and U+2029 stay literal. That is both
// JavaScript's JSON.stringify and PostgreSQL's to_json(text), so the API's
// answers match the legacy API's and the ETL's photos column matches what
// the write path builds in SQL. Invalid UTF-8 (which neither PostgreSQL nor
// the ETL lets through) becomes U+FFFD so the output is always valid JSON.
func AppendString(b []byte, s []byte) []byte {
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
