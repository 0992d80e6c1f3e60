package gafile

// The stock module reads numbers with C's strtoul and strtol and then casts
// them to int or unsigned int. These helpers reproduce that arithmetic so
// that a file means the same number to both programs, oddities included
// (leading white space and a sign are accepted, overflow saturates).

// isCSpace reports whether c is white space for C's isspace in the "C"
// locale.
func isCSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// strtoul parses b as C's strtoul(b, &end, 10) does. It returns the value,
// the index just past the number (0 when no digits were read, as C leaves
// end at the start) and whether the value overflowed (errno ERANGE).
func strtoul(b []byte) (v uint64, end int, overflow bool) {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	start := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		d := uint64(b[i] - '0')
		if !overflow {
			if v > (^uint64(0)-d)/10 {
				overflow = true
			} else {
				v = v*10 + d
			}
		}
		i++
	}
	if i == start {
		return 0, 0, false
	}
	if overflow {
		return ^uint64(0), i, true
	}
	if neg {
		v = -v
	}
	return v, i, false
}

// strtol parses b as C's strtol(b, NULL, 10) does on a 64-bit system:
// garbage gives 0 and overflow saturates.
func strtol(b []byte) int64 {
	i := 0
	for i < len(b) && isCSpace(b[i]) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var v uint64
	limit := uint64(1<<63 - 1)
	if neg {
		limit = 1 << 63
	}
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + uint64(b[i]-'0')
		if v > limit {
			v = limit
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				i++
			}
			break
		}
	}
	if neg {
		return int64(-v)
	}
	return int64(v)
}

// strcspn returns the length of the prefix of b free of bytes in set.
func strcspn(b []byte, set string) int {
	for i, c := range b {
		for j := 0; j < len(set); j++ {
			if c == set[j] {
				return i
			}
		}
	}
	return len(b)
}

// strspn returns the length of the prefix of b made of bytes in set.
func strspn(b []byte, set string) int {
	for i, c := range b {
		in := false
		for j := 0; j < len(set); j++ {
			if c == set[j] {
				in = true
				break
			}
		}
		if !in {
			return i
		}
	}
	return len(b)
}
