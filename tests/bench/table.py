#!/usr/bin/env python3
"""Tables for tests/bench/run.sh from its results (JSON Lines).

  table.py RESULTS            the tables, ratios to nginx, the targets
  table.py --check RESULTS    the same, then exit 1 when a run was not
                              correct (make bench-smoke: no thresholds)
  table.py --last RESULTS     one progress line for the newest result

Rates are per CPU-second of the server under test (utime+stime of its
process tree from /proc): client and servers share the machine, so raw
rates are not comparable between servers; CPU cost per operation is.
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


def print_targets(s):
    v, n, fl = 'verifier', 'nginx', 'floor'
    if v not in s.servers:
        return
    out = []

    def check(label, value, bound, higher=True, unit=''):
        if value is None or bound is None:
            out.append(f'  n/a   {label}: not measured')
            return
        ok = value >= bound if higher else value <= bound
        rel = '>=' if higher else '<='
        out.append(f'  {"MET " if ok else "MISS"}  {label}: {value:,.1f}{unit}'
                   f' vs {rel} {bound:,.1f}{unit}')

    def times(x, k):
        return x * k if x is not None else None

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
    out.append('  n/a   edge+origin pair req/s and p99 vs nginx/HAProxy '
               'pairs: needs edgeguard-forwarder')
    print('\nTargets (informational; make bench checks no thresholds):')
    print('\n'.join(out))


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
    if not any(r['server'] == 'verifier' for r in s.runs):
        bad.append('verifier: not measured')
    print('\nSmoke check: ' + ('all runs correct' if not bad else 'FAILED'))
    for b in bad:
        print('  ' + b)
    return not bad


def last_line(path):
    r = load(path)[-1]
    lg = r.get('loadgen') or {}
    if r.get('test') == 'mem':
        b = mem_bytes(r)
        print(f'  {r["server"]:12} mem  held {lg.get("held")}/{r["conns"]},'
              f' {fmt(b / 1024 if b is not None else None, 1)} KiB/conn,'
              f' errors {lg.get("errors")}')
        return
    print(f'  {r["server"]:12} {r["test"]:14} rep {r["rep"]}:'
          f' {lg.get("ops_per_s", 0):9,.0f}/s'
          f' {per_cpu(r):9,.0f}/CPU-s  util {r["server_cpu_s"] / r["wall_s"]:.2f}'
          f'  foreign {foreign(r):.2f}  errors {lg.get("errors")}'
          + (f' ({lg.get("first_error")})' if lg.get('errors') else ''))


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    if len(args) != 1:
        sys.exit(__doc__)
    if '--last' in argv:
        last_line(args[0])
        return 0
    s = Summary(load(args[0]))
    print_tables(s)
    print_targets(s)
    if '--check' in argv and not check_runs(s):
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
