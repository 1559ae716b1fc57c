#!/usr/bin/env python3
"""Tables for tests/bench/run.sh from its results (JSON Lines).

  table.py RESULTS            the tables, ratios to nginx, the targets
  table.py --check RESULTS    every run's progress line, the same tables,
                              then exit 1 when a run was not correct
                              (make bench-smoke: no thresholds)
  table.py --last RESULTS     one progress line for the newest result

Rates are per CPU-second of the server under test (utime+stime of its
process tree from /proc): client and servers share the machine, so raw
rates are not comparable between servers; CPU cost per operation is.
Edge+origin pairs (test "pair", wrk into the edge) are ranked by req/s
and by requests per CPU-second of edge and origin together; a pair that
answered anything but 2xx or lost a connection is flagged, not ranked.
"""
import json
import statistics
import sys

TESTS = {
    'hs': 'full mTLS handshakes',
    'hs_req': 'full handshake + 1 proxied GET',
    'resume': 'resumed handshake + 1 GET',
    'ka': 'keep-alive requests',
    'rej_untrusted': 'rejections, untrusted cert',
    'rej_nocert': 'rejections, no cert',
}
ORDER = ['verifier', 'verifier-w2', 'nginx', 'haproxy', 'stunnel', 'floor']
PAIR_ORDER = ['edgeguard', 'nginx', 'haproxy']
PAIR_NAMES = {'edgeguard': 'edgeguard-forwarder -> edgeguard-verifier',
              'nginx': 'nginx -> nginx', 'haproxy': 'HAProxy -> HAProxy'}
# wrk's error counters: socket errors, and responses with status >= 400.
WRK_ERRORS = ('errors_connect', 'errors_read', 'errors_write',
              'errors_timeout', 'errors_status')
# The forwarder's pool (pool_size in servers.sh): issue 4 wants full
# handshakes towards the origin per 10,000 requests close to it.
POOL_SIZE = 32


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def per_cpu(r):
    lg = r.get('loadgen') or {}
    cpu = r.get('server_cpu_s') or 0
    return lg.get('ops', 0) / cpu if cpu > 0 else 0.0


def foreign(r):
    """Cores used by processes outside the measurement during the run."""
    lg = r.get('loadgen') or {}
    other = (r['busy_cpu_s'] - r['server_cpu_s'] - r['backend_cpu_s'] -
             lg.get('client_cpu_s', 0))
    return max(other, 0) / r['wall_s'] if r['wall_s'] > 0 else 0.0


def pair_errors(r):
    """wrk's errors of a pair run by kind (None: no report from wrk)."""
    w = r.get('wrk')
    if not w:
        return None
    return {k[len('errors_'):]: w[k] for k in WRK_ERRORS if w.get(k)}


def pair_rps(r):
    w = r.get('wrk') or {}
    d = w.get('duration_us', 0) / 1e6
    return w.get('requests', 0) / d if d > 0 else 0.0


def pair_per_cpu(r):
    cpu = r.get('edge_cpu_s', 0) + r.get('origin_cpu_s', 0)
    return (r.get('wrk') or {}).get('requests', 0) / cpu if cpu > 0 else 0.0


def per_part(r, key):
    """Requests per CPU-second of one side of a pair (key: edge_cpu_s or
    origin_cpu_s)."""
    cpu = r.get(key, 0)
    return (r.get('wrk') or {}).get('requests', 0) / cpu if cpu > 0 else 0.0


def pair_util(r):
    return ((r['edge_cpu_s'] + r['origin_cpu_s']) / r['wall_s']
            if r['wall_s'] > 0 else 0.0)


def pair_foreign(r):
    """Cores used during a pair run by processes outside it."""
    other = (r['busy_cpu_s'] - r['edge_cpu_s'] - r['origin_cpu_s'] -
             r['backend_cpu_s'] - r['client_cpu_s'])
    return max(other, 0) / r['wall_s'] if r['wall_s'] > 0 else 0.0


def fw_delta(r, key):
    a, b = r.get('forwarder_after'), r.get('forwarder_before')
    return b and a and a[key] - b[key]


def mem_bytes(r):
    lg = r.get('loadgen') or {}
    held = lg.get('held', 0)
    if held <= 0:
        return None
    return (r['rss_open_kb'] - r['rss_before_kb']) * 1024 / held


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Summary:
    def __init__(self, rows):
        self.func = {r['server']: r for r in rows if r.get('test') == 'func'}
        self.skipped = [r['server'] for r in rows if r.get('test') == 'skipped']
        self.runs = [r for r in rows if r.get('test') in TESTS]
        self.mem = {r['server']: r for r in rows if r.get('test') == 'mem'}
        seen = {r['server'] for r in self.runs} | set(self.mem)
        self.servers = [s for s in ORDER if s in seen]
        self.servers += sorted(seen - set(ORDER))
        self.pair_func = {r['server']: r for r in rows
                          if r.get('test') == 'pair_func'}
        self.pair_skipped = [r['server'] for r in rows
                             if r.get('test') == 'pair_skipped']
        self.pair_runs = [r for r in rows if r.get('test') == 'pair']
        seen = {r['server'] for r in self.pair_runs}
        self.pairs = [p for p in PAIR_ORDER if p in seen]
        self.pairs += sorted(seen - set(PAIR_ORDER))

    def runs_of(self, server, test):
        return [r for r in self.runs
                if r['server'] == server and r['test'] == test]

    def med(self, server, test, fn):
        return median([fn(r) for r in self.runs_of(server, test)])

    def cpu_rate(self, server, test):
        return self.med(server, test, per_cpu)

    def lat(self, server, test, key):
        return self.med(server, test,
                        lambda r: (r.get('loadgen') or {}).get(key, 0) / 1000)

    def pair_of(self, pair):
        return [r for r in self.pair_runs if r['server'] == pair]

    def pair_problems(self, pair):
        """Why a pair's figures cannot be ranked: [] when every run was
        correct (2xx only, no socket error, requests done)."""
        out = []
        f = self.pair_func.get(pair)
        if f and f['edge'] != '200':
            out.append(f'a request through the edge got {f["edge"]}, '
                       'not 200')
        for r in self.pair_of(pair):
            errs = pair_errors(r)
            if errs is None:
                out.append(f'rep {r["rep"]}: no report from wrk')
                continue
            if errs:
                out.append(f'rep {r["rep"]}: errors ' + ', '.join(
                    f'{k} {v}' for k, v in sorted(errs.items())))
            if r['wrk'].get('requests', 0) <= 0:
                out.append(f'rep {r["rep"]}: no request completed')
            if pair == 'edgeguard':
                if r.get('forwarder_after') is None:
                    out.append(f'rep {r["rep"]}: forwarder /metrics '
                               'unreadable')
                elif fw_delta(r, 'errors'):
                    out.append(f'rep {r["rep"]}: forwarder counted '
                               f'{fw_delta(r, "errors")} errors')
        return out

    def pair_med(self, pair, fn):
        """Median of fn over a pair's runs; None when it was incorrect."""
        if self.pair_problems(pair):
            return None
        return median([fn(r) for r in self.pair_of(pair)])

    def pair_lat(self, pair, key):
        return self.pair_med(pair, lambda r: r['wrk'][key] / 1000)

    def pair_handshakes(self, pair):
        """Full handshakes towards the origin per 10,000 requests, from the
        forwarder's counters: since it started (pool fill included), and
        within the measured runs only; plus resumed ones since start."""
        rs = [r for r in self.pair_of(pair) if r.get('forwarder_after')]
        if not rs:
            return None
        last = max(rs, key=lambda r: r['rep'])['forwarder_after']
        per10k = lambda n, q: n * 10000 / q if q > 0 else None
        total = per10k(last['full'], last['requests'])
        q = sum(fw_delta(r, 'requests') or 0 for r in rs)
        within = per10k(sum(fw_delta(r, 'full') or 0 for r in rs), q)
        return {'total': total, 'within': within,
                'resumed': per10k(last['resumed'], last['requests']),
                'full': last['full'], 'resumed_n': last['resumed'],
                'requests': last['requests']}

    def mem_kib(self, server):
        r = self.mem.get(server)
        b = mem_bytes(r) if r else None
        return b / 1024 if b is not None else None


def fmt(v, digits=0):
    if v is None:
        return '-'
    return f'{v:,.{digits}f}'


def ratio(v, ref, inverse=False):
    if v is None or ref in (None, 0) or v == 0:
        return '-'
    return f'{(ref / v if inverse else v / ref):.2f}x'


def table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: '| ' + ' | '.join(
        str(c).rjust(w[i]) if i else str(c).ljust(w[i])
        for i, c in enumerate(cells)) + ' |'
    print(line(head))
    print('|' + '|'.join('-' * (x + 2) for x in w) + '|')
    for r in rows:
        print(line(r))


def print_tables(s):
    ref = 'nginx'
    print('\nPer CPU-second of the server (median over repetitions); '
          'x = ratio to nginx')
    head = ['server', 'full hs', 'x', 'hs+GET', 'x', 'resumed', 'x',
            'rej untrusted', 'x', 'rej no cert', 'x']
    rows = []
    for sv in s.servers:
        row = [sv]
        for t in ('hs', 'hs_req', 'resume', 'rej_untrusted', 'rej_nocert'):
            v = s.cpu_rate(sv, t)
            row += [fmt(v), ratio(v, s.cpu_rate(ref, t))]
        rows.append(row)
    table(head, rows)

    print('\nKeep-alive proxied requests (%s) and idle connections'
          % ', '.join(sorted({str((r.get('loadgen') or {}).get('connections'))
                              + ' conns' for r in s.runs
                              if r['test'] == 'ka'})))
    head = ['server', 'req/CPU-s', 'x', 'req/s', 'p50 ms', 'p99 ms',
            'p999 ms', 'idle KiB/conn', 'x (lower is better)']
    rows = []
    for sv in s.servers:
        v = s.cpu_rate(sv, 'ka')
        m = s.mem_kib(sv)
        rows.append([sv, fmt(v), ratio(v, s.cpu_rate(ref, 'ka')),
                     fmt(s.med(sv, 'ka', lambda r: (r.get('loadgen') or {})
                               .get('ops_per_s', 0))),
                     fmt(s.lat(sv, 'ka', 'latency_p50_us'), 3),
                     fmt(s.lat(sv, 'ka', 'latency_p99_us'), 3),
                     fmt(s.lat(sv, 'ka', 'latency_p999_us'), 3),
                     fmt(m, 1), ratio(m, s.mem_kib(ref), inverse=True)])
    table(head, rows)

    print('\nRaw rates per wall second [server CPU utilisation; '
          'max cores used by other processes]')
    head = ['server'] + list(TESTS)
    rows = []
    for sv in s.servers:
        row = [sv]
        for t in TESTS:
            rs = s.runs_of(sv, t)
            if not rs:
                row.append('-')
                continue
            rate = median([(r.get('loadgen') or {}).get('ops_per_s', 0)
                           for r in rs])
            util = median([r['server_cpu_s'] / r['wall_s'] for r in rs])
            fr = max(foreign(r) for r in rs)
            row.append(f'{rate:,.0f} [{util:.2f}; {fr:.2f}]')
        rows.append(row)
    table(head, rows)

    print('\nWhat each client gets (HTTP status, or tls = failed '
          'connection): allowlisted / untrusted / no certificate')
    for sv in s.servers:
        f = s.func.get(sv)
        if f:
            print(f'  {sv:12} {f["edge"]} / {f["rogue"]} / {f["none"]}')
    for sv in s.skipped:
        print(f'  {sv:12} skipped: not installed')


def print_pairs(s):
    if not s.pairs and not s.pair_skipped:
        return
    conns = sorted({f'wrk -t{r["threads"]} -c{r["conns"]}'
                    for r in s.pair_runs})
    print('\nEdge+origin pairs: %s, plain HTTP keep-alive into the edge, '
          'mTLS (client certificate) edge -> origin -> backend; medians '
          'over repetitions; x = ratio to that pair' % ', '.join(conns))
    head = ['pair', 'req/s', 'x nginx', 'x haproxy', 'p50 ms', 'p99 ms',
            'edge CPU-s', 'origin CPU-s', 'req/(e+o) CPU-s', 'x nginx',
            'x haproxy', 'origin full hs/10k req',
            '[e+o util; other cores]']
    ref_rps = {p: s.pair_med(p, pair_rps) for p in ('nginx', 'haproxy')}
    ref_cpu = {p: s.pair_med(p, pair_per_cpu) for p in ('nginx', 'haproxy')}
    rows = []
    for p in s.pairs:
        rs = s.pair_of(p)
        load = (f'[{median([pair_util(r) for r in rs]):.2f}; '
                f'{max(pair_foreign(r) for r in rs):.2f}]')
        if s.pair_problems(p):
            rows.append([p, 'INCORRECT'] + ['-'] * 10 + [load])
            continue
        rps, cpu = s.pair_med(p, pair_rps), s.pair_med(p, pair_per_cpu)
        hs = s.pair_handshakes(p)
        rows.append([p, fmt(rps), ratio(rps, ref_rps['nginx']),
                     ratio(rps, ref_rps['haproxy']),
                     fmt(s.pair_lat(p, 'latency_p50_us'), 3),
                     fmt(s.pair_lat(p, 'latency_p99_us'), 3),
                     fmt(s.pair_med(p, lambda r: r['edge_cpu_s']), 2),
                     fmt(s.pair_med(p, lambda r: r['origin_cpu_s']), 2),
                     fmt(cpu), ratio(cpu, ref_cpu['nginx']),
                     ratio(cpu, ref_cpu['haproxy']),
                     fmt(hs and hs['total'], 2), load])
    table(head, rows)
    for p in s.pairs:
        print(f'  {p:10} {PAIR_NAMES.get(p, p)}' + ('' if s.pair_problems(p)
              else '; requests per CPU-second of the edge '
              + fmt(s.pair_med(p, lambda r: per_part(r, 'edge_cpu_s')))
              + ', of the origin '
              + fmt(s.pair_med(p, lambda r: per_part(r, 'origin_cpu_s')))))
        for why in s.pair_problems(p):
            print(f'  {"":10} INCORRECT: {why}')
        hs = s.pair_handshakes(p)
        if hs:
            print(f'  {"":10} handshakes towards the origin since the '
                  f'forwarder started: full {hs["full"]:,}, resumed '
                  f'{hs["resumed_n"]:,}, for {hs["requests"]:,} requests '
                  f'(full {fmt(hs["total"], 2)} per 10k, resumed '
                  f'{fmt(hs["resumed"], 2)} per 10k); within the measured '
                  f'runs: full {fmt(hs["within"], 2)} per 10k')
    for p in s.pair_skipped:
        print(f'  {p:10} skipped: not installed')


def times(x, k):
    return x * k if x is not None else None


def print_targets(s):
    out = []

    def check(label, value, bound, higher=True, unit=''):
        if value is None or bound is None:
            out.append(f'  n/a   {label}: not measured')
            return
        ok = value >= bound if higher else value <= bound
        rel = '>=' if higher else '<='
        out.append(f'  {"MET " if ok else "MISS"}  {label}: {value:,.1f}{unit}'
                   f' vs {rel} {bound:,.1f}{unit}')

    if 'verifier' in s.servers:
        origin_targets(s, out, check)
    if 'edgeguard' in s.pairs:
        pair_targets(s, out, check)
    if out:
        print('\nTargets (informational; make bench checks no thresholds):')
        print('\n'.join(out))


def origin_targets(s, out, check):
    v, n, fl = 'verifier', 'nginx', 'floor'
    hs, ka = s.cpu_rate(v, 'hs'), s.cpu_rate(v, 'ka')
    mem = s.mem_kib(v)
    out.append('issue 3 (verifier vs nginx, same run):')
    check('full mTLS handshakes per CPU-s >= nginx', hs, s.cpu_rate(n, 'hs'))
    check('proxied keep-alive req per CPU-s >= nginx', ka,
          s.cpu_rate(n, 'ka'))
    check('memory per idle mTLS connection <= nginx', mem, s.mem_kib(n),
          higher=False, unit=' KiB')
    out.append('issue 7:')
    check('full handshakes per CPU-s >= 0.9x bare GnuTLS server', hs,
          times(s.cpu_rate(fl, 'hs'), 0.9))
    check('proxied keep-alive req per CPU-s >= 1.5x nginx', ka,
          times(s.cpu_rate(n, 'ka'), 1.5))
    check('memory per idle mTLS connection <= 14 KB', mem, 14000 / 1024,
          higher=False, unit=' KiB')
    adm = s.cpu_rate(v, 'hs_req')
    check('rejections (untrusted) per CPU-s >= admissions (hs+GET)',
          s.cpu_rate(v, 'rej_untrusted'), adm)
    check('rejections (no cert) per CPU-s >= admissions (hs+GET)',
          s.cpu_rate(v, 'rej_nocert'), adm)
    if 'verifier-w2' in s.servers:
        w2 = s.cpu_rate('verifier-w2', 'hs')
        out.append('  info  2 workers vs 1, handshakes per CPU-s: '
                   + ratio(w2, hs) + ' (1.00x = no loss per core; the '
                   'client shares the 2 cores, so wall rates cannot show '
                   'scaling here)')


def pair_targets(s, out, check):
    e = 'edgeguard'
    if s.pair_problems(e):
        out.append('  MISS  edge+origin pair: the edgeguard pair was '
                   'incorrect (see above)')
        return
    rps, p99 = s.pair_med(e, pair_rps), s.pair_lat(e, 'latency_p99_us')
    hs = s.pair_handshakes(e)
    nr, np99 = s.pair_med('nginx', pair_rps), s.pair_lat('nginx',
                                                          'latency_p99_us')
    hr, hp99 = s.pair_med('haproxy', pair_rps), s.pair_lat('haproxy',
                                                           'latency_p99_us')
    out.append('issue 4 (forwarder -> verifier vs nginx -> nginx):')
    check('pair req/s >= nginx pair', rps, nr)
    check('pair p99 <= nginx pair', p99, np99, higher=False, unit=' ms')
    check(f'origin full handshakes per 10k requests <= pool size '
          f'({POOL_SIZE})', hs and hs['total'], POOL_SIZE, higher=False)
    out.append('issue 7 (pairs):')
    check('pair req/s >= 1.3x nginx pair', rps, times(nr, 1.3))
    check('pair req/s >= 1.3x HAProxy pair', rps, times(hr, 1.3))
    check('pair p99 <= nginx pair', p99, np99, higher=False, unit=' ms')
    check('pair p99 <= HAProxy pair', p99, hp99, higher=False, unit=' ms')


def check_runs(s):
    """Correctness of every run: the smoke test's pass/fail."""
    bad = []
    for sv, f in s.func.items():
        if f['edge'] != '200':
            bad.append(f'{sv}: allowlisted client got {f["edge"]}, not 200')
        for who in ('rogue', 'none'):
            want = ('403',) if sv == 'verifier' else ('400', '403', 'tls')
            if f[who] not in want:
                bad.append(f'{sv}: {who} client got {f[who]}, '
                           f'want {"/".join(want)}')
    for r in s.runs:
        lg = r.get('loadgen')
        what = f'{r["server"]} {r["test"]} rep {r.get("rep")}'
        if not lg:
            bad.append(f'{what}: no report from eg-loadgen')
            continue
        if lg['errors']:
            bad.append(f'{what}: {lg["errors"]} errors, first: '
                       f'{lg["first_error"]}')
        if lg['ops'] <= 0:
            bad.append(f'{what}: nothing completed')
        if r['test'] == 'resume' and lg['resumed_handshakes'] <= 0:
            bad.append(f'{what}: no handshake was resumed')
    for sv, r in s.mem.items():
        lg = r.get('loadgen')
        if not lg or lg['held'] != r['conns']:
            bad.append(f'{sv} mem: held {lg and lg["held"]} of '
                       f'{r["conns"]} connections'
                       f'{" (" + str(lg["first_error"]) + ")" if lg else ""}')
    if s.runs and not any(r['server'] == 'verifier' for r in s.runs):
        bad.append('verifier: not measured')
    for p in s.pair_func:
        bad += [f'pair {p}: {why}' for why in s.pair_problems(p)]
        if not s.pair_of(p):
            bad.append(f'pair {p}: not measured')
    if s.pair_func and 'edgeguard' not in s.pair_func:
        bad.append('pair edgeguard: not started')
    if not s.runs and not s.mem and not s.pair_runs:
        bad.append('nothing was measured')
    print('\nSmoke check: ' + ('all runs correct' if not bad else 'FAILED'))
    for b in bad:
        print('  ' + b)
    return not bad


def run_line(r):
    """One progress line for a load run (None for other records)."""
    lg = r.get('loadgen') or {}
    if r.get('test') == 'pair':
        errs = pair_errors(r)
        hs = ''
        if r.get('forwarder_after') and r.get('forwarder_before'):
            hs = (f'  origin hs full {fw_delta(r, "full")} resumed '
                  f'{fw_delta(r, "resumed")}')
        p99 = (r.get('wrk') or {}).get('latency_p99_us', 0) / 1000
        return (f'  {r["server"]:12} pair           rep {r["rep"]}:'
                f' {pair_rps(r):9,.0f}/s {pair_per_cpu(r):9,.0f}/CPU-s(e+o)'
                f'  p99 {p99:.3f} ms  util {pair_util(r):.2f}'
                f'  foreign {pair_foreign(r):.2f}  errors '
                f'{"no report" if errs is None else sum(errs.values())}'
                + hs)
    if r.get('test') == 'mem':
        b = mem_bytes(r)
        return (f'  {r["server"]:12} mem  held {lg.get("held")}/{r["conns"]},'
                f' {fmt(b / 1024 if b is not None else None, 1)} KiB/conn,'
                f' errors {lg.get("errors")}')
    if r.get('test') not in TESTS:
        return None
    return (f'  {r["server"]:12} {r["test"]:14} rep {r["rep"]}:'
            f' {lg.get("ops_per_s", 0):9,.0f}/s'
            f' {per_cpu(r):9,.0f}/CPU-s'
            f'  util {r["server_cpu_s"] / r["wall_s"]:.2f}'
            f'  foreign {foreign(r):.2f}  errors {lg.get("errors")}'
            + (f' ({lg.get("first_error")})' if lg.get('errors') else ''))


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    if len(args) != 1:
        sys.exit(__doc__)
    rows = load(args[0])
    if '--last' in argv:
        print(run_line(rows[-1]))
        return 0
    if '--check' in argv:
        print('\nEvery run:')
        for line in filter(None, map(run_line, rows)):
            print(line)
    s = Summary(rows)
    if s.servers:
        print_tables(s)
    print_pairs(s)
    print_targets(s)
    if '--check' in argv and not check_runs(s):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
