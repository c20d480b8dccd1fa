package kv

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxHeaderBytes bounds a request's line and headers together. net/http
// itself answers a larger request with 431 before any handler runs; it
// accepts up to 4 KiB more than this, the slack of its read buffer.
const MaxHeaderBytes = 64 << 10

// NewHTTPServer returns an http.Server for h with raftkv's limits. Serve
// it on JSONErrorListener(ln) so that the errors net/http answers itself
// are JSON too.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: MaxHeaderBytes}
}

// JSONErrorListener wraps ln so that the error responses net/http writes
// itself, before any handler runs, have the API's JSON body
// {"error": "..."} too. These responses are 431 (line and headers over
// MaxHeaderBytes), 400 (a malformed request line or header, a bad
// %-escape, a missing Host), 501 (an unknown Transfer-Encoding), 505 (not
// HTTP/1.x) and 417 (an Expect other than 100-continue).
//
// net/http has no hook for these responses. It writes the first four as
// fixed text with one Write straight onto the connection (conn.serve in
// net/http/server.go), and it writes 417 as a bodiless response, so the
// connection recognises those writes by their exact shape and replaces
// them. A handler's own response never has that shape: it always carries
// a Date header, and the kv handlers never answer 417. The 431 message
// assumes a server from NewHTTPServer.
func JSONErrorListener(ln net.Listener) net.Listener { return jsonErrorListener{ln} }

type jsonErrorListener struct{ net.Listener }

func (l jsonErrorListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return jsonErrorConn{c}, nil
}

// jsonErrorConn replaces net/http's own error responses with JSON ones.
type jsonErrorConn struct{ net.Conn }

func (c jsonErrorConn) Write(b []byte) (int, error) {
	j, ok := netHTTPError(b)
	if !ok {
		return c.Conn.Write(b)
	}
	if _, err := c.Conn.Write(j); err != nil {
		return 0, err
	}
	return len(b), nil
}

// CloseWrite passes on the half-close that net/http does after a 431 on a
// TCP connection (it looks for this method), so that the client reads the
// answer before the connection is reset.
func (c jsonErrorConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// netHTTPErrorHeaders are the headers net/http puts after the status line
// of the errors it writes onto the connection (errorHeaders in
// net/http/server.go).
const netHTTPErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// netHTTPError recognises a response that net/http wrote itself and
// returns its JSON replacement.
func netHTTPError(b []byte) ([]byte, bool) {
	// Only error statuses need a look; this keeps the check cheap for
	// the other writes, which may be large.
	if len(b) < 13 || !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) || (b[9] != '4' && b[9] != '5') {
		return nil, false
	}
	s := string(b)
	code, err := strconv.Atoi(s[9:12])
	if err != nil {
		return nil, false
	}
	if strings.HasPrefix(s, "HTTP/1.1 417 Expectation Failed\r\nConnection: close\r\n") && strings.HasSuffix(s, "\r\n\r\n") {
		return errorResponse(code, "unsupported Expect header: only 100-continue is supported"), true
	}
	status, body, ok := strings.Cut(s, netHTTPErrorHeaders)
	if !ok || strings.Contains(status, "\r\n") {
		return nil, false
	}
	return errorResponse(code, netHTTPMessage(code, body)), true
}

// netHTTPMessage is the JSON message for a net/http error with the given
// text body: "431 Request Header Fields Too Large", "400 Bad Request:
// missing required Host header", "Unsupported transfer encoding", ...
func netHTTPMessage(code int, body string) string {
	detail := strings.TrimPrefix(body, fmt.Sprintf("%d %s", code, http.StatusText(code)))
	detail = strings.TrimPrefix(detail, ": ")
	switch {
	case code == http.StatusRequestHeaderFieldsTooLarge:
		return fmt.Sprintf("the request line and headers are more than %d bytes", MaxHeaderBytes)
	case detail != "":
		return detail
	case code == http.StatusBadRequest:
		return "malformed request: the request line or a header cannot be parsed (an invalid %-escape in the path?)"
	}
	return strings.ToLower(http.StatusText(code))
}

// errorResponse is a complete JSON error response that closes the
// connection, as net/http's own ones do.
func errorResponse(code int, msg string) []byte {
	body := errorJSON(msg)
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}
