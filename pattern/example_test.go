package pattern_test

import (
	"fmt"

	"github.com/sluicehq/sluice/pattern"
)

func ExampleCompile() {
	p, err := pattern.Compile([]byte(`{"source":["aws.ec2"],"detail":{"state":[{"anything-but":"pending"}]}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	ok, err := p.Match([]byte(`{"source":"aws.ec2","detail":{"state":"running"}}`))
	fmt.Println(ok, err)
	_, err = pattern.Compile([]byte(`{"detail":{"state":"running"}}`))
	fmt.Println(err)
	// Output:
	// true <nil>
	// detail.state: must be an object or an array, not a string
}

func ExampleSet_MatchKafka() {
	s, err := pattern.CompileSet([][]byte{
		[]byte(`{"value":{"City":["Seattle"]}}`),
		[]byte(`{"topic":["audit"]}`),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	record := []byte(`{"eventSource":"SelfManagedKafka","topic":"orders","partition":"0","offset":7,"value":"..."}`)
	ok, err := s.MatchKafka(record, nil, []byte(`{"City":"Seattle","total":12}`))
	fmt.Println(ok, err)
	ok, err = s.MatchKafka(record, nil, []byte(`{"City":"Boston"}`))
	fmt.Println(ok, err)
	// Output:
	// true <nil>
	// false <nil>
}
