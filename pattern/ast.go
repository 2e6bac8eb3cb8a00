package pattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// jkind is the JSON type of a node of a parsed pattern.
type jkind uint8

const (
	jString jkind = iota
	jNumber
	jTrue
	jFalse
	jNull
	jObject
	jArray
)

// jnode is a pattern's JSON kept in source order with duplicate keys, because event-ruler's compiler is a streaming
// one: the order of keys decides which of two clauses for the same field wins.
type jnode struct {
	kind jkind
	str  string // string value, or the number's text
	keys []string
	vals []*jnode // object member values (parallel to keys) or array elements
}

// maxNesting bounds the depth of a pattern, so that hostile input cannot exhaust the stack.
const maxNesting = 256

// parseJSON parses one JSON value and rejects trailing data.
func parseJSON(data []byte) (*jnode, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := parseNode(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the pattern object")
	}
	return n, nil
}

func parseNode(dec *json.Decoder, depth int) (*jnode, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("pattern nests deeper than %d levels", maxNesting)
	}
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &jnode{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := parseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &jnode{kind: jArray}
			for dec.More() {
				v, err := parseNode(dec, depth+1)
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return n, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &jnode{kind: jString, str: t}, nil
	case json.Number:
		return &jnode{kind: jNumber, str: string(t)}, nil
	case bool:
		if t {
			return &jnode{kind: jTrue}, nil
		}
		return &jnode{kind: jFalse}, nil
	case nil:
		return &jnode{kind: jNull}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// describe names a JSON node's type for error messages.
func (n *jnode) describe() string {
	switch n.kind {
	case jString:
		return "a string"
	case jNumber:
		return "a number"
	case jTrue, jFalse:
		return "a boolean"
	case jNull:
		return "null"
	case jObject:
		return "an object"
	}
	return "an array"
}
