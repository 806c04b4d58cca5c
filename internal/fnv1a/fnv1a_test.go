package fnv1a

import (
	"encoding/binary"
	"hash/fnv"
	"testing"
)

func TestMatchesHashFNV(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		got  uint64
	}{
		{name: "empty string", data: nil, got: String(Offset, "")},
		{name: "string", data: []byte("employees\x00alice"), got: String(Offset, "employees\x00alice")},
		{name: "uint64", data: binary.LittleEndian.AppendUint64(nil, 0x0123456789abcdef), got: Uint64(Offset, 0x0123456789abcdef)},
		{name: "string then uint64", data: binary.LittleEndian.AppendUint64([]byte("ab"), 7), got: Uint64(String(Offset, "ab"), 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fnv.New64a()
			h.Write(tt.data)
			if want := h.Sum64(); tt.got != want {
				t.Errorf("got %#x, want hash/fnv's %#x", tt.got, want)
			}
		})
	}
}

func TestWord(t *testing.T) {
	if Word(Offset, 1) == Word(Offset, 2) || Word(Word(Offset, 1), 2) == Word(Word(Offset, 2), 1) {
		t.Error("Word does not tell values or their order apart")
	}
}
