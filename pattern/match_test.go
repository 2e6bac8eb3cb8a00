package pattern

import (
	"errors"
	"strings"
	"testing"
)

type matchCase struct {
	name    string
	pattern string
	event   string
	want    bool
}

// ec2Event is the EC2 state-change example event of the EventBridge documentation.
const ec2Event = `{
  "version": "0",
  "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "111122223333",
  "time": "2017-12-22T18:43:48Z",
  "region": "us-west-1",
  "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
  "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
}`

// rulerEvent is the example event of event-ruler's README.
const rulerEvent = `{
  "version": "0",
  "id": "ddddd4-aaaa-7777-4444-345499999999",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "012345679012",
  "time": "2017-10-02T16:24:49Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
  "detail": {
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    "instance-id": "i-000000aaaaaa00000",
    "state": "running"
  }
}`

var matchCases = []matchCase{
	// Exact values.
	{"docs ec2 source and state", `{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}`, ec2Event, true},
	{"docs ec2 other state", `{"source":["aws.ec2"],"detail":{"state":["running","pending"]}}`, ec2Event, false},
	{"docs ec2 several values OR", `{"detail":{"state":["running","terminated"]}}`, ec2Event, true},
	{"docs resources array", `{"resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0","arn:aws:ec2:us-east-1:1:instance/x"]}`, ec2Event, true},
	{"ruler readme example", `{"detail-type":["EC2 Instance State-change Notification"],"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],"detail":{"state":["initializing","running"]}}`, rulerEvent, true},
	{"ruler readme example other resource", `{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-999"],"detail":{"state":["running"]}}`, rulerEvent, false},
	{"case sensitive", `{"source":["AWS.EC2"]}`, ec2Event, false},
	{"missing field", `{"detail":{"nope":["x"]}}`, ec2Event, false},
	{"string does not match number", `{"a":["1"]}`, `{"a":1}`, false},
	{"number does not match string", `{"a":[1]}`, `{"a":"1"}`, false},
	{"number 300 = 300.0", `{"a":[300]}`, `{"a":300.0}`, true},
	{"number 300 = 3.0e2", `{"a":[300]}`, `{"a":3.0e2}`, true},
	{"number 3.0e+2 = 300", `{"a":[3.0e+2]}`, `{"a":300}`, true},
	{"number -0 = 0", `{"a":[0]}`, `{"a":-0}`, true},
	{"number decimal precision", `{"a":[0.1]}`, `{"a":0.10000000000000001}`, false},
	{"number differs", `{"a":[300]}`, `{"a":301}`, false},
	{"true", `{"a":[true]}`, `{"a":true}`, true},
	{"true vs string", `{"a":[true]}`, `{"a":"true"}`, false},
	{"false", `{"a":[false]}`, `{"a":false}`, true},
	{"null", `{"a":[null]}`, `{"a":null}`, true},
	{"null is not empty string", `{"a":[null]}`, `{"a":""}`, false},
	{"null is not absent", `{"a":[null]}`, `{"b":1}`, false},
	{"empty string", `{"a":[""]}`, `{"a":""}`, true},
	{"empty string is not null", `{"a":[""]}`, `{"a":null}`, false},
	{"several fields AND", `{"a":["x"],"b":["y"]}`, `{"a":"x","b":"y"}`, true},
	{"several fields AND one missing", `{"a":["x"],"b":["y"]}`, `{"a":"x"}`, false},
	{"nested", `{"a":{"b":{"c":["d"]}}}`, `{"a":{"b":{"c":"d"}}}`, true},
	{"nested scalar in the way", `{"a":{"b":["d"]}}`, `{"a":"b"}`, false},
	{"exactly operator", `{"a":[{"exactly":"x"}]}`, `{"a":"x"}`, true},
	{"json escapes in event", `{"a":["he said \"hi\"\n"]}`, `{"a":"he said \u0022hi\u0022\n"}`, true},
	{"surrogate pair in event", `{"a":["😀"]}`, `{"a":"\ud83d\ude00"}`, true},
	{"surrogate pair in pattern", `{"a":["\ud83d\ude00"]}`, `{"a":"😀"}`, true},
	{"escaped key in event", `{"ab":["x"]}`, `{"a\u0062":"x"}`, true},
	{"no unicode normalisation", `{"a":["é"]}`, `{"a":"e\u0301"}`, false},
	{"dotted key is not a path", `{"a.b":["x"]}`, `{"a":{"b":"x"}}`, false},
	{"dotted key literal", `{"a.b":["x"]}`, `{"a.b":"x"}`, true},
	{"duplicate key in pattern last wins", `{"a":["x"],"a":["y"]}`, `{"a":"y"}`, true},
	{"duplicate key in pattern first loses", `{"a":["x"],"a":["y"]}`, `{"a":"x"}`, false},
	{"duplicate key in event first wins", `{"a":["x"]}`, `{"a":"x","a":"y"}`, true},
	{"ip literal textual variant", `{"ip":["2001:db8::1"]}`, `{"ip":"2001:DB8:0:0:0:0:0:1"}`, true},
	{"ip literal other address", `{"ip":["10.0.0.1"]}`, `{"ip":"10.0.0.2"}`, false},
	{"ip literal same text", `{"ip":["10.0.0.1"]}`, `{"ip":"10.0.0.1"}`, true},

	// prefix / suffix / equals-ignore-case.
	{"docs prefix time", `{"time":[{"prefix":"2017-12-22"}]}`, ec2Event, true},
	{"docs prefix region", `{"region":[{"prefix":"ca-"}]}`, ec2Event, false},
	{"prefix empty matches any string", `{"a":[{"prefix":""}]}`, `{"a":"x"}`, true},
	{"prefix not numbers", `{"a":[{"prefix":"1"}]}`, `{"a":12}`, false},
	{"prefix longer than value", `{"a":[{"prefix":"abc"}]}`, `{"a":"ab"}`, false},
	{"docs prefix equals-ignore-case", `{"source":[{"prefix":{"equals-ignore-case":"AWS."}}]}`, ec2Event, true},
	{"prefix equals-ignore-case no", `{"source":[{"prefix":{"equals-ignore-case":"AWS.S3"}}]}`, ec2Event, false},
	{"docs suffix png", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.png"}`, true},
	{"docs suffix png no", `{"FileName":[{"suffix":".png"}]}`, `{"FileName":"image.PNG"}`, false},
	{"suffix equals-ignore-case", `{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}`, `{"FileName":"image.PNG"}`, true},
	{"suffix equals-ignore-case no", `{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}`, `{"FileName":"image.jpg"}`, false},
	{"docs equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}`, ec2Event, true},
	{"equals-ignore-case no", `{"detail-type":[{"equals-ignore-case":"ec2 instance"}]}`, ec2Event, false},
	{"equals-ignore-case not numbers", `{"a":[{"equals-ignore-case":"1"}]}`, `{"a":1}`, false},
	{"equals-ignore-case different utf8 lengths", `{"a":[{"equals-ignore-case":"ⱥ"}]}`, `{"a":"Ⱥ"}`, true},
	{"equals-ignore-case kelvin sign", `{"a":[{"equals-ignore-case":"k"}]}`, `{"a":"\u212a"}`, true},
	{"equals-ignore-case german sharp s", `{"a":[{"equals-ignore-case":"straße"}]}`, `{"a":"STRASSE"}`, true},
	{"equals-ignore-case greek multi code point", `{"a":[{"equals-ignore-case":"ΰ"}]}`, `{"a":"\u03a5\u0308\u0301"}`, true},
	{"equals-ignore-case cyrillic", `{"a":[{"equals-ignore-case":"привет"}]}`, `{"a":"ПРИВЕТ"}`, true},
	{"prefix equals-ignore-case mixed lengths", `{"a":[{"prefix":{"equals-ignore-case":"ⱥb"}}]}`, `{"a":"ȺBc"}`, true},

	// anything-but.
	{"docs anything-but string", `{"detail":{"state":[{"anything-but":"initializing"}]}}`, ec2Event, true},
	{"docs anything-but string excluded", `{"detail":{"state":[{"anything-but":"terminated"}]}}`, ec2Event, false},
	{"docs anything-but list", `{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}`, ec2Event, true},
	{"anything-but list excluded", `{"detail":{"state":[{"anything-but":["stopped","terminated"]}]}}`, ec2Event, false},
	{"docs anything-but numbers", `{"x-limit":[{"anything-but":[100,200,300]}]}`, `{"x-limit":301.8}`, true},
	{"anything-but numbers excluded numerically", `{"x-limit":[{"anything-but":[100,200,300]}]}`, `{"x-limit":3e2}`, false},
	{"anything-but number single", `{"a":[{"anything-but":5}]}`, `{"a":5.0}`, false},
	{"anything-but numbers passes strings", `{"a":[{"anything-but":[111,222,333]}]}`, `{"a":"444"}`, true},
	{"anything-but numbers passes same digits string", `{"a":[{"anything-but":[111]}]}`, `{"a":"111"}`, true},
	{"anything-but strings passes numbers", `{"a":[{"anything-but":["111"]}]}`, `{"a":111}`, true},
	{"anything-but passes null", `{"a":[{"anything-but":"x"}]}`, `{"a":null}`, true},
	{"anything-but passes boolean", `{"a":[{"anything-but":"x"}]}`, `{"a":true}`, true},
	{"anything-but requires presence", `{"a":[{"anything-but":"x"}]}`, `{"b":"y"}`, false},
	{"anything-but object is not a value", `{"a":[{"anything-but":"x"}]}`, `{"a":{"b":"y"}}`, false},
	{"anything-but array any element", `{"a":[{"anything-but":"x"}]}`, `{"a":["x","y"]}`, true},
	{"anything-but array all excluded", `{"a":[{"anything-but":["x","y"]}]}`, `{"a":["x","y"]}`, false},
	{"docs anything-but prefix", `{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}`, ec2Event, true},
	{"anything-but prefix excluded", `{"detail":{"state":[{"anything-but":{"prefix":"term"}}]}}`, ec2Event, false},
	{"anything-but prefix list", `{"a":[{"anything-but":{"prefix":["x","y"]}}]}`, `{"a":"yes"}`, false},
	{"anything-but prefix number passes", `{"a":[{"anything-but":{"prefix":"1"}}]}`, `{"a":123}`, true},
	{"docs anything-but suffix", `{"FileName":[{"anything-but":{"suffix":".txt"}}]}`, `{"FileName":"a.png"}`, true},
	{"anything-but suffix excluded", `{"FileName":[{"anything-but":{"suffix":".txt"}}]}`, `{"FileName":"a.txt"}`, false},
	{"docs anything-but equals-ignore-case", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, `{"detail":{"state":"STOPPED"}}`, false},
	{"anything-but equals-ignore-case passes", `{"detail":{"state":[{"anything-but":{"equals-ignore-case":["Stopped","OverLoaded"]}}]}}`, `{"detail":{"state":"running"}}`, true},
	{"anything-but equals-ignore-case empty string", `{"a":[{"anything-but":{"equals-ignore-case":""}}]}`, `{"a":""}`, false},
	{"docs anything-but wildcard", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/bin/ls"}`, true},
	{"docs anything-but wildcard excluded", `{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"FilePath":"/usr/lib/x.so"}`, false},
	{"anything-but wildcard list", `{"a":[{"anything-but":{"wildcard":["a*","*z"]}}]}`, `{"a":"xyz"}`, false},
	{"anything-but wildcard number passes", `{"a":[{"anything-but":{"wildcard":"*"}}]}`, `{"a":1}`, true},

	// numeric.
	{"docs numeric example", `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}`, rulerEvent, true},
	{"docs numeric example out of range", `{"detail":{"c-count":[{"numeric":[">",0,"<",5]}]}}`, rulerEvent, false},
	{"numeric =", `{"a":[{"numeric":["=",100]}]}`, `{"a":1e2}`, true},
	{"numeric = no", `{"a":[{"numeric":["=",100]}]}`, `{"a":100.5}`, false},
	{"numeric <", `{"a":[{"numeric":["<",10]}]}`, `{"a":9.99}`, true},
	{"numeric < boundary", `{"a":[{"numeric":["<",10]}]}`, `{"a":10}`, false},
	{"numeric <=", `{"a":[{"numeric":["<=",10]}]}`, `{"a":10}`, true},
	{"numeric >", `{"a":[{"numeric":[">",-5]}]}`, `{"a":-4}`, true},
	{"numeric > boundary", `{"a":[{"numeric":[">",-5]}]}`, `{"a":-5}`, false},
	{"numeric >=", `{"a":[{"numeric":[">=",-5]}]}`, `{"a":-5.0}`, true},
	{"numeric range", `{"a":[{"numeric":[">=",1,"<",2]}]}`, `{"a":1.5}`, true},
	{"numeric range upper", `{"a":[{"numeric":[">=",1,"<",2]}]}`, `{"a":2}`, false},
	{"numeric range inclusive upper", `{"a":[{"numeric":[">",1,"<=",2]}]}`, `{"a":2}`, true},
	{"numeric not strings", `{"a":[{"numeric":[">",0]}]}`, `{"a":"5"}`, false},
	{"numeric large", `{"a":[{"numeric":[">",5e9]}]}`, `{"a":6e11}`, true},
	{"numeric tiny", `{"a":[{"numeric":[">",0,"<",1e-300]}]}`, `{"a":1e-301}`, true},
	{"numeric 17 digits", `{"x":[{"numeric":["=",-122.42916360922355]}]}`, `{"x":-122.42916360922355}`, true},
	{"numeric array any", `{"a":[{"numeric":[">",10]}]}`, `{"a":[1,2,30]}`, true},

	// exists.
	{"docs exists true", `{"detail":{"state":[{"exists":true}]}}`, ec2Event, true},
	{"exists true absent", `{"detail":{"nope":[{"exists":true}]}}`, ec2Event, false},
	{"exists true null", `{"a":[{"exists":true}]}`, `{"a":null}`, true},
	{"exists true empty string", `{"a":[{"exists":true}]}`, `{"a":""}`, true},
	{"exists true object is not a leaf", `{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, false},
	{"exists true empty array", `{"a":[{"exists":true}]}`, `{"a":[]}`, false},
	{"docs exists false", `{"detail":{"c-count":[{"exists":false}]}}`, ec2Event, true},
	{"exists false present", `{"detail":{"state":[{"exists":false}]}}`, ec2Event, false},
	{"exists false object value", `{"c-count":[{"exists":false}]}`, `{"c-count":{"c1":100}}`, true},
	{"exists false null exists", `{"a":[{"exists":false}]}`, `{"a":null}`, false},
	{"exists false empty array", `{"a":[{"exists":false}]}`, `{"a":[]}`, true},
	{"exists false parent absent", `{"a":{"b":[{"exists":false}]}}`, `{"c":1}`, true},
	{"exists false parent scalar", `{"a":{"b":[{"exists":false}]}}`, `{"a":1}`, true},
	{"exists false with other field", `{"a":[{"exists":false}],"b":["x"]}`, `{"b":"x"}`, true},
	{"exists false with other field missing", `{"a":[{"exists":false}],"b":["x"]}`, `{"c":"x"}`, false},
	{"exists mixed with value", `{"x":[{"exists":false},15]}`, `{"x":15}`, true},
	{"exists mixed with value absent", `{"x":[{"exists":false},15]}`, `{}`, true},

	// cidr.
	{"docs cidr ipv4", `{"detail":{"source-ip":[{"cidr":"10.0.0.0/24"}]}}`, rulerEvent, true},
	{"cidr ipv4 outside", `{"detail":{"source-ip":[{"cidr":"10.0.1.0/24"}]}}`, rulerEvent, false},
	{"cidr host bits set", `{"ip":[{"cidr":"220.160.154.255/24"}]}`, `{"ip":"220.160.154.1"}`, true},
	{"cidr ipv6", `{"ip":[{"cidr":"2001:db8::/64"}]}`, `{"ip":"2001:DB8:0:0:1::5"}`, true},
	{"cidr ipv6 outside", `{"ip":[{"cidr":"2001:db8::/64"}]}`, `{"ip":"2001:db9::1"}`, false},
	{"cidr not an ip", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"hello"}`, false},
	{"cidr ipv4 vs ipv6 value", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"::1"}`, false},
	{"cidr not numbers", `{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":10}`, false},

	// wildcard.
	{"docs wildcard arn", `{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`, `{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/default"}`, true},
	{"docs wildcard arn other region", `{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}`, `{"EventBusArn":"arn:aws:events:us-west-2:123456789012:event-bus/default"}`, false},
	{"docs wildcard png", `{"path":[{"wildcard":"dir/*.png"}]}`, `{"path":"dir/a/b.png"}`, true},
	{"ruler wildcard middle", `{"a":[{"wildcard":"Simple*Service"}]}`, `{"a":"Simple Notification Service"}`, true},
	{"ruler wildcard middle no", `{"a":[{"wildcard":"Simple*Service"}]}`, `{"a":"Simple Notification"}`, false},
	{"wildcard star matches empty", `{"a":[{"wildcard":"*"}]}`, `{"a":""}`, true},
	{"wildcard star not numbers", `{"a":[{"wildcard":"*"}]}`, `{"a":1}`, false},
	{"wildcard escaped star literal", `{"a":[{"wildcard":"he\\*o"}]}`, `{"a":"he*o"}`, true},
	{"wildcard escaped star not wildcard", `{"a":[{"wildcard":"he\\*o"}]}`, `{"a":"hello"}`, false},
	{"wildcard escaped backslash", `{"a":[{"wildcard":"a\\\\*"}]}`, `{"a":"a\\bc"}`, true},
	{"wildcard overlapping prefix suffix", `{"a":[{"wildcard":"ab*ba"}]}`, `{"a":"aba"}`, false},
	{"wildcard several stars", `{"a":[{"wildcard":"*a*b*c*"}]}`, `{"a":"xxaxxbxxcxx"}`, true},
	{"wildcard several stars order", `{"a":[{"wildcard":"*a*b*c*"}]}`, `{"a":"cba"}`, false},
	{"wildcard no star is exact", `{"a":[{"wildcard":"abc"}]}`, `{"a":"abc"}`, true},

	// $or.
	{"docs $or numeric", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}`, `{"detail":{"c-count":50,"d-count":3}}`, true},
	{"docs $or numeric none", `{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]}]}}`, `{"detail":{"c-count":50,"d-count":30}}`, false},
	{"docs $or top level", `{"source":["aws.ec2"],"$or":[{"detail-type":["x"]},{"detail":{"state":["terminated"]}}]}`, ec2Event, true},
	{"$or with AND outside failing", `{"source":["aws.s3"],"$or":[{"detail-type":["x"]},{"detail":{"state":["terminated"]}}]}`, ec2Event, false},
	{"docs nested $or", `{"source":["aws.ec2"],"$or":[{"region":["us-east-1"]},{"$or":[{"account":["111122223333"]},{"id":["x"]}]}]}`, ec2Event, true},
	{"$or branch overrides outer field", `{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"z":[1]}]}`, `{"name":"c"}`, true},
	{"$or legacy field name", `{"$or":["x"]}`, `{"$or":"x"}`, true},
	{"$or legacy operator branches", `{"$or":[{"numeric":[">",0]},{"numeric":["<",-5]}]}`, `{"$or":-10}`, true},
	{"ruler readme suffix", `{"source":[{"suffix":"ec2"}]}`, rulerEvent, true},
	{"ruler readme equals-ignore-case", `{"source":[{"equals-ignore-case":"AWS.EC2"}]}`, rulerEvent, true},
	{"ruler readme equals-ignore-case partial", `{"source":[{"equals-ignore-case":"EC2"}]}`, rulerEvent, false},
	{"ruler readme anything-but number", `{"detail":{"x-limit":[{"anything-but":123}]}}`, rulerEvent, true},
	{"ruler readme anything-but number excluded", `{"detail":{"x-limit":[{"anything-but":301.8}]}}`, rulerEvent, false},
	{"ruler readme exists true", `{"detail":{"c-count":[{"exists":true}]}}`, rulerEvent, true},
	{"ruler readme exists false", `{"detail":{"c-count":[{"exists":false}]}}`, rulerEvent, false},
	{"ruler readme complex example", `{"time":[{"prefix":"2017-10-02"}],"detail":{"state":[{"anything-but":"initializing"}],"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"anything-but":[100,200,300]}],"source-ip":[{"cidr":"10.0.0.0/8"}]}}`, rulerEvent, true},
	{"ruler readme complex example one field off", `{"time":[{"prefix":"2017-10-02"}],"detail":{"state":[{"anything-but":"running"}],"c-count":[{"numeric":[">",0,"<=",5]}],"source-ip":[{"cidr":"10.0.0.0/8"}]}}`, rulerEvent, false},
	{"ruler readme normal $or", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`, `{"source":"aws.cloudwatch","namespace":"AWS/ES"}`, true},
	{"ruler readme normal $or none", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}]}`, `{"source":"aws.cloudwatch","namespace":"AWS/S3"}`, false},
	{"ruler readme parallel $or", `{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}],"detail":{"$or":[{"source":["aws.cloudwatch"]},{"detail-type":["CloudWatch Alarm State Change"]}]}}`, `{"metricName":"ReadLatency","detail":{"detail-type":"CloudWatch Alarm State Change"}}`, true},
	{"ruler readme parallel $or one side", `{"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"namespace":["AWS/EC2","AWS/ES"]}],"detail":{"$or":[{"source":["aws.cloudwatch"]},{"detail-type":["CloudWatch Alarm State Change"]}]}}`, `{"metricName":"ReadLatency","detail":{"source":"aws.ec2"}}`, false},
	{"ruler readme nested $or", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"],"$or":[{"metricId":[1234]},{"spaceId":[1000]}]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/EC2","spaceId":1000}`, true},
	{"ruler readme nested $or inner fails", `{"source":["aws.cloudwatch"],"$or":[{"metricName":["CPUUtilization","ReadLatency"]},{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"],"$or":[{"metricId":[1234]},{"spaceId":[1000]}]},{"scope":["Service"]}]}`, `{"source":"aws.cloudwatch","metricType":"MetricType","namespace":"AWS/EC2","spaceId":1001}`, false},
	{"ruler readme $or legacy object", `{"source":["aws.cloudwatch"],"$or":{"metricType":["MetricType"],"namespace":["AWS/EC2","AWS/ES"]}}`, `{"source":"aws.cloudwatch","$or":{"metricType":"MetricType","namespace":"AWS/EC2"}}`, true},
}

func TestMatch(t *testing.T) {
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.pattern))
			if err != nil {
				t.Fatalf("Compile(%s): %v", tc.pattern, err)
			}
			got, err := p.Match([]byte(tc.event))
			if err != nil {
				t.Fatalf("Match(%s): %v", tc.event, err)
			}
			if got != tc.want {
				t.Errorf("Match(%s) against %s = %v, want %v", tc.event, tc.pattern, got, tc.want)
			}
			checkReference(t, tc.pattern, tc.event, got)
		})
	}
}

// checkReference compares a fast-matcher result with the reference matcher, when the event is one both handle
// the same way.
func checkReference(t *testing.T, pattern, event string, got bool) {
	t.Helper()
	c, err := compilePattern([]byte(pattern))
	if err != nil {
		t.Fatalf("compilePattern(%s): %v", pattern, err)
	}
	ev, ok := refDecode([]byte(event))
	if !ok {
		return
	}
	if want := refMatch(c, ev); got != want {
		t.Errorf("Match(%s) against %s = %v, reference matcher says %v", event, pattern, got, want)
	}
}

// arrayCases are EventBridge's array semantics: any element, at any depth, and never fields of different
// elements of one array of objects combined.
var arrayCases = []matchCase{
	{"value in array", `{"a":["x"]}`, `{"a":["w","x"]}`, true},
	{"value not in array", `{"a":["x"]}`, `{"a":["w","y"]}`, false},
	{"pattern list intersects array", `{"a":["x","z"]}`, `{"a":["w","z"]}`, true},
	{"nested arrays", `{"a":["x"]}`, `{"a":[["w",["x"]]]}`, true},
	{"array of objects flattened", `{"employees":{"firstName":["Anna"]}}`, `{"employees":[{"firstName":"John"},{"firstName":"Anna"}]}`, true},
	{"fields of one element", `{"employees":{"firstName":["Anna"],"lastName":["Smith"]}}`, `{"employees":[{"firstName":"John","lastName":"Doe"},{"firstName":"Anna","lastName":"Smith"}]}`, true},
	{"fields of different elements never combined", `{"employees":{"firstName":["Anna"],"lastName":["Jones"]}}`, `{"employees":[{"firstName":"Anna","lastName":"Smith"},{"firstName":"Peter","lastName":"Jones"}]}`, false},
	{"different elements at depth", `{"a":{"b":{"c":["1"],"d":["2"]}}}`, `{"a":[{"b":[{"c":"1"},{"d":"2"}]}]}`, false},
	{"same element at depth", `{"a":{"b":{"c":["1"],"d":["2"]}}}`, `{"a":[{"b":[{"c":"1"},{"c":"1","d":"2"}]}]}`, true},
	{"outer field and element field", `{"a":{"x":["1"],"b":{"c":["2"]}}}`, `{"a":{"x":"1","b":[{"c":"3"},{"c":"2"}]}}`, true},
	{"elements of sibling arrays combine", `{"a":{"b":["1"]},"c":{"d":["2"]}}`, `{"a":[{"b":"1"}],"c":[{"d":"2"}]}`, true},
	{"exists false per element", `{"a":{"b":[{"exists":false}]}}`, `{"a":[{"b":1},{"c":2}]}`, true},
	{"exists false every element has it", `{"a":{"b":[{"exists":false}]}}`, `{"a":[{"b":1},{"b":2}]}`, false},
	{"exists false with sibling in element", `{"a":{"b":[{"exists":false}],"c":["2"]}}`, `{"a":[{"b":1,"c":"2"},{"c":"2"}]}`, true},
	{"exists false with sibling in other element", `{"a":{"b":[{"exists":false}],"c":["2"]}}`, `{"a":[{"b":1,"c":"2"},{"c":"3"}]}`, false},
	{"exists true in element", `{"a":{"b":[{"exists":true}]}}`, `{"a":[{"c":1},{"b":null}]}`, true},
	{"numeric in array of objects", `{"c":{"x":[{"numeric":["<",0]}],"y":[{"numeric":[">",0]}]}}`, `{"c":[{"x":1,"y":1},{"x":-1,"y":-1}]}`, false},
	{"numeric in array of objects same element", `{"c":{"x":[{"numeric":["<",0]}],"y":[{"numeric":[">",0]}]}}`, `{"c":[{"x":1,"y":1},{"x":-1,"y":2}]}`, true},
	{"empty array is absent", `{"a":{"b":["x"]}}`, `{"a":[]}`, false},
	{"anything-but array of objects", `{"a":{"b":[{"anything-but":"x"}]}}`, `{"a":[{"b":"x"},{"b":"y"}]}`, true},
	{"$or inside elements", `{"a":{"$or":[{"b":["1"]},{"c":["2"]}]}}`, `{"a":[{"b":"0"},{"c":"2"}]}`, true},
}

func TestArrays(t *testing.T) {
	for _, tc := range arrayCases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Compile([]byte(tc.pattern))
			if err != nil {
				t.Fatalf("Compile(%s): %v", tc.pattern, err)
			}
			got, err := p.Match([]byte(tc.event))
			if err != nil {
				t.Fatalf("Match(%s): %v", tc.event, err)
			}
			if got != tc.want {
				t.Errorf("Match(%s) against %s = %v, want %v", tc.event, tc.pattern, got, tc.want)
			}
			checkReference(t, tc.pattern, tc.event, got)
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, pattern, path, reason string
	}{
		{"not json", `{"a":`, "", "not valid JSON"},
		{"trailing data", `{"a":["x"]} x`, "", "not valid JSON"},
		{"not an object", `["a"]`, "", "must be a JSON object"},
		{"empty pattern", `{}`, "", "empty objects are not allowed"},
		{"empty nested object", `{"a":{}}`, "a", "empty objects are not allowed"},
		{"leaf not an array", `{"a":"x"}`, "a", "must be an object or an array"},
		{"leaf number", `{"a":{"b":5}}`, "a.b", "must be an object or an array"},
		{"empty array", `{"a":[]}`, "a", "empty arrays are not allowed"},
		{"nested array value", `{"a":[["x"]]}`, "a[0]", "match value must be"},
		{"empty operator", `{"a":[{}]}`, "a[0]", "empty objects are not allowed"},
		{"two keys in operator", `{"a":[{"prefix":"x","suffix":"y"}]}`, "a[0]", "only one key allowed"},
		{"unknown operator", `{"a":[{"regexp":"x"}]}`, "a[0].regexp", `unrecognized match type "regexp"`},
		{"prefix not string", `{"a":[{"prefix":5}]}`, "a[0].prefix", "prefix match pattern must be a string"},
		{"suffix not string", `{"a":[{"suffix":null}]}`, "a[0].suffix", "suffix match pattern must be a string"},
		{"prefix bad inner operator", `{"a":[{"prefix":{"wildcard":"x"}}]}`, "a[0].prefix", "only operator allowed"},
		{"prefix eic not string", `{"a":[{"prefix":{"equals-ignore-case":1}}]}`, "a[0].prefix.equals-ignore-case", "must be a string"},
		{"equals-ignore-case not string", `{"a":[{"equals-ignore-case":["x"]}]}`, "a[0].equals-ignore-case", "must be a string"},
		{"exactly not string", `{"a":[{"exactly":1}]}`, "a[0].exactly", "must be a string"},
		{"exists not boolean", `{"a":[{"exists":"true"}]}`, "a[0].exists", "must be true or false"},
		{"cidr not string", `{"a":[{"cidr":10}]}`, "a[0].cidr", "must be a string"},
		{"cidr invalid", `{"a":[{"cidr":"10.0.0/8"}]}`, "a[0].cidr", "not a valid IPv4 or IPv6 CIDR"},
		{"cidr no mask", `{"a":[{"cidr":"10.0.0.1"}]}`, "a[0].cidr", "not a valid"},
		{"cidr /32", `{"a":[{"cidr":"10.0.0.1/32"}]}`, "a[0].cidr", "less than 32"},
		{"cidr /128", `{"a":[{"cidr":"::1/128"}]}`, "a[0].cidr", "less than 128"},
		{"cidr mask too long", `{"a":[{"cidr":"10.0.0.0/33"}]}`, "a[0].cidr", "not a valid"},
		{"wildcard not string", `{"a":[{"wildcard":1}]}`, "a[0].wildcard", "must be a string"},
		{"wildcard double star", `{"a":[{"wildcard":"a**b"}]}`, "a[0].wildcard", "consecutive"},
		{"wildcard escaped then double", `{"a":[{"wildcard":"a\\***"}]}`, "a[0].wildcard", "consecutive"},
		{"wildcard bad escape", `{"a":[{"wildcard":"a\\b"}]}`, "a[0].wildcard", "invalid escape"},
		{"wildcard trailing backslash", `{"a":[{"wildcard":"a\\"}]}`, "a[0].wildcard", "invalid escape"},
		{"wildcard complexity", `{"a":[{"wildcard":"` + strings.Repeat("a*", MaxWildcardComplexity+1) + `"}]}`, "", "wildcard complexity"},
		{"numeric not array", `{"a":[{"numeric":5}]}`, "a[0].numeric", "must be an array"},
		{"numeric empty", `{"a":[{"numeric":[]}]}`, "a[0].numeric", "got 0 elements"},
		{"numeric three elements", `{"a":[{"numeric":[">",1,"<"]}]}`, "a[0].numeric", "got 3 elements"},
		{"numeric bad operator", `{"a":[{"numeric":["!=",1]}]}`, "a[0].numeric[0]", "unrecognized numeric operator"},
		{"numeric operator not string", `{"a":[{"numeric":[1,1]}]}`, "a[0].numeric[0]", "operator must be a string"},
		{"numeric value not number", `{"a":[{"numeric":[">","1"]}]}`, "a[0].numeric[1]", "must be a number"},
		{"numeric upper first", `{"a":[{"numeric":["<",5,">",1]}]}`, "a[0].numeric[0]", "lower bound"},
		{"numeric two lower bounds", `{"a":[{"numeric":[">",1,">=",2]}]}`, "a[0].numeric[2]", "lower bound"},
		{"numeric equals with range", `{"a":[{"numeric":["=",1,"<",2]}]}`, "a[0].numeric[0]", "exactly one number"},
		{"numeric empty range", `{"a":[{"numeric":[">",5,"<",1]}]}`, "a[0].numeric", "range is empty"},
		{"numeric point range open", `{"a":[{"numeric":[">",5,"<=",5]}]}`, "a[0].numeric", "range is empty"},
		{"numeric not representable", `{"a":[{"numeric":[">",0.10000000000000001]}]}`, "a[0].numeric[1]", "cannot be represented exactly"},
		{"numeric overflow", `{"a":[{"numeric":[">",1e400]}]}`, "a[0].numeric[1]", "cannot be represented exactly"},
		{"anything-but empty list", `{"a":[{"anything-but":[]}]}`, "a[0].anything-but", "empty arrays"},
		{"anything-but mixed list", `{"a":[{"anything-but":["a",1]}]}`, "a[0].anything-but", "mixed"},
		{"anything-but null", `{"a":[{"anything-but":null}]}`, "a[0].anything-but", "must be a string, a number"},
		{"anything-but boolean in list", `{"a":[{"anything-but":["a",true]}]}`, "a[0].anything-but[1]", "strings or numbers"},
		{"anything-but object in list", `{"a":[{"anything-but":[{"prefix":"a"}]}]}`, "a[0].anything-but[0]", "strings or numbers"},
		{"anything-but unknown operator", `{"a":[{"anything-but":{"numeric":[">",1]}}]}`, "a[0].anything-but.numeric", "unsupported anything-but operator"},
		{"anything-but two operators", `{"a":[{"anything-but":{"prefix":"a","suffix":"b"}}]}`, "a[0].anything-but", "exactly one"},
		{"anything-but empty prefix", `{"a":[{"anything-but":{"prefix":""}}]}`, "a[0].anything-but.prefix", "must not be empty"},
		{"anything-but empty suffix", `{"a":[{"anything-but":{"suffix":""}}]}`, "a[0].anything-but.suffix", "must not be empty"},
		{"anything-but prefix number", `{"a":[{"anything-but":{"prefix":1}}]}`, "a[0].anything-but.prefix", "string or a list of strings"},
		{"anything-but eic number list", `{"a":[{"anything-but":{"equals-ignore-case":[1]}}]}`, "a[0].anything-but.equals-ignore-case[0]", "must be strings"},
		{"anything-but bad wildcard", `{"a":[{"anything-but":{"wildcard":"**"}}]}`, "a[0].anything-but.wildcard", "consecutive"},
		{"$or one branch", `{"$or":[{"a":["x"]}]}`, "$or", "at least 2"},
		{"ruler readme $or with operator names is a field", `{"$or":[{"numeric":123},{"prefix":"abc"}]}`, "$or[0].numeric", "must be an array"},
		{"$or reserved nested field", `{"$or":[{"a":{"prefix":["x"]}},{"b":["y"]}]}`, "a.prefix", "reserved word"},
		{"$or branch invalid", `{"$or":[{"a":"x"},{"b":["y"]}]}`, "a", "must be an object or an array"},
		{"$or empty branch object", `{"$or":[{"a":{}},{"b":["y"]}]}`, "a", "empty objects"},
		{"$or legacy with invalid list", `{"$or":[{"a":["x"]},"y"]}`, "$or[0].a", "unrecognized match type"},
		{"$or too many combinations", `{"$or":[` + orBranches("a", 11) + `],"b":{"$or":[` + orBranches("c", 11) + `]},"d":{"$or":[` + orBranches("e", 11) + `]}}`, "d.$or", "more than 1000 combinations"},
		{"too long", `{"a":["` + strings.Repeat("x", MaxPatternLength) + `"]}`, "", "more than the limit of 4096"},
		{"invalid utf8", "{\"a\":[\"\xff\"]}", "", "not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]byte(tc.pattern))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%s) = %v, want a *pattern.Error", tc.pattern, err)
			}
			if pe.Path != tc.path || !strings.Contains(pe.Reason, tc.reason) {
				t.Errorf("Compile(%s) = %q (path %q), want path %q and a reason containing %q", tc.pattern, pe.Error(), pe.Path, tc.path, tc.reason)
			}
		})
	}
}

func orBranches(field string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"` + field + `":["` + strings.Repeat("v", i+1) + `"]}`)
	}
	return b.String()
}

func TestOrLimitAccepted(t *testing.T) {
	// 10 × 10 × 10 = 1000 combinations is the limit, inclusive.
	p := `{"$or":[` + orBranches("a", 10) + `],"b":{"$or":[` + orBranches("c", 10) + `]},"d":{"$or":[` + orBranches("e", 10) + `]}}`
	c, err := Compile([]byte(p))
	if err != nil {
		t.Fatalf("Compile(1000 combinations): %v", err)
	}
	ev := `{"a":"vvv","b":{"c":"vvvvvvvvvv"},"d":{"e":"v"}}`
	if got, err := c.Match([]byte(ev)); err != nil || !got {
		t.Errorf("Match(%s) = %v, %v, want true", ev, got, err)
	}
	ev = `{"a":"vvv","b":{"c":"vvvvvvvvvvv"},"d":{"e":"v"}}`
	if got, err := c.Match([]byte(ev)); err != nil || got {
		t.Errorf("Match(%s) = %v, %v, want false", ev, got, err)
	}
}

func TestInvalidEvents(t *testing.T) {
	p, err := Compile([]byte(`{"a":{"b":["x"]},"c":[1]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{
		``, `   `, `{`, `{"a"`, `{"a":}`, `{"a":{"b":"x"`, `{"a":{"b":"x}}`, `{"a":{"b":tru}}`, `{"c":01}`,
		`{"c":1.}`, `{"c":-}`, `{"c":1e}`, `{"a":{"b":"\x"}}`, `{"a":{"b":"\u12"}}`, "{\"a\":{\"b\":\"\x01\"}}",
		`{"z":[1,2}`, `{"z":{"y":[}`, `{"z":"open`, `{"a":{"b":"x"} "c":1}`, `{"c":1}}`, `{"c":1} x`, `[1,`,
	} {
		if got, err := p.Match([]byte(ev)); err == nil || !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("Match(%q) = %v, %v, want an ErrInvalidEvent error", ev, got, err)
		}
	}
}

func TestSetMatches(t *testing.T) {
	s, err := CompileSet([][]byte{
		[]byte(`{"a":["1"]}`),
		[]byte(`{"b":[{"prefix":"x"}]}`),
		[]byte(`{"a":["1"],"b":["xy"]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		event string
		want  []int
	}{
		{`{"a":"1"}`, []int{0}},
		{`{"b":"xz"}`, []int{1}},
		{`{"a":"1","b":"xy"}`, []int{0, 1, 2}},
		{`{"a":"2","b":"y"}`, nil},
	}
	for _, tc := range tests {
		got, err := s.Matches([]byte(tc.event), nil)
		if err != nil {
			t.Fatalf("Matches(%s): %v", tc.event, err)
		}
		if len(got) != len(tc.want) {
			t.Errorf("Matches(%s) = %v, want %v", tc.event, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("Matches(%s) = %v, want %v", tc.event, got, tc.want)
			}
		}
	}
	if _, err := CompileSet(make([][]byte, MaxSetSize+1)); err == nil {
		t.Errorf("CompileSet(%d patterns) succeeded, want an error", MaxSetSize+1)
	}
	_, err = CompileSet([][]byte{[]byte(`{"a":["x"]}`), []byte(`{"a":"x"}`)})
	var pe *Error
	if !errors.As(err, &pe) || pe.Path != "Filters[1].Pattern:a" {
		t.Errorf("CompileSet(bad second pattern) = %v, want an error at Filters[1].Pattern:a", err)
	}
	empty, err := CompileSet(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := empty.Matches([]byte(`{"a":1}`), nil); err != nil || len(got) != 0 {
		t.Errorf("empty set Matches = %v, %v, want none", got, err)
	}
}

func TestNonPipesOperators(t *testing.T) {
	tests := []struct {
		pattern string
		want    string
	}{
		{`{"a":["x"],"b":[{"prefix":"y"}],"c":[{"anything-but":["z"]}],"d":[{"numeric":[">",1]}],"$or":[{"e":[{"exists":true}]},{"f":[{"suffix":{"equals-ignore-case":"x"}}]}]}`, ""},
		{`{"a":[{"wildcard":"x*"}]}`, "wildcard"},
		{`{"a":[{"anything-but":{"prefix":"x"}},{"anything-but":{"suffix":"x"}},{"anything-but":{"equals-ignore-case":"x"}},{"anything-but":{"wildcard":"x"}}]}`, "anything-but/equals-ignore-case,anything-but/prefix,anything-but/suffix,anything-but/wildcard"},
		{`{"a":[{"cidr":"10.0.0.0/8"},{"exactly":"x"}]}`, "cidr,exactly"},
	}
	for _, tc := range tests {
		p, err := Compile([]byte(tc.pattern))
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.pattern, err)
		}
		if got := strings.Join(p.NonPipesOperators(), ","); got != tc.want {
			t.Errorf("NonPipesOperators(%s) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

func TestManyFields(t *testing.T) {
	// More than 64 fields under one object exercises the wide seen-set; the last one must be absent.
	var p, ev strings.Builder
	p.WriteString(`{"o":{`)
	ev.WriteString(`{"o":{`)
	for i := 0; i < 70; i++ {
		if i > 0 {
			p.WriteByte(',')
			ev.WriteByte(',')
		}
		name := strings.Repeat("f", i+1)
		if i == 69 {
			p.WriteString(`"` + name + `":[{"exists":false}]`)
			ev.WriteString(`"other":1`)
			continue
		}
		p.WriteString(`"` + name + `":[` + strings.Repeat("1", 1) + `]`)
		ev.WriteString(`"` + name + `":1`)
	}
	p.WriteString(`}}`)
	ev.WriteString(`}}`)
	c, err := Compile([]byte(p.String()))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.Match([]byte(ev.String())); err != nil || !got {
		t.Errorf("Match(70 fields) = %v, %v, want true", got, err)
	}
	withLast := strings.Replace(ev.String(), `"other":1`, `"`+strings.Repeat("f", 70)+`":1`, 1)
	if got, err := c.Match([]byte(withLast)); err != nil || got {
		t.Errorf("Match(70 fields, last present) = %v, %v, want false", got, err)
	}
	checkReference(t, p.String(), ev.String(), true)
}

func TestConcurrentMatch(t *testing.T) {
	s, err := CompileSet([][]byte{[]byte(`{"a":{"b":[{"numeric":[">",5]}]}}`), []byte(`{"c":[{"prefix":"x"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(g int) {
			var dst []int
			for i := 0; i < 500; i++ {
				ev := `{"a":[{"b":` + strings.Repeat("9", 1+(i+g)%3) + `}],"c":"xy"}`
				var err error
				if dst, err = s.Matches([]byte(ev), dst[:0]); err != nil || len(dst) != 2 {
					done <- errors.New("Matches(" + ev + ") did not match both patterns")
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestMatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	tests := []struct{ pattern, event string }{
		{`{"ip":[{"cidr":"10.0.0.0/8"}],"v6":["2001:db8::1"]}`, `{"ip":"10.1.2.3","v6":"2001:DB8::1"}`},
		{`{"s":[{"equals-ignore-case":"straße"},{"prefix":{"equals-ignore-case":"x"}}]}`, `{"s":"STRASSE \u00e9"}`},
		{`{"n":[{"numeric":[">",0.1]}],"m":[300],"k":[{"anything-but":[1,2]}]}`, `{"n":0.10000000000000001,"m":3e2,"k":3}`},
		{`{"a":{"b":[{"exists":false}],"c":[{"wildcard":"*x*"}]}}`, `{"z":[1,{"y":"\u00e9"}],"a":[{"b":1},{"c":"axb"}]}`},
	}
	for _, tc := range tests {
		p, err := Compile([]byte(tc.pattern))
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.pattern, err)
		}
		ev := []byte(tc.event)
		if n := testing.AllocsPerRun(100, func() { _, _ = p.Match(ev) }); n != 0 {
			t.Errorf("Match(%s) against %s allocates %v times, want 0", tc.event, tc.pattern, n)
		}
	}
	s, err := CompileSet([][]byte{[]byte(`{"value":{"a":[1]}}`), []byte(`{"key":[{"prefix":"k"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	rec, key, val := []byte(kafkaRecord), []byte("k1"), []byte(`{"a":1}`)
	if n := testing.AllocsPerRun(100, func() { _, _ = s.MatchKafka(rec, key, val) }); n != 0 {
		t.Errorf("MatchKafka allocates %v times, want 0", n)
	}
}
