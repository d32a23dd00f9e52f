package jsontext

import (
	"encoding/json"
	"testing"
)

func TestAppendStringSuccess(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		got := string(AppendString(nil, []byte(in)))
		if got != want {
			t.Errorf("AppendString(%q) = %s, want %s", in, got, want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Errorf("%s is not valid JSON: %v", got, err)
		} else if back != in && !(in == "bad\xffbyte") {
			t.Errorf("%s decodes to %q, want %q", got, back, in)
		}
	}
	f("", `""`)
	f("plain", `"plain"`)
	f(`<a href="x">&amp;</a>`, `"<a href=\"x\">&amp;</a>"`)
	f("back\\slash", `"back\\slash"`)
	f("\b\f\n\r\t", `"\b\f\n\r\t"`)
	f("\x00\x01\x1f\x7f", `"\u0000\u0001\u001f`+"\x7f\"")
	f("naïve — 🙂 \u2028\u2029", "\"naïve — 🙂 \u2028\u2029\"")
	f("bad\xffbyte", "\"bad\ufffdbyte\"")
}
