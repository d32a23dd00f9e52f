package etl

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"

	"github.com/jackc/pgx/v5"

	"github.com/catwalk/reviews/schema"
)

// copyWriter writes PostgreSQL's binary COPY format. Rows are encoded
// straight from the parsed CSV bytes: no per-value allocation, and the server
// does not parse text.
type copyWriter struct {
	w   *bufio.Writer
	buf [8]byte
}

var copyHeader = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")

func newCopyWriter(w io.Writer) *copyWriter {
	cw := &copyWriter{w: bufio.NewWriterSize(w, 1<<20)}
	cw.w.Write(copyHeader)
	return cw
}

func (c *copyWriter) row(fields int) {
	binary.BigEndian.PutUint16(c.buf[:2], uint16(fields))
	c.w.Write(c.buf[:2])
}

func (c *copyWriter) length(n int) {
	binary.BigEndian.PutUint32(c.buf[:4], uint32(int32(n)))
	c.w.Write(c.buf[:4])
}

func (c *copyWriter) int2(v int16) {
	c.length(2)
	binary.BigEndian.PutUint16(c.buf[:2], uint16(v))
	c.w.Write(c.buf[:2])
}

func (c *copyWriter) int4(v int32) {
	c.length(4)
	binary.BigEndian.PutUint32(c.buf[:4], uint32(v))
	c.w.Write(c.buf[:4])
}

func (c *copyWriter) int8(v int64) {
	c.length(8)
	binary.BigEndian.PutUint64(c.buf[:8], uint64(v))
	c.w.Write(c.buf[:8])
}

func (c *copyWriter) boolean(v bool) {
	c.length(1)
	if v {
		c.w.WriteByte(1)
	} else {
		c.w.WriteByte(0)
	}
}

// pgEpochMicros is 2000-01-01T00:00:00Z in Unix microseconds.
const pgEpochMicros = 946684800000000

// timestamptzMillis writes an epoch-milliseconds instant as timestamptz.
func (c *copyWriter) timestamptzMillis(ms int64) {
	c.int8(ms*1000 - pgEpochMicros)
}

func (c *copyWriter) text(b []byte) {
	c.length(len(b))
	c.w.Write(b)
}

func (c *copyWriter) null() {
	c.length(-1)
}

// close writes the trailer and flushes.
func (c *copyWriter) close() error {
	c.w.Write([]byte{0xff, 0xff})
	return c.w.Flush()
}

// copyFrom streams what produce writes into table with binary COPY. produce
// runs in its own goroutine, so parsing overlaps the server's work.
func copyFrom(ctx context.Context, tx pgx.Tx, table string, columns []string, produce func(*copyWriter) error) error {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		cw := newCopyWriter(pw)
		err := produce(cw)
		if err == nil {
			err = cw.close()
		}
		pw.CloseWithError(err)
		done <- err
	}()
	// FREEZE (see schema.ETLCopy): the staging table was created in this
	// transaction.
	_, err := tx.Conn().PgConn().CopyFrom(ctx, pr, schema.ETLCopy(table, columns))
	pr.CloseWithError(errors.New("copy ended"))
	perr := <-done
	if perr != nil {
		return perr
	}
	return err
}
