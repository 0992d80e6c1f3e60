package otp

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding"
	"encoding/binary"
	"hash"
	"sync"
)

// hashState is a hash whose state can be saved and restored without
// allocating: every hash of the standard library is one.
type hashState interface {
	hash.Hash
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// mac computes HMAC (RFC 2104) over 8-byte counters for one key. It keeps
// the hash states after the padded key blocks, so that each counter costs
// one compression for the inner hash and one for the outer, as crypto/hmac
// does after Reset, and it comes from a pool, so that a verification
// allocates nothing.
type mac struct {
	inner, outer   hashState
	innerState     []byte
	outerState     []byte
	block          [sha512.BlockSize]byte
	sum            [sha512.Size]byte
	msg            [8]byte
	alg            Algorithm
	size, digitMod uint32
}

var macPools = [...]sync.Pool{
	SHA1:   {New: func() any { return newMAC(sha1.New) }},
	SHA256: {New: func() any { return newMAC(sha256.New) }},
	SHA512: {New: func() any { return newMAC(sha512.New) }},
}

func newMAC(h func() hash.Hash) *mac {
	return &mac{
		inner:      h().(hashState),
		outer:      h().(hashState),
		innerState: make([]byte, 0, 256),
		outerState: make([]byte, 0, 256),
	}
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// getMAC returns a mac keyed with k, which must be valid.
func getMAC(k Key) *mac {
	m := macPools[k.Algorithm].Get().(*mac)
	m.alg = k.Algorithm
	m.size = uint32(k.Algorithm.size())
	m.digitMod = pow10[k.digits()]
	bs := k.Algorithm.blockSize()
	clear(m.block[:])
	if len(k.Secret) > bs {
		// RFC 2104 §2: keys longer than a block are hashed first.
		m.inner.Reset()
		m.inner.Write(k.Secret)
		m.inner.Sum(m.block[:0])
	} else {
		copy(m.block[:], k.Secret)
	}
	for i := range bs {
		m.block[i] ^= 0x36
	}
	m.inner.Reset()
	m.inner.Write(m.block[:bs])
	for i := range bs {
		m.block[i] ^= 0x36 ^ 0x5c
	}
	m.outer.Reset()
	m.outer.Write(m.block[:bs])
	clear(m.block[:])
	m.innerState, _ = m.inner.AppendBinary(m.innerState[:0])
	m.outerState, _ = m.outer.AppendBinary(m.outerState[:0])
	return m
}

// putMAC wipes the key material from m and returns it to its pool.
func putMAC(m *mac) {
	clear(m.innerState[:cap(m.innerState)])
	clear(m.outerState[:cap(m.outerState)])
	clear(m.sum[:])
	m.inner.Reset()
	m.outer.Reset()
	macPools[m.alg].Put(m)
}

// value returns the HOTP value of counter: HMAC, dynamic truncation (RFC
// 4226 §5.3), reduced modulo 10^Digits.
func (m *mac) value(counter uint64) uint32 {
	binary.BigEndian.PutUint64(m.msg[:], counter)
	m.inner.UnmarshalBinary(m.innerState)
	m.inner.Write(m.msg[:])
	in := m.inner.Sum(m.sum[:0])
	m.outer.UnmarshalBinary(m.outerState)
	m.outer.Write(in)
	h := m.outer.Sum(m.sum[:0])
	off := h[m.size-1] & 0x0f
	return (binary.BigEndian.Uint32(h[off:]) & 0x7fffffff) % m.digitMod
}
