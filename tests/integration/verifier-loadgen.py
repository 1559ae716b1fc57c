#!/usr/bin/env python3
# Load for the verifier's integration tests: real mTLS clients (asyncio +
# ssl), keep-alive HTTP/1.1, every response read to its end and checked.
#
#   verifier-loadgen.py concurrent PORT PKI ADMIN_PORT N
#       opens N connections, waits until all are established (and the
#       verifier's active-connection gauge shows them), then sends 2
#       requests on each. Prints "ok N" or the failures; exit 1 on any.
#   verifier-loadgen.py loop PORT PKI CONNS MIN STOPFILE PROGRESS
#       CONNS connections send requests back to back, each reconnecting
#       every 20 requests, until MIN requests are done and STOPFILE exists.
#       The count so far is written to PROGRESS. Prints the totals and the
#       server certificate serials the new connections saw; exit 1 on any
#       failed request.
import asyncio
import os
import ssl
import sys
import urllib.request


def context(pki):
    ctx = ssl.create_default_context(cafile=os.path.join(pki, "ca.pem"))
    ctx.load_cert_chain(os.path.join(pki, "edge.pem"),
                        os.path.join(pki, "edge.key"))
    return ctx


async def request(reader, writer, path):
    """One GET on a kept-alive connection; returns the status code."""
    writer.write(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path)
    await writer.drain()
    status = await reader.readline()
    parts = status.split()
    if len(parts) < 2 or parts[0] != b"HTTP/1.1":
        raise IOError("bad status line %r" % status)
    length = None
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        if name.strip().lower() == b"connection" and b"close" in value.lower():
            raise IOError("server closes a kept-alive connection")
    if length is None:
        raise IOError("response without Content-Length")
    body = await reader.readexactly(length)
    if int(parts[1]) == 200 and path not in body:
        raise IOError("response for another request")
    return int(parts[1])


async def connect(port, ctx):
    return await asyncio.open_connection("127.0.0.1", port, ssl=ctx,
                                         server_hostname="localhost")


def active_connections(admin_port):
    with urllib.request.urlopen(
            "http://127.0.0.1:%d/metrics" % admin_port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("edgeguard_active_connections "):
                return int(line.split()[1])
    return -1


async def concurrent(port, pki, admin_port, n):
    ctx = context(pki)
    opened = 0
    all_open = asyncio.Event()
    failures = []

    async def one(i):
        nonlocal opened
        try:
            reader, writer = await connect(port, ctx)
        except Exception as e:
            failures.append("connect %d: %r" % (i, e))
            return
        opened += 1
        if opened == n:
            all_open.set()
        try:
            await asyncio.wait_for(all_open.wait(), 120)
            for k in range(2):
                code = await request(reader, writer,
                                     b"/c/%d/%d" % (i, k))
                if code != 200:
                    failures.append("request %d/%d: %d" % (i, k, code))
        except Exception as e:
            failures.append("connection %d: %r" % (i, e))
        writer.close()

    async def gauge():
        await asyncio.wait_for(all_open.wait(), 120)
        seen = await asyncio.get_running_loop().run_in_executor(
            None, active_connections, admin_port)
        if seen < n:
            failures.append("active connections gauge %d < %d" % (seen, n))

    await asyncio.gather(gauge(), *(one(i) for i in range(n)))
    if failures:
        print("%d failures, first: %s" % (len(failures), failures[:5]))
        return 1
    print("ok %d" % n)
    return 0


async def loop(port, pki, conns, minimum, stopfile, progress):
    ctx = context(pki)
    done = failed = 0
    serials = set()
    errors = []

    async def worker(w):
        nonlocal done, failed
        reader = writer = None
        k = 0
        while done < minimum or not os.path.exists(stopfile):
            try:
                if writer is None:
                    reader, writer = await connect(port, ctx)
                    cert = writer.get_extra_info("ssl_object") \
                        .getpeercert()
                    serials.add(cert["serialNumber"])
                code = await request(reader, writer, b"/l/%d/%d" % (w, k))
                if code != 200:
                    failed += 1
                    errors.append("status %d" % code)
            except Exception as e:
                failed += 1
                errors.append(repr(e))
                writer = None
            done += 1
            k += 1
            if done % 50 == 0:
                with open(progress + ".tmp", "w") as f:
                    f.write("%d\n" % done)
                os.replace(progress + ".tmp", progress)
            if k % 20 == 0 and writer is not None:
                writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker(w) for w in range(conns)))
    print("requests %d failed %d serials %d" % (done, failed, len(serials)))
    if errors:
        print("first errors: %s" % errors[:5])
    return 1 if failed else 0


def main():
    mode, port, pki = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if mode == "concurrent":
        return asyncio.run(concurrent(port, pki, int(sys.argv[4]),
                                      int(sys.argv[5])))
    return asyncio.run(loop(port, pki, int(sys.argv[4]), int(sys.argv[5]),
                            sys.argv[6], sys.argv[7]))


sys.exit(main())
