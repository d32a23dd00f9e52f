package gen

import (
	"math/rand/v2"
	"strconv"
)

// Dates spread over five and a half years: 2019-01-01 to 2024-07-01 UTC.
const (
	minDate = 1546300800000
	maxDate = 1719792000000
)

var ratingWeights = []float64{0.07, 0.08, 0.15, 0.30, 0.40}

func rating(t *rand.Rand) int {
	u := t.Float64()
	for i, w := range ratingWeights {
		if u < w {
			return i + 1
		}
		u -= w
	}
	return 5
}

// helpfulness: most reviews have no votes, a few have many.
func helpfulness(t *rand.Rand) int {
	u := t.Float64()
	switch {
	case u < 0.45:
		return 0
	case u < 0.9:
		return 1 + t.IntN(10)
	default:
		return 11 + int(t.ExpFloat64()*25)
	}
}

var words = []string{
	"the", "this", "fabric", "fit", "color", "really", "quality", "size", "was", "is", "and", "but",
	"great", "comfortable", "small", "large", "runs", "true", "to", "soft", "material", "washed",
	"well", "after", "one", "wash", "I", "would", "recommend", "it", "for", "the", "price", "shipping",
	"fast", "arrived", "looks", "exactly", "like", "picture", "a", "bit", "too", "long", "short",
	"sleeves", "waist", "stitching", "came", "apart", "love", "hate", "perfect", "okay", "decent",
	"sturdy", "thin", "warm", "cool", "summer", "winter", "everyday", "work", "gym", "running",
	"wide", "narrow", "shoes", "heel", "toe", "box", "strap", "buckle", "zipper", "pocket", "my",
	"husband", "wife", "daughter", "son", "bought", "ordered", "returned", "exchanged", "again",
	"definitely", "probably", "never", "always", "compliments", "friends", "style", "design",
	"cheap", "expensive", "worth", "every", "penny", "not", "what", "expected", "better", "worse",
}

var summaryStarts = []string{
	"Great", "Not bad", "Love it", "Disappointed", "Perfect fit", "Runs small", "Runs large",
	"Would buy again", "Okay for the price", "Fell apart", "My new favorite", "Meh", "Exactly as pictured",
}

// summary writes a short title, now and then with a comma or a quote.
func summary(t *rand.Rand, dst []byte) []byte {
	dst = append(dst, summaryStarts[t.IntN(len(summaryStarts))]...)
	switch u := t.Float64(); {
	case u < 0.25:
		dst = append(dst, ", "...)
		dst = appendWords(t, dst, 1+t.IntN(5))
	case u < 0.30:
		dst = append(dst, ` - "`...)
		dst = appendWords(t, dst, 1+t.IntN(3))
		dst = append(dst, '"')
	case u < 0.6:
		dst = append(dst, '!')
	}
	return dst
}

// body writes 50–1000 characters of sentences, with commas, quoted words
// and the odd line break.
func body(t *rand.Rand, dst []byte) []byte {
	target := 50 + int(min(t.ExpFloat64()*180, 950))
	start := len(dst)
	for len(dst)-start < target {
		n := 3 + t.IntN(12)
		first := len(dst)
		dst = appendWords(t, dst, n)
		if dst[first] >= 'a' && dst[first] <= 'z' {
			dst[first] -= 'a' - 'A'
		}
		switch u := t.Float64(); {
		case u < 0.2:
			dst = append(dst, ", "...)
			dst = appendWords(t, dst, 2+t.IntN(6))
			dst = append(dst, '.')
		case u < 0.27:
			dst = append(dst, ` "`...)
			dst = appendWords(t, dst, 1+t.IntN(3))
			dst = append(dst, `".`...)
		case u < 0.3:
			dst = append(dst, '!')
		default:
			dst = append(dst, '.')
		}
		if t.Float64() < 0.06 {
			dst = append(dst, "\n\n"...)
		} else {
			dst = append(dst, ' ')
		}
	}
	if len(dst)-start > 1000 {
		dst = dst[:start+1000]
	}
	for len(dst) > start && (dst[len(dst)-1] == ' ' || dst[len(dst)-1] == '\n') {
		dst = dst[:len(dst)-1]
	}
	for len(dst)-start < 50 {
		dst = append(dst, " Fine."...)
	}
	return dst
}

func appendWords(t *rand.Rand, dst []byte, n int) []byte {
	for i := range n {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = append(dst, words[t.IntN(len(words))]...)
	}
	return dst
}

var nameParts = []string{
	"fun", "time", "shopper", "happy", "cat", "walk", "style", "sunny", "blue", "jay", "mike", "anna",
	"lee", "max", "sam", "kim", "jo", "pat", "fashion", "lover", "daily", "runner", "city", "girl", "guy",
}

func reviewerName(t *rand.Rand) string {
	s := nameParts[t.IntN(len(nameParts))] + nameParts[t.IntN(len(nameParts))]
	if t.Float64() < 0.5 {
		s += strconv.Itoa(t.IntN(1000))
	}
	return s
}

var domains = []string{"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com"}

func email(t *rand.Rand, name string) string {
	return name + "@" + domains[t.IntN(len(domains))]
}

var responses = []string{
	"Thank you for your feedback!",
	"We're sorry to hear that. Please contact customer service, we'll make it right.",
	`Glad you like it! Check out our "Summer" collection too.`,
}

var photoIDs = []string{
	"1560570803-7474c0f9af99", "1542291026-7eec264c27ff", "1491553895911-0055eca6402d",
	"1525966222134-fcfa99b8ae77", "1551107696-a4b0c5a0d9a2", "1515886657613-9f3515b0c78f",
	"1529139574466-a303027c1d8b", "1434389677669-e08b4cac3105", "1490481651871-ab68de25d43d",
}

// photoURL writes an image URL like the real ones (query strings with &).
func photoURL(t *rand.Rand) []byte {
	b := make([]byte, 0, 112)
	b = append(b, "https://images.unsplash.com/photo-"...)
	b = append(b, photoIDs[t.IntN(len(photoIDs))]...)
	b = append(b, "?ixlib=rb-1.2.1&auto=format&fit=crop&w="...)
	b = strconv.AppendInt(b, int64(300+t.IntN(1400)), 10)
	b = append(b, "&q=80"...)
	return b
}
