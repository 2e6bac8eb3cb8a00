package awsclient

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sluicehq/sluice/internal/plugin"
)

func TestChunks(t *testing.T) {
	sizes := []int{100, 100, 300, 50, 50, 50, 400, 10}
	size := func(i int) int { return sizes[i] }
	cases := []struct {
		name               string
		n, count, maxBytes int
		want               [][2]int
	}{
		{"count only", 8, 3, 0, [][2]int{{0, 3}, {3, 6}, {6, 8}}},
		{"no limits", 8, 0, 0, [][2]int{{0, 8}}},
		{"bytes only", 8, 0, 400, [][2]int{{0, 2}, {2, 5}, {5, 6}, {6, 7}, {7, 8}}},
		{"both", 8, 2, 400, [][2]int{{0, 2}, {2, 4}, {4, 6}, {6, 7}, {7, 8}}},
		{"entry above the limit goes alone", 3, 10, 150, [][2]int{{0, 1}, {1, 2}, {2, 3}}},
		{"empty", 0, 10, 100, nil},
	}
	for _, c := range cases {
		var got [][2]int
		err := Chunks(c.n, c.count, c.maxBytes, size, func(lo, hi int) error {
			got = append(got, [2]int{lo, hi})
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Chunks ranges (-want +got):\n%s", c.name, diff)
		}
	}
}

func TestChunksFailure(t *testing.T) {
	boom := plugin.Permanent(errors.New("boom"))
	cases := []struct {
		name       string
		failAt     int   // lo of the failing request
		err        error // what send returns there
		wantFailed []int // nil: the error is returned as it is
	}{
		{"first request", 0, boom, nil},
		{"second request", 3, boom, []int{3, 4, 5, 6, 7}},
		{"entries of the first request", 0, &plugin.PartialError{Failed: []int{1}, Err: boom}, []int{1, 3, 4, 5, 6, 7}},
		{"entries of the second request", 3, &plugin.PartialError{Failed: []int{0, 2}, Err: boom}, []int{3, 5, 6, 7}},
		{"entries of the last request", 6, &plugin.PartialError{Failed: []int{1}, Err: boom}, []int{7}},
	}
	for _, c := range cases {
		var sent []int
		err := Chunks(8, 3, 0, nil, func(lo, hi int) error {
			sent = append(sent, lo)
			if lo == c.failAt {
				return c.err
			}
			return nil
		})
		if sent[len(sent)-1] != c.failAt {
			t.Errorf("%s: requests sent from %v, want none after %d", c.name, sent, c.failAt)
		}
		if !errors.Is(err, boom) || !plugin.IsPermanent(err) {
			t.Errorf("%s: error %v does not keep the failure's class", c.name, err)
		}
		var pe *plugin.PartialError
		if c.wantFailed == nil {
			if err != c.err {
				t.Errorf("%s: error = %v, want %v unchanged", c.name, err, c.err)
			}
			continue
		}
		if !errors.As(err, &pe) {
			t.Fatalf("%s: error = %v, want a *plugin.PartialError", c.name, err)
		}
		if diff := cmp.Diff(c.wantFailed, pe.Failed); diff != "" {
			t.Errorf("%s: Failed (-want +got):\n%s", c.name, diff)
		}
	}
}
