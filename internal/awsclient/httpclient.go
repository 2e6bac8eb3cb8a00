package awsclient

import (
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// HTTPClient returns next (a new SDK default client when nil) sending request bodies without their
// WriteTo method. Every AWS client Sluice makes goes through it.
//
// Why: the SDK (smithy-go) hands net/http a request body whose WriteTo answers io.EOF, as an error,
// once the SDK has closed it, and the SDK closes it as soon as the response arrives. After writing a
// body of known length, net/http copies whatever the body still holds, and that copy calls WriteTo.
// When the service answered before that copy ran (it had every byte it was told of), the copy fails
// with io.EOF, and the transport closes the connection under the response being read. The call then
// fails with "use of closed network connection" although the service did it (StatusCode 200), and
// the runtime sends the batch again: a duplicate. It took one call in a few hundred against a local
// emulator. Without WriteTo, net/http reads the body with Read, whose io.EOF ends the body.
func HTTPClient(next aws.HTTPClient) aws.HTTPClient {
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	return readBodies{next}
}

type readBodies struct{ next aws.HTTPClient }

func (c readBodies) Do(r *http.Request) (*http.Response, error) {
	if _, ok := r.Body.(io.WriterTo); ok && r.Body != http.NoBody {
		r = r.WithContext(r.Context()) // a shallow copy: the caller's request stays as it was
		r.Body = readCloser{r.Body}
	}
	return c.next.Do(r)
}

// readCloser has only the Read and Close of the body it holds.
type readCloser struct{ io.ReadCloser }
