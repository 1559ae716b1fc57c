-- wrk script for the edge+origin pair test (tests/bench/run.sh): after the
-- run, one line "pair-json {...}" with the counters, the error counts and
-- the latency quantiles (microseconds) as JSON, so nothing has to be
-- scraped from wrk's human-readable text. Numbers only: no escaping needed.
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'pair-json {"requests":%d,"duration_us":%d,"bytes":%d,' ..
		'"errors_connect":%d,"errors_read":%d,"errors_write":%d,' ..
		'"errors_timeout":%d,"errors_status":%d,' ..
		'"latency_p50_us":%d,"latency_p99_us":%d,"latency_p999_us":%d,' ..
		'"latency_max_us":%d}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect, e.read, e.write, e.timeout, e.status,
		latency:percentile(50), latency:percentile(99),
		latency:percentile(99.9), latency.max))
end
