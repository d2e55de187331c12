package mailer

import (
	"mime"

	"github.com/emersion/go-message/charset"
)

// mime2047Decoder decodes RFC 2047 encoded words in any charset go-message knows.
type mime2047Decoder struct{}

func (mime2047Decoder) decode(s string) (string, error) {
	d := mime.WordDecoder{CharsetReader: charset.Reader}
	return d.DecodeHeader(s)
}
