"""The webhook under attack: a hostile registry, idle TLS connections, slow-loris clients.

Starts a local docker-registry (127.0.0.1) with images signed by a THROWAWAY key, puts the FaultProxy of the
tests in front of it (the bad registry: its answers drip one byte every 0.5 s) and runs the real
``verifier webhook`` process. Then, with apiserver-like clients (HTTP/1.1 over TLS, ``?timeout=10s``):

1. good: unseen signed images on the good registry, 4 clients, no attacker: p50/p99, share admitted;
2. attacked: 40 reviews for unseen images on the bad registry are kept in flight for ATTACK_SECONDS, and
   unseen good images are reviewed one every ATTACK_SECONDS / GOOD_PER_PHASE seconds meanwhile (a lookup's
   deadline is 5 s here, ``verify_timeout_seconds``, so threads abandoned at it pile up within the phase
   where they are not bounded);
3. after: unseen good images once the attacker stopped (the bad registry still drips);
4. idle: 7,000 TLS connections that finish the handshake and send nothing: server RSS peak, connections
   the server still holds 15 s after the last handshake, and a review sent right after it;
5. slow-loris: 200 connections that drip a request header (a byte a second): still open after 15 s.

This checkout runs twice: with the circuit breaker (the default) and without it (bulkheads and deadlines
alone). ``--baseline PATH`` also runs another checkout (e.g. a worktree of the code before) in the same run
and prints ratios against it. Counts and durations are fixed in this file.

    python bench/bench_webhook_chaos.py [--baseline ../older-checkout]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from bench_webhook import body_for, read_response, request_bytes  # noqa: E402

from tests.integration.conftest import LocalRegistry, _start_registry  # noqa: E402
from tests.integration.fault_proxy import FaultProxy  # noqa: E402
from tests.integration.test_webhook_registry import _key, _sign  # noqa: E402
from tests.integration.webhook_support import SERVICE, Pki, make_pki  # noqa: E402

GOOD_PER_PHASE = 20
GOOD_CLIENTS = 4
ATTACKERS = 40
IDLE_CONNECTIONS = 7000
LORIS_CONNECTIONS = 200
HOLD_SECONDS = 15.0
ATTACK_SECONDS = 40.0
ATTACKER_PAUSE = 0.2  # between one attacker's answered review and its next
VERIFY_TIMEOUT = 5.0
REVIEW_TIMEOUT = "10s"


@dataclass
class Phase:
    """Latencies (ms) and verdicts of the good reviews of one phase."""

    latencies: list[float] = field(default_factory=list)
    allowed: list[bool] = field(default_factory=list)

    def p(self, q: float) -> float:
        """The q-quantile in ms."""
        values = sorted(self.latencies)
        return values[min(len(values) - 1, int(len(values) * q))] if values else float("nan")

    @property
    def admitted(self) -> float:
        """Share of good images admitted."""
        return sum(self.allowed) / len(self.allowed) if self.allowed else 0.0


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def review(
    port: int, ctx: ssl.SSLContext, image: str, uid: str, timeout: float = 30.0
) -> tuple[float, bool]:
    """One review on its own connection: (latency ms, allowed); a failed connection counts as denied."""
    start = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=SERVICE), timeout
        )
        try:
            writer.write(request_bytes(body_for(image, uid)))
            status, payload, _closing = await asyncio.wait_for(read_response(reader), timeout)
        finally:
            writer.close()
    except (TimeoutError, OSError, asyncio.IncompleteReadError):
        return (time.perf_counter() - start) * 1000, False
    return (time.perf_counter() - start) * 1000, status == 200 and b'"allowed":true' in payload


async def good_phase(port: int, ctx: ssl.SSLContext, images: list[str], tag: str) -> Phase:
    phase = Phase()
    queue = list(enumerate(images))

    async def worker() -> None:
        while queue:
            i, image = queue.pop(0)
            ms, ok = await review(port, ctx, image, f"{tag}-{i}")
            phase.latencies.append(ms)
            phase.allowed.append(ok)

    await asyncio.gather(*(worker() for _ in range(GOOD_CLIENTS)))
    return phase


async def attacked_phase(
    port: int, ctx: ssl.SSLContext, images: list[str], bad_host: str, tag: str
) -> tuple[Phase, int]:
    """Good reviews spread over ATTACK_SECONDS while ATTACKERS reviews for unseen bad images are in flight."""
    stop = asyncio.Event()
    sent = [0]

    async def attacker(n: int) -> None:
        k = 0
        while not stop.is_set():
            k += 1
            sent[0] += 1
            image = f"{bad_host}/bench/bad@sha256:{(n << 32 | k):064x}"
            await review(port, ctx, image, f"{tag}-bad-{n}-{k}")
            await asyncio.sleep(ATTACKER_PAUSE)

    attackers = [asyncio.create_task(attacker(n)) for n in range(ATTACKERS)]
    phase = Phase()
    interval = ATTACK_SECONDS / len(images)
    for i, image in enumerate(images):
        await asyncio.sleep(interval)
        ms, ok = await review(port, ctx, image, f"{tag}-{i}")
        phase.latencies.append(ms)
        phase.allowed.append(ok)
    stop.set()
    await asyncio.gather(*attackers)
    return phase, sent[0]


def idle_flood(port: int, ctx: ssl.SSLContext, pid: int, probe_image: str) -> dict[str, Any]:
    """IDLE_CONNECTIONS TLS connections that send nothing; RSS sampled while they are held."""
    baseline = rss_mib(pid)
    held: list[ssl.SSLSocket] = []
    failed = 0
    peak = baseline

    def connect() -> ssl.SSLSocket | None:
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=30)
            return ctx.wrap_socket(raw, server_hostname=SERVICE)
        except OSError:
            return None

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        for sock in pool.map(lambda _i: connect(), range(IDLE_CONNECTIONS)):
            if sock is None:
                failed += 1
            else:
                held.append(sock)
            peak = max(peak, rss_mib(pid)) if len(held) % 200 == 0 else peak
    done = time.monotonic()
    opened = done - start
    probe_ms, probe_ok = asyncio.run(review(port, ctx, probe_image, "idle-probe"))
    while time.monotonic() - done < HOLD_SECONDS:
        peak = max(peak, rss_mib(pid))
        time.sleep(0.2)
    still_open = 0
    for sock in held:
        sock.setblocking(False)
        try:
            still_open += sock.recv(1) != b""
        except (ssl.SSLWantReadError, BlockingIOError):
            still_open += 1
        except OSError:
            pass
    for sock in held:
        sock.close()
    return {
        "baseline": baseline,
        "peak": peak,
        "handshakes": len(held),
        "refused": failed,
        "open_after": still_open,
        "open_seconds": opened,
        "probe_ms": probe_ms,
        "probe_ok": probe_ok,
    }


def slow_loris(port: int, ctx: ssl.SSLContext) -> int:
    """LORIS_CONNECTIONS connections dripping a request header; how many are open after HOLD_SECONDS."""
    socks: list[ssl.SSLSocket] = []
    for _ in range(LORIS_CONNECTIONS):
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock = ctx.wrap_socket(raw, server_hostname=SERVICE)
            sock.sendall(b"POST /validate HTTP/1.1\r\n")
            socks.append(sock)
        except OSError:
            pass
    alive = list(socks)
    start = time.monotonic()
    while time.monotonic() - start < HOLD_SECONDS and alive:
        for sock in list(alive):
            try:
                sock.sendall(b"X")
            except OSError:
                alive.remove(sock)
        time.sleep(1.0)
    for sock in socks:
        sock.close()
    return len(alive)


def start_webhook(source: Path, directory: Path, pki: Pki, breaker: bool) -> tuple[Any, int]:
    cfg = directory / "verifier.yaml"
    cfg.write_text(
        "version: 1\nsigners:\n  key: good.pub\nwebhook:\n  cache_ttl_seconds: 3600\n"
        f"  verify_timeout_seconds: {VERIFY_TIMEOUT}\n"
        + ("" if breaker else "  breaker_failures: 1000000\n")
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (directory / f"server-{port}.log").open("wb")
    args = ["webhook", "--config", str(cfg), "--tls-cert", str(pki.cert_file)]
    args += ["--tls-key", str(pki.key_file), "--port", str(port)]
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
        [sys.executable, "-m", "verifier", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=source,
        env={**os.environ, "PYTHONPATH": str(source)},
    )
    deadline = time.monotonic() + 60
    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    while True:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                ctx.wrap_socket(raw, server_hostname=SERVICE) as tls,
            ):
                tls.sendall(f"GET /readyz HTTP/1.1\r\nHost: {SERVICE}\r\n\r\n".encode())
                if b" 200 " in tls.recv(4096):
                    return proc, port
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            tail = (directory / f"server-{port}.log").read_text()[-2000:]
            raise SystemExit(f"webhook from {source} did not start:\n{tail}")
        time.sleep(0.2)


def stop(proc: Any) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


def run(
    source: Path, reg: LocalRegistry, proxy: FaultProxy, images: list[str], d: Path, breaker: bool
) -> dict[str, Any]:
    pki = make_pki(d)
    ctx = ssl.create_default_context(cafile=str(pki.ca_file))
    proc, port = start_webhook(source, d, pki, breaker)
    try:
        chunks = [images[i * GOOD_PER_PHASE : (i + 1) * GOOD_PER_PHASE] for i in range(4)]
        out: dict[str, Any] = {"good": asyncio.run(good_phase(port, ctx, chunks[0], "good"))}
        out["attacked"], out["attack_reviews"] = asyncio.run(
            attacked_phase(port, ctx, chunks[1], proxy.host, "attacked")
        )
        out["after"] = asyncio.run(good_phase(port, ctx, chunks[2], "after"))
        out["idle"] = idle_flood(port, ctx, proc.pid, chunks[3][0])
        out["loris_open"] = slow_loris(port, ctx)
    finally:
        stop(proc)
    return out


def report(name: str, r: dict[str, Any]) -> None:
    print(f"\n== {name}", flush=True)
    print(f"{'phase':<10} {'reviews':>7} {'p50 ms':>9} {'p99 ms':>9} {'admitted':>9}")
    for phase in ("good", "attacked", "after"):
        p: Phase = r[phase]
        print(
            f"{phase:<10} {len(p.latencies):>7} {p.p(0.5):>9.1f} {p.p(0.99):>9.1f} {p.admitted:>9.0%}"
        )
    idle = r["idle"]
    print(
        f"attacker reviews sent during 'attacked': {r['attack_reviews']}\n"
        f"idle TLS connections: {idle['handshakes']} handshakes done ({idle['refused']} refused) in "
        f"{idle['open_seconds']:.1f}s; RSS {idle['baseline']:.0f} -> peak {idle['peak']:.0f} MiB; "
        f"still open {HOLD_SECONDS:.0f}s after the last handshake: {idle['open_after']}; "
        "a review right after the last handshake: "
        f"{idle['probe_ms']:.0f} ms, {'admitted' if idle['probe_ok'] else 'NOT admitted'}\n"
        f"slow-loris connections still open after {HOLD_SECONDS:.0f}s: "
        f"{r['loris_open']}/{LORIS_CONNECTIONS}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to run the same against")
    args = parser.parse_args()
    sources = [("this checkout", REPO, True), ("this checkout, no circuit breaker", REPO, False)]
    if args.baseline:
        sources.append((f"baseline {args.baseline}", args.baseline.resolve(), True))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        reg = _start_registry(d / "registry", htpasswd=None)
        host, port = reg.host.rsplit(":", 1)
        proxy = FaultProxy((host, int(port)), mode="drip", drip_interval=0.5).start()
        try:
            key = _key(d, "good")

            def push(i: int) -> str:
                repo = reg.new_repo("bench")
                digest, _ = reg.push_image(repo, f"v{i}")
                _sign(reg, repo, digest, key)
                return reg.ref(repo, digest)

            per_run = GOOD_PER_PHASE * 4
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                images = list(pool.map(push, range(per_run * len(sources))))
            results = []
            for i, (name, source, breaker) in enumerate(sources):
                run_dir = d / f"run{i}"
                run_dir.mkdir()
                (run_dir / "good.pub").write_bytes((d / "good.pub").read_bytes())
                mine = images[i * per_run : (i + 1) * per_run]
                results.append((name, run(source, reg, proxy, mine, run_dir, breaker)))
                report(*results[-1])
        finally:
            proxy.stop()
            reg.close()
    if args.baseline:
        _, b = results[-1]
        for name, a in results[:-1]:
            print(f"\n== ratios ({name} / baseline)")
            for phase in ("good", "attacked", "after"):
                print(
                    f"{phase:<10} p50 {a[phase].p(0.5) / b[phase].p(0.5):.2f}x  "
                    f"p99 {a[phase].p(0.99) / b[phase].p(0.99):.2f}x  "
                    f"admitted {a[phase].admitted:.0%} vs {b[phase].admitted:.0%}"
                )
            print(
                f"idle RSS peak {a['idle']['peak']:.0f} vs {b['idle']['peak']:.0f} MiB "
                f"({a['idle']['peak'] / b['idle']['peak']:.2f}x)"
            )


if __name__ == "__main__":
    main()
