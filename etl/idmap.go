package etl

// denseLimit bounds the ids held in dense slices: real ids run from 1 with
// few gaps, so a slice indexed by id is the smallest structure; an id beyond
// the limit (a typo, a sparse export) goes to a map instead of growing the
// slice to gigabytes.
const denseLimit = 1 << 27

// idTable maps an id (≥ 1) to a small value, with the zero value meaning
// absent. Memory is proportional to the largest dense id plus the sparse ids.
type idTable[T comparable] struct {
	dense  []T
	sparse map[int32]T
}

func (t *idTable[T]) get(id int32) T {
	if int(id) < len(t.dense) {
		return t.dense[id]
	}
	var zero T
	if id < denseLimit {
		return zero
	}
	return t.sparse[id]
}

func (t *idTable[T]) set(id int32, v T) {
	if id < denseLimit {
		if int(id) >= len(t.dense) {
			n := max(2*len(t.dense), int(id)+1, 1024)
			n = min(n, denseLimit)
			grown := make([]T, n)
			copy(grown, t.dense)
			t.dense = grown
		}
		t.dense[id] = v
		return
	}
	if t.sparse == nil {
		t.sparse = make(map[int32]T)
	}
	t.sparse[id] = v
}

// each calls f for every id with a non-zero value, in id order for the
// dense part, then the sparse ids in no particular order.
func (t *idTable[T]) each(f func(id int32, v T)) {
	var zero T
	for id, v := range t.dense {
		if v != zero {
			f(int32(id), v)
		}
	}
	for id, v := range t.sparse {
		if v != zero {
			f(id, v)
		}
	}
}
