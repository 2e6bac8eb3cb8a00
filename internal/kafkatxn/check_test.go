package kafkatxn

import (
	"fmt"
	"testing"
)

func TestCheck(t *testing.T) {
	const f = "TargetParameters.KafkaParameters."
	tests := []struct {
		name       string
		p          Parameters
		enrichment string
		want       []string // fields
	}{
		{name: "off", p: Parameters{HasCredentials: true, HasRootCA: true}, enrichment: "http://e"},
		{name: "on, plain", p: Parameters{ExactlyOnce: true}},
		{name: "on, no enrichment spelled $", p: Parameters{ExactlyOnce: true}, enrichment: "$"},
		{name: "target credentials", p: Parameters{ExactlyOnce: true, HasCredentials: true, HasRootCA: true},
			want: []string{f + "Credentials", f + "ServerRootCaCertificate"}},
		{name: "enrichment", p: Parameters{ExactlyOnce: true}, enrichment: "http://e", want: []string{f + "ExactlyOnce"}},
		{name: "idempotent enrichment", p: Parameters{ExactlyOnce: true, IdempotentEnrichment: true}, enrichment: "http://e"},
		{name: "idempotent without exactly-once", p: Parameters{IdempotentEnrichment: true}, want: []string{f + "IdempotentEnrichment"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range Check(tc.p, tc.enrichment) {
				if e.Message == "" {
					t.Errorf("%s: empty message", e.Field)
				}
				got = append(got, e.Field)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("Check(%+v, %q) fields = %v, want %v", tc.p, tc.enrichment, got, tc.want)
			}
		})
	}
}
