package queries

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WriteMetrics writes the store's pool, batching, vote and replica-routing
// counters in the Prometheus text format. The names live here, next to the
// stats they read (as VictoriaMetrics' own packages do), so server only
// registers the writer; the README's metrics table lists them.
func (s *Store) WriteMetrics(w io.Writer) {
	writePoolMetrics(w, "primary", s.WritePool())
	if p := s.ReadPool(); p != s.WritePool() {
		writePoolMetrics(w, "primary_reads", p)
	}
	if rp := s.ReplicaPool(); rp != nil {
		writePoolMetrics(w, "replica", rp)
	}
	primary, replica, ok := s.ReadBatchStats()
	writeBatchMetrics(w, "primary", primary)
	if ok {
		writeBatchMetrics(w, "replica", replica)
	}
	// votes_total / vote_statements_total is the mean number of helpful
	// votes per statement (see votePipe).
	votes := s.VoteBatchStats()
	metrics.WriteCounterUint64(w, "catwalk_db_vote_statements_total", votes.Batches)
	metrics.WriteCounterUint64(w, "catwalk_db_votes_total", votes.Statements)
	if st, ok := s.ReplicaStats(); ok {
		metrics.WriteGaugeFloat64(w, "catwalk_replica_lag_seconds", st.Lag.Seconds())
		metrics.WriteCounterUint64(w, `catwalk_reads_total{pool="replica"}`, st.ToReplica)
		metrics.WriteCounterUint64(w, `catwalk_reads_total{pool="primary"}`, st.ToPrimary)
	}
}

// writeBatchMetrics: statements_total / batches_total is the mean number
// of read statements per round trip (see readPipe).
func writeBatchMetrics(w io.Writer, name string, st BatchStats) {
	l := `{pool="` + name + `"}`
	metrics.WriteCounterUint64(w, "catwalk_db_read_batches_total"+l, st.Batches)
	metrics.WriteCounterUint64(w, "catwalk_db_read_statements_total"+l, st.Statements)
}

func writePoolMetrics(w io.Writer, name string, p *pgxpool.Pool) {
	st := p.Stat()
	l := `{pool="` + name + `"}`
	metrics.WriteGaugeFloat64(w, "catwalk_db_pool_max_conns"+l, float64(st.MaxConns()))
	metrics.WriteGaugeFloat64(w, "catwalk_db_pool_total_conns"+l, float64(st.TotalConns()))
	metrics.WriteGaugeFloat64(w, "catwalk_db_pool_acquired_conns"+l, float64(st.AcquiredConns()))
	metrics.WriteGaugeFloat64(w, "catwalk_db_pool_idle_conns"+l, float64(st.IdleConns()))
	metrics.WriteCounterUint64(w, "catwalk_db_pool_acquires_total"+l, uint64(st.AcquireCount()))
	metrics.WriteCounterUint64(w, "catwalk_db_pool_empty_acquires_total"+l, uint64(st.EmptyAcquireCount()))
	metrics.WriteCounterUint64(w, "catwalk_db_pool_canceled_acquires_total"+l, uint64(st.CanceledAcquireCount()))
	metrics.WriteGaugeFloat64(w, "catwalk_db_pool_acquire_wait_seconds_total"+l, st.AcquireDuration().Seconds())
	metrics.WriteCounterUint64(w, "catwalk_db_pool_new_conns_total"+l, uint64(st.NewConnsCount()))
}
