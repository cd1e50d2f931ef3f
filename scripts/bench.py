"""Benchmarks of iotpipe against its peer tools; run through scripts/bench.

Every figure is measured in the same run as its peer and printed with the ratio.
Throughput counts messages *received* by an independent subscriber, so a tool
that exits early (mosquitto_pub -l -q 1 past 65,535 messages) is not rewarded.
"""

import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
import time

BIN = os.environ.get("BENCH_IOTPIPE", "")
MOSQUITTO = os.environ.get("BENCH_MOSQUITTO", "")
KINESALITE = os.environ.get("BENCH_KINESALITE", os.path.expanduser("~/.cache/iotpipe/kinesalite"))
N = int(os.environ.get("BENCH_MESSAGES", "200000"))
PROBE = "__probe__"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self):
        self.dir = tempfile.TemporaryDirectory(prefix="iotpipe-bench-")
        os.chmod(self.dir.name, 0o777)
        self.port = free_port()
        conf = os.path.join(self.dir.name, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"max_queued_messages 0\nlistener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.02)
        raise SystemExit("mosquitto did not start")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def wait_for_port(port):
    """Until something accepts connections on 127.0.0.1:port (10 s at most)."""
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)


def payload_file(path):
    with open(path, "w") as f:
        for i in range(N):
            # ~200 bytes, like a schema v1 reading
            f.write('{"v":1,"device_id":"bench","run_id":"0123456789abcdef0123456789abcdef","seq":%d,'
                    '"ts":"2026-11-26T14:07:40.123Z","temperature_c":21.42,"humidity_pct":38.28,'
                    '"pressure_hpa":1013.29,"temperature_from_pressure_c":22.08}\n' % i)


def witness(broker, topic, qos, out):
    """mosquitto_sub writing to `out`, returned once subscribed (a probe got through)."""
    proc = subprocess.Popen(["mosquitto_sub", "-p", str(broker.port), "-t", topic, "-q", str(qos)],
                            stdout=open(out, "w"), stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while PROBE not in open(out).read():
        if time.time() > deadline:
            raise SystemExit("witness never subscribed")
        subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-m", PROBE], check=False)
        time.sleep(0.05)
    return proc


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip() and PROBE.encode() not in line)


def publish_run(broker, cmd, qos, lines_path, tmp):
    """Runs a publisher; returns (received, seconds until the last message arrived)."""
    out = os.path.join(tmp, "received.txt")
    topic = "bench/pub"
    sub = witness(broker, topic, qos, out)
    base = count_lines(out)
    start = time.time()
    with open(lines_path) as stdin:
        pub = subprocess.run(cmd + ["-p", str(broker.port), "-t", topic, "-q", str(qos), "-l"],
                             stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if pub.returncode != 0:
        print(f"  {cmd[0]} exited {pub.returncode}: {pub.stderr.decode().strip()[-300:]}", file=sys.stderr)
    # Wait until every message arrived, or nothing new came for a second.
    last, last_change = count_lines(out), time.time()
    while last - base < N and time.time() - last_change < 1.0:
        time.sleep(0.02)
        now = count_lines(out)
        if now != last:
            last, last_change = now, time.time()
    elapsed = (last_change if last - base < N else time.time()) - start
    sub.kill()
    sub.wait()
    return last - base, elapsed, pub.returncode


def publish_footprint(broker, cmd, lines_path):
    """Wall seconds and peak RSS (MiB) of one `-l -q 1` publisher (/usr/bin/time)."""
    with open(lines_path) as stdin:
        run = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", "/dev/stderr"] + cmd
                             + ["-p", str(broker.port), "-t", "bench/footprint", "-q", "1", "-l"],
                             stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds, kib = run.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib) / 1024


def bench_publish_footprint():
    """60,000 lines at QoS 1 (mosquitto_pub -l -q 1 stops past 65,535): speed
    and peak RSS of each, medians of 3, alternating."""
    broker = Broker()
    try:
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
            lines = os.path.join(tmp, "lines.jsonl")
            payload_file(lines)
            with open(lines) as all_lines, open(lines + ".60k", "w") as out:
                for i, line in enumerate(all_lines):
                    if i == 60_000:
                        break
                    out.write(line)
            ours, theirs = [], []
            for _ in range(3):
                ours.append(publish_footprint(broker, [BIN, "-q", "publish", "--no-outbox"], lines + ".60k"))
                theirs.append(publish_footprint(broker, ["mosquitto_pub"], lines + ".60k"))
            (t_i, m_i), (t_m, m_m) = [tuple(median(list(v)) for v in zip(*runs)) for runs in (ours, theirs)]
            print("publish -l -q 1, 60,000 lines, medians of 3")
            print(f"{'':<28}{'iotpipe':>12}{'mosquitto_pub':>15}{'ratio':>8}")
            print(f"{'msg/s':<28}{60_000 / t_i:>12,.0f}{60_000 / t_m:>15,.0f}{t_m / t_i:>7.2f}x")
            print(f"{'peak RSS (MiB)':<28}{m_i:>12.1f}{m_m:>15.1f}{m_i / m_m:>7.2f}x")
    finally:
        broker.stop()


def tail_run(broker, cmd, lines_path):
    """Runs a subscriber to /dev/null with -C N; returns seconds for N messages."""
    topic = "bench/tail"
    sub = subprocess.Popen(cmd + ["-p", str(broker.port), "-t", topic, "-C", str(N)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # both subscribers are given the same head start
    start = time.time()
    with open(lines_path) as stdin:
        subprocess.run([BIN, "-q", "publish", "-p", str(broker.port), "-t", topic, "-q", "0", "-l"],
                       stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        sub.wait(timeout=60)
        return time.time() - start, sub.returncode == 0
    except subprocess.TimeoutExpired:
        sub.kill()
        return time.time() - start, False


def bench_mqtt():
    broker = Broker()
    try:
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
            lines = os.path.join(tmp, "lines.jsonl")
            payload_file(lines)
            print(f"MQTT throughput, {N} messages of ~200 bytes, loopback mosquitto (received = counted by a subscriber)")
            print(f"{'case':<28}{'iotpipe msg/s':>15}{'peer msg/s':>13}{'ratio':>8}   loss iotpipe / peer")
            for qos in (0, 1):
                got_i, t_i, rc_i = publish_run(broker, [BIN, "-q", "publish"], qos, lines, tmp)
                got_m, t_m, rc_m = publish_run(broker, ["mosquitto_pub"], qos, lines, tmp)
                r_i, r_m = got_i / t_i, got_m / t_m
                print(f"{'publish -l QoS %d' % qos:<28}{r_i:>15,.0f}{r_m:>13,.0f}{r_i / r_m:>7.2f}x   "
                      f"{N - got_i} (exit {rc_i}) / {N - got_m} (exit {rc_m})")
            t_i, ok_i = tail_run(broker, [BIN, "tail", "mqtt", "-o", "jsonl"], lines)
            t_m, ok_m = tail_run(broker, ["mosquitto_sub"], lines)
            print(f"{'tail mqtt > /dev/null':<28}{N / t_i:>15,.0f}{N / t_m:>13,.0f}{t_m / t_i:>7.2f}x   "
                  f"{'complete' if ok_i else 'INCOMPLETE'} / {'complete' if ok_m else 'INCOMPLETE'}")
    finally:
        broker.stop()


def landed_rows(raw_dir, cache):
    """Rows in the raw objects under raw_dir; objects are immutable, so each is read once."""
    import gzip
    total = 0
    for root, _, files in os.walk(raw_dir):
        for name in files:
            if name.startswith(".tmp-"):
                continue
            path = os.path.join(root, name)
            if path not in cache:
                opener = gzip.open if name.endswith(".gz") else open
                with opener(path, "rb") as f:
                    cache[path] = sum(1 for _ in f)
            total += cache[path]
    return total


def start_sink(broker, data, env=None, cwd=None):
    """A sink into `data`, returned once subscribed."""
    sink = subprocess.Popen([BIN, "--verbose", "sink", "-p", str(broker.port), "--data-dir", data,
                             "--buffer-interval", "1s"],
                            env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in sink.stderr:
        if "subscribed to" in line:
            break
    return sink


def wait_landed(data, wanted, start, limit):
    """Rows landed under data/raw once `wanted` are there (or `limit` seconds
    after `start`), and the seconds since `start`."""
    cache, rows = {}, 0
    while rows < wanted and time.time() - start < limit:
        rows = landed_rows(os.path.join(data, "raw"), cache)
        time.sleep(0.05)
    return rows, time.time() - start


def sink_and_publish(broker, lines, data, env=None, cwd=None):
    """Starts a sink into `data`, waits for its subscription, then publishes
    `lines` at QoS 1; returns the sink and when publishing started."""
    sink = start_sink(broker, data, env, cwd)
    start = time.time()
    with open(lines) as stdin:
        subprocess.run([BIN, "-q", "publish", "-p", str(broker.port), "-q", "1", "-l"],
                       stdin=stdin, check=True)
    return sink, start


def bench_sink():
    broker = Broker()
    try:
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
            lines = os.path.join(tmp, "lines.jsonl")
            payload_file(lines)
            data = os.path.join(tmp, "data")
            sink, start = sink_and_publish(broker, lines, data)
            published = time.time() - start
            rows, landed = wait_landed(data, N, start, 120)
            sink.send_signal(signal.SIGINT)
            sink.wait(timeout=30)
            print(f"Sink, {N} readings at QoS 1 from `iotpipe publish -l` through mosquitto into gzip objects")
            print(f"{'':<40}{'msg/s':>10}")
            print(f"{'iotpipe publish -l -q 1 (acknowledged)':<40}{N / published:>10,.0f}")
            print(f"{'iotpipe sink (landed durably)':<40}{rows / landed:>10,.0f}"
                  f"   {rows}/{N} rows, {landed - published:.2f} s behind the publisher "
                  f"(includes the 1 s buffer interval); ratio {published / landed:.2f}x")
            s3_rate = sink_to_s3(broker, lines)
            print(f"{'iotpipe sink to S3 (moto) + DynamoDB':<40}{s3_rate:>10,.0f}"
                  f"   {s3_rate / (rows / landed):.2f}x the local sink; moto answers each request "
                  f"in milliseconds and copies the table in each DynamoDB transaction, so this is a "
                  f"floor, not what S3 does")
    finally:
        broker.stop()


def sink_to_s3(broker, lines):
    """The same readings through `iotpipe sink` with backend = "aws" on a moto
    server: objects in the bucket, each counted in DynamoDB. Returns landed/s."""
    import boto3
    import gzip
    port = free_port()
    moto = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "moto_server"), "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for_port(port)
        env = dict(os.environ, IOTPIPE_BACKEND="aws", IOTPIPE_AWS_BUCKET="bench",
                   IOTPIPE_COUNTER_TABLE="bench-counter", AWS_ENDPOINT_URL=endpoint,
                   AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-s3-") as tmp:
            subprocess.run([BIN, "-q", "counters", "--init"], env=env, cwd=tmp, check=True,
                           stderr=subprocess.DEVNULL)
            sink, start = sink_and_publish(broker, lines, "data", env=env, cwd=tmp)
            seen, rows = {}, 0
            while rows < N and time.time() - start < 300:
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench", Prefix="raw/"):
                    for obj in page.get("Contents", []):
                        if obj["Key"] not in seen:
                            body = s3.get_object(Bucket="bench", Key=obj["Key"])["Body"].read()
                            seen[obj["Key"]] = gzip.decompress(body).count(b"\n")
                rows = sum(seen.values())
                time.sleep(0.2)
            landed = time.time() - start
            sink.send_signal(signal.SIGINT)
            sink.wait(timeout=60)
            return rows / landed
    finally:
        moto.terminate()
        moto.wait()


def burst(port, publishers, each, tmp):
    """`publishers` outboxes flushing at once: `iotpipe publish --sim` at full
    speed, QoS 1, each its own device; returns seconds until every one ended."""
    start = time.time()
    procs = [subprocess.Popen([BIN, "-q", "publish", "--sim", "--count", str(each), "--rate", "1000000",
                               "-q", "1", "--no-outbox", "-p", str(port)],
                              env={**os.environ, "IOTPIPE_DEVICE_ID": f"burst-{i}"}, cwd=tmp,
                              stdout=subprocess.DEVNULL)
             for i in range(publishers)]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("a burst publisher failed")
    return time.time() - start


def bench_burst():
    """Readings landed per second when four publishers flush into `up`'s own
    broker at once (acknowledged only once journaled), against the same
    burst into mosquitto with `iotpipe sink` landing from it."""
    publishers, each = 4, N // 4
    total = publishers * each
    print(f"Burst, {publishers} publishers x {each} readings at QoS 1, full speed")
    with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
        port = free_port()
        up = subprocess.Popen([BIN, "up", "--devices", "0", "--data-dir", os.path.join(tmp, "up"), "-o", "json"],
                              env={**os.environ, "IOTPIPE_MQTT_PORT": str(port)}, cwd=tmp,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        wait_for_port(port)
        peak, done = [0], [False]

        def sample():
            while not done[0]:
                peak[0] = max(peak[0], rss_kib(up.pid))
                time.sleep(0.1)
        import threading
        sampler = threading.Thread(target=sample)
        sampler.start()
        up_seconds = burst(port, publishers, each, tmp)
        done[0] = True
        sampler.join()
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=300)
        summary = json.loads(out)
    broker = Broker()
    try:
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
            data = os.path.join(tmp, "data")
            sink = start_sink(broker, data)
            start = time.time()
            burst(broker.port, publishers, each, tmp)
            rows, peer_seconds = wait_landed(data, total, start, 300)
            sink.send_signal(signal.SIGINT)
            sink.wait(timeout=30)
    finally:
        broker.stop()
    up_rate, peer_rate = total / up_seconds, rows / peer_seconds
    print(f"{'':<44}{'readings/s':>12}")
    print(f"{'up, embedded broker (acked = journaled)':<44}{up_rate:>12,.0f}"
          f"   peak RSS {peak[0] / 1024:.0f} MiB (sink.ingest_bytes 8 MiB); "
          f"{summary['published']} acknowledged, {summary['lost_count']} not a row")
    print(f"{'mosquitto + iotpipe sink (landed)':<44}{peer_rate:>12,.0f}"
          f"   {rows}/{total} rows; ratio {up_rate / peer_rate:.2f}x")


# Simulated readings of the past (a million at 1 Hz span twelve days): a
# stored reading's day may be at most tomorrow, so readings stamped from now
# on would mostly be set aside instead of compacted.
SIM_START = "2026-03-01T00:00:00.000Z"


def bench_compact():
    import gzip
    import shutil
    rows = int(os.environ.get("BENCH_ROWS", "1000000"))
    objects = 50
    with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
        out = subprocess.run([BIN, "sense", "--sim", "--imu", "--count", str(rows), "--seed", "1",
                              "--start", SIM_START, "-o", "jsonl"],
                             check=True, capture_output=True).stdout.splitlines(keepends=True)
        data = os.path.join(tmp, "data")
        raw = os.path.join(data, "raw", "2026", "03", "01", "00")
        os.makedirs(raw)
        per = -(-rows // objects)
        for i in range(objects):
            name = f"bench-1-2026-03-01-00-00-{i:02d}-{i:08d}.jsonl.gz"
            with gzip.open(os.path.join(raw, name), "wb", compresslevel=6) as f:
                f.writelines(out[i * per:(i + 1) * per])
        copy = os.path.join(tmp, "copy")
        shutil.copytree(os.path.join(data, "raw"), copy)
        raw_bytes = sum(os.path.getsize(os.path.join(raw, n)) for n in os.listdir(raw))
        env = dict(os.environ, IOTPIPE_COUNTER_THRESHOLD=str(objects))
        ours_time = {}
        for threads in ("default", 1):
            shutil.rmtree(data)
            shutil.copytree(copy, os.path.join(data, "raw"))
            subprocess.run([BIN, "-q", "counters", "--data-dir", data, "--reconcile", "--fix"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            extra = [] if threads == "default" else ["--threads", "1"]
            start = time.time()
            subprocess.run([BIN, "-q", "compact", "--data-dir", data] + extra, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            ours_time[threads] = time.time() - start
        ours = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(os.path.join(data, "compacted")) for n in ns)

        import duckdb
        results = {}
        for threads in ("default", 1):
            con = duckdb.connect()
            if threads == 1:
                con.execute("SET threads = 1")
            target = os.path.join(tmp, f"duckdb-{threads}.parquet")
            start = time.time()
            con.execute(f"COPY (SELECT * FROM read_json_auto('{copy}/**/*.jsonl.gz', format = 'newline_delimited')) "
                        f"TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
            results[threads] = (time.time() - start, os.path.getsize(target))
        print(f"Compaction, {rows:,} readings in {objects} gzip JSON-lines objects ({raw_bytes / 1e6:.1f} MB)")
        print(f"{'':<34}{'rows/s':>12}{'output MB':>11}{'ratio':>8}")
        for threads, label in (("default", f"{os.cpu_count()} threads"), (1, "1 thread")):
            t, size = results[threads]
            print(f"{'iotpipe compact (' + label + ')':<34}{rows / ours_time[threads]:>12,.0f}{ours / 1e6:>11.1f}"
                  f"{t / ours_time[threads]:>7.2f}x")
            print(f"{'DuckDB COPY (' + label + ')':<34}{rows / t:>12,.0f}{size / 1e6:>11.1f}")
        print("(ratio = iotpipe rows/s over DuckDB's with the same threads; iotpipe's --threads counts the\n"
              " objects parsed at once: the next one, routing and Parquet encoding still overlap; iotpipe also verifies,\n"
              " deduplicates, marks the batch and deletes the raw objects)")


def timed(cmd, env=None):
    """Wall seconds and peak RSS (MiB) of one process (/usr/bin/time)."""
    start = time.time()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", "/dev/stderr"] + cmd, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {proc.stderr.decode()[-2000:]}")
    return seconds, int(proc.stderr.decode().strip().splitlines()[-1]) / 1024


DUCKDB_COPY = r"""
import sys, duckdb
duckdb.sql(f"COPY (SELECT * FROM read_json_auto('{sys.argv[1]}/**/*.gz', format = 'newline_delimited')) "
           f"TO '{sys.argv[2]}' (FORMAT parquet, COMPRESSION zstd)")
"""


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def bench_compact_two_batches():
    """1,000,000 schema v1 readings in 40 gzip objects, threshold 20: two batches,
    the second deduplicated against the day the first wrote; whole processes,
    alternating with DuckDB, medians of 3, with peak RSS."""
    import gzip
    import shutil
    import duckdb
    rows, objects, runs = int(os.environ.get("BENCH_ROWS", "1000000")), 40, 3
    with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
        out = subprocess.run([BIN, "sense", "--sim", "--count", str(rows), "--seed", "1",
                              "--start", SIM_START, "-o", "jsonl"],
                             check=True, capture_output=True).stdout.splitlines(keepends=True)
        copy = os.path.join(tmp, "copy", "2026", "03", "01", "00")
        os.makedirs(copy)
        per = -(-rows // objects)
        for i in range(objects):
            with gzip.open(os.path.join(copy, f"bench-1-2026-03-01-00-00-{i:02d}-{i:08d}.jsonl.gz"), "wb") as f:
                f.writelines(out[i * per:(i + 1) * per])
        del out
        env = dict(os.environ, IOTPIPE_COUNTER_THRESHOLD=str(objects // 2))
        data = os.path.join(tmp, "data")
        ours, theirs = [], []
        for _ in range(runs):
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(os.path.join(tmp, "copy"), os.path.join(data, "raw"))
            subprocess.run([BIN, "-q", "counters", "--data-dir", data, "--reconcile", "--fix"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ours.append(timed([BIN, "-q", "compact", "--data-dir", data], env))
            target = os.path.join(tmp, "duckdb.parquet")
            theirs.append(timed([sys.executable, "-c", DUCKDB_COPY, os.path.join(tmp, "copy"), target]))
        files = [os.path.join(r, n) for r, _, ns in os.walk(os.path.join(data, "compacted")) for n in ns
                 if n.endswith(".parquet")]
        check = duckdb.sql(f"SELECT count(*), count(DISTINCT (device_id, run_id, seq)) FROM read_parquet({files!r})")
        total, distinct = check.fetchone()
        ours_size = sum(os.path.getsize(f) for f in files)
        their_size = os.path.getsize(target)
        o_t, o_m = median([t for t, _ in ours]), median([m for _, m in ours])
        d_t, d_m = median([t for t, _ in theirs]), median([m for _, m in theirs])
        spread = lambda xs: f"{min(xs):.2f}-{max(xs):.2f}"
        print(f"Compaction, {rows:,} readings (schema v1) in {objects} gzip objects, two batches of {objects // 2}; "
              f"medians of {runs}")
        print(f"{'':<24}{'seconds':>9}{'spread':>12}{'peak RSS MiB':>14}{'output MB':>11}")
        print(f"{'iotpipe compact':<24}{o_t:>9.2f}{spread([t for t, _ in ours]):>12}{o_m:>14.0f}{ours_size / 1e6:>11.1f}")
        print(f"{'DuckDB COPY':<24}{d_t:>9.2f}{spread([t for t, _ in theirs]):>12}{d_m:>14.0f}{their_size / 1e6:>11.1f}")
        print(f"speed ratio (DuckDB time / iotpipe time): {d_t / o_t:.2f}x; RSS ratio: {o_m / d_m:.2f}x; "
              f"size ratio: {ours_size / their_size:.2f}x; rows {total:,}, distinct {distinct:,}")


def bench_day_fill():
    """The cost of a batch as its day fills: 100 batches, every reading on 2026-03-01."""
    import gzip
    import json
    batches, per_object, objects = int(os.environ.get("BENCH_BATCHES", "100")), 2000, 5
    rows = batches * objects * per_object
    step_ms = 86_400_000 // rows
    with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
        data = os.path.join(tmp, "data")
        raw = os.path.join(data, "raw", "2026", "03", "01", "00")
        os.makedirs(raw)
        for i in range(batches * objects):
            with gzip.open(os.path.join(raw, f"fill-1-2026-03-01-00-00-00-{i:08d}.jsonl.gz"), "wt") as f:
                for seq in range(i * per_object, (i + 1) * per_object):
                    ms = seq * step_ms
                    ts = time.strftime("2026-03-01T%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
                    f.write(json.dumps({"v": 1, "device_id": "fill", "run_id": "0123456789abcdef", "seq": seq,
                                        "ts": ts, "temperature_c": 21.5, "humidity_pct": 40.0}) + "\n")
        env = dict(os.environ, IOTPIPE_COUNTER_THRESHOLD=str(objects))
        subprocess.run([BIN, "-q", "counters", "--data-dir", data, "--reconcile", "--fix"], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        run = subprocess.run([BIN, "-q", "compact", "--data-dir", data, "--threads", "1", "-o", "jsonl"], env=env,
                             check=True, capture_output=True, text=True)
        seconds = [json.loads(line)["seconds"] for line in run.stdout.splitlines()]
        first = median(seconds[:5])
        print(f"A day filling up: {batches} batches of {objects * per_object:,} readings, all on one day, --threads 1")
        for n in (1, 10, 25, 50, 75, 100):
            if n <= len(seconds):
                window = seconds[max(0, n - 3):n + 2]
                print(f"  batch {n:>3}: {median(window) * 1000:7.1f} ms (median of its neighbours)")
        print(f"last / first: {median(seconds[-5:]) / first:.2f}x")


BOTO3_TAILER = r"""
import sys, time, boto3
endpoint, stream, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
k = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="bench", aws_secret_access_key="bench")
shards = [s["ShardId"] for s in k.list_shards(StreamName=stream)["Shards"]]
iterators = {s: k.get_shard_iterator(StreamName=stream, ShardId=s, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
             for s in shards}
seen, out = 0, sys.stdout
while seen < wanted and iterators:
    for shard, it in list(iterators.items()):
        r = k.get_records(ShardIterator=it, Limit=10000)
        for rec in r["Records"]:
            out.write(rec["Data"].decode() + "\n")
            seen += 1
        if r.get("NextShardIterator"):
            iterators[shard] = r["NextShardIterator"]
        else:
            del iterators[shard]
    time.sleep(0.2)  # each shard allows 5 GetRecords calls per second
"""


def bench_kinesis():
    """tail kinesis vs the boto3 loop users write, reading a 2-shard stream from the start."""
    import boto3
    records = int(os.environ.get("BENCH_RECORDS", "20000"))
    port = free_port()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "doubles", "kinesalite.js")
    env = dict(os.environ, NODE_PATH=os.path.join(KINESALITE, "node_modules"))
    node = subprocess.Popen(["node", script, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        wait_for_port(port)
        k = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                         aws_access_key_id="bench", aws_secret_access_key="bench")
        k.create_stream(StreamName="bench", ShardCount=2)
        while k.describe_stream_summary(StreamName="bench")["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
            time.sleep(0.05)
        line = ('{"v":1,"device_id":"bench","run_id":"0123456789abcdef0123456789abcdef","seq":%d,'
                '"ts":"2026-11-26T14:07:40.123Z","temperature_c":21.42,"humidity_pct":38.28,"pressure_hpa":1013.29}')
        for start in range(0, records, 500):
            k.put_records(StreamName="bench", Records=[
                {"Data": (line % i).encode(), "PartitionKey": f"device-{i % 64}"}
                for i in range(start, min(start + 500, records))])
        env = dict(os.environ, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
        runs = {}
        for name, cmd in (
            ("iotpipe tail kinesis", [BIN, "--endpoint-url", endpoint, "--region", "us-east-1", "tail", "kinesis",
                                      "--stream", "bench", "--from", "trim-horizon", "-C", str(records), "-o", "jsonl"]),
            ("boto3 get_records loop", [sys.executable, "-c", BOTO3_TAILER, endpoint, "bench", str(records)]),
        ):
            start = time.time()
            run = subprocess.run(cmd, env=env, capture_output=True)
            if run.returncode != 0:
                raise SystemExit(f"{name} failed: {run.stderr.decode()[-2000:]}")
            runs[name] = (time.time() - start, run.stdout.count(b"\n"))
        print(f"Kinesis tail, {records:,} records on 2 shards (kinesalite), from trim-horizon")
        print(f"{'':<28}{'records':>10}{'seconds':>10}{'records/s':>12}")
        for name, (t, n) in runs.items():
            print(f"{name:<28}{n:>10,}{t:>10.2f}{n / t:>12,.0f}")
        ours, peer = runs["iotpipe tail kinesis"], runs["boto3 get_records loop"]
        print(f"ratio (iotpipe records/s over boto3's): {(ours[1] / ours[0]) / (peer[1] / peer[0]):.2f}x")
    finally:
        node.kill()
        node.wait()


PAHO = """
import json, sys, time, uuid, paho.mqtt.client as mqtt
c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
c.connect("127.0.0.1", int(sys.argv[1]))
c.loop_start()
run, seq = uuid.uuid4().hex, 0
while True:
    c.publish("sensor/data", json.dumps({"v": 1, "device_id": "bench", "run_id": run, "seq": seq,
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "temperature_c": 21.0,
        "humidity_pct": 40.0, "pressure_hpa": 1013.0}), qos=1)
    seq += 1
    time.sleep(0.1)
"""


def footprint(cmd, seconds):
    """Peak RSS (KiB) and CPU seconds of `cmd` run for `seconds`, then SIGINT."""
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M %U %S", "-o", "/dev/stderr"] + cmd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(seconds)
    # /usr/bin/time forwards nothing: signal its child directly.
    subprocess.run(["pkill", "-INT", "-P", str(proc.pid)], check=False)
    _, err = proc.communicate(timeout=15)
    rss, user, sys_ = err.decode().strip().splitlines()[-1].split()
    return int(rss), float(user) + float(sys_)


def bench_footprint():
    seconds = int(os.environ.get("BENCH_SECONDS", "30"))
    broker = Broker()
    try:
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-") as tmp:
            print(f"Device footprint, 10 readings/s at QoS 1 for {seconds} s")
            rss_i, cpu_i = footprint([BIN, "-q", "publish", "--sim", "--rate", "10", "-p", str(broker.port),
                                      "--outbox", os.path.join(tmp, "outbox")], seconds)
            rss_p, cpu_p = footprint([sys.executable, "-c", PAHO, str(broker.port)], seconds)
            print(f"{'':<28}{'iotpipe':>12}{'paho-mqtt':>12}{'ratio':>8}")
            print(f"{'peak RSS (MiB)':<28}{rss_i / 1024:>12.1f}{rss_p / 1024:>12.1f}{rss_i / rss_p:>7.2f}x")
            print(f"{'CPU (s)':<28}{cpu_i:>12.2f}{cpu_p:>12.2f}{cpu_i / max(cpu_p, 0.01):>7.2f}x")
    finally:
        broker.stop()


def rss_kib(pid):
    """Resident set size of `pid` and its descendants (qemu-user runs the binary in-process)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            with open(f"/proc/{current}/task/{current}/children") as children:
                pids.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            pass
    return total


def scrape(port, names):
    """The values of metrics `names` at http://127.0.0.1:port/metrics (None if unreachable)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in names:
            values[parts[0]] = float(parts[1])
    return values


def bench_soak():
    """`iotpipe up` with one device for BENCH_SECONDS (default 3600) at BENCH_RATE
    readings/s (default 1): every 10 s the process's RSS (the kernel's count,
    qemu's own memory included under BENCH_RUNNER) beside what the program
    itself sees from /metrics: the bytes its allocations hold
    (iotpipe_heap_bytes) and the anonymous memory it has mapped
    (iotpipe_mapped_anonymous_bytes, from /proc/self/maps, which qemu-user
    answers for the guest). BENCH_RUNNER (e.g. "qemu-aarch64 -L
    /usr/aarch64-linux-gnu") runs a cross-built BENCH_IOTPIPE."""
    seconds = int(os.environ.get("BENCH_SECONDS", "3600"))
    rate = os.environ.get("BENCH_RATE", "1")
    runner = os.environ.get("BENCH_RUNNER", "").split()
    heap, mapped = "iotpipe_heap_bytes", "iotpipe_mapped_anonymous_bytes"
    http = free_port()
    with tempfile.TemporaryDirectory(prefix="iotpipe-soak-") as tmp:
        cmd = runner + [BIN, "-o", "json", "up", "--devices", "1", "--rate", rate,
                        "--duration", f"{seconds}s", "--data-dir", os.path.join(tmp, "data"),
                        "--http", f"127.0.0.1:{http}"]
        env = dict(os.environ, IOTPIPE_MQTT_PORT=str(free_port()))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tmp)
        samples = []
        started = time.monotonic()
        while proc.poll() is None:
            seen = scrape(http, (heap, mapped))
            samples.append((time.monotonic() - started, rss_kib(proc.pid) * 1024,
                            seen.get(heap), seen.get(mapped)))
            sys.stdout.flush()
            time.sleep(10)
        out, _ = proc.communicate()
    summary = json.loads(out) if out.strip() else {}
    print(f"Soak: iotpipe up, 1 device at {rate} readings/s for {seconds} s"
          + (f" under {runner[0]}" if runner else ""))
    mib = lambda v: "-" if v is None else f"{v / 2**20:.1f}"
    print(f"{'minute':>8}{'RSS (MiB)':>12}{'heap (MiB)':>12}{'mapped (MiB)':>14}")
    minutes = sorted({int(s[0] // 60) for s in samples})
    for minute in minutes:
        at = [s for s in samples if int(s[0] // 60) == minute]
        if minute % max(1, seconds // 60 // 12) == 0 or minute == minutes[-1]:
            last = at[-1]
            print(f"{minute:>8}{mib(max(s[1] for s in at)):>12}{mib(last[2]):>12}{mib(last[3]):>14}")

    def growth(column):
        points = [(s[0], s[column]) for s in samples if s[column] is not None and s[0] >= 120]
        if len(points) < 2:
            return "-"
        (t0, v0), (t1, v1) = points[0], points[-1]
        return f"{(v1 - v0) / 2**20 / ((t1 - t0) / 60):+.2f} MiB/min"

    peak = max(s[1] for s in samples)
    print(f"peak RSS {peak / 2**20:.1f} MiB; after the first 2 minutes, RSS {growth(1)}, "
          f"heap {growth(2)}, mapped {growth(3)}; "
          f"{summary.get('published', '?')} readings published, "
          f"{summary.get('dashboard', {}).get('compacted_rows', '?')} compacted, "
          f"{summary.get('batches', '?')} batches, exit {proc.returncode}")


def bench_athena():
    """Bytes Athena scans per batch (what it bills), against the batch's raw
    bytes: one batch of 20 objects of 500 readings through `compact --engine
    athena` on the Athena stand-in (tests/doubles/athena.py, over moto's S3),
    which counts as Athena does: whole objects for JSON, the column chunks a
    query names for Parquet. A second batch of the same day follows."""
    import boto3
    doubles = os.path.join("tests", "doubles")
    moto_port, athena_port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = subprocess.Popen([sys.executable, os.path.join(doubles, "moto_server.py"), str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    athena = None
    try:
        wait_for_port(moto_port)
        athena = subprocess.Popen([sys.executable, os.path.join(doubles, "athena.py"), str(athena_port), endpoint],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(athena_port)
        env = dict(os.environ, IOTPIPE_BACKEND="aws", IOTPIPE_AWS_BUCKET="bench",
                   IOTPIPE_COUNTER_TABLE="bench-counter", AWS_ENDPOINT_URL=endpoint,
                   AWS_ENDPOINT_URL_ATHENA=f"http://127.0.0.1:{athena_port}",
                   AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1")
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket="bench")
        out = subprocess.run([BIN, "sense", "--sim", "--count", "20000", "--seed", "1", "--start", SIM_START,
                              "-o", "jsonl"], check=True, capture_output=True).stdout.splitlines(keepends=True)
        print("Athena, bytes scanned per batch of 20 objects of 500 readings (the stand-in's counts)")
        print(f"{'batch':<10}{'raw MB':>9}{'survey':>9}{'insert':>9}{'verify':>9}{'other':>9}{'ratio':>8}")
        with tempfile.TemporaryDirectory(prefix="iotpipe-bench-athena-") as tmp:
            run = lambda *args: subprocess.run([BIN, "-q", *args], env=env, cwd=tmp, check=True,
                                               capture_output=True, text=True)
            run("counters", "--init")
            run("compact", "--init")
            for batch in range(2):
                raw = 0
                for i in range(20):
                    body = b"".join(out[(batch * 20 + i) * 500:(batch * 20 + i + 1) * 500])
                    raw += len(body)
                    s3.put_object(Bucket="bench", Key=f"raw/2026/03/01/0{batch}/bench-{i:02d}.jsonl", Body=body)
                run("counters", "--reconcile", "--fix")
                report = json.loads(run("compact", "--engine", "athena", "--all", "-o", "jsonl").stdout.splitlines()[0])
                scanned = {}
                for query in report["queries"]:
                    purpose = query["purpose"] if query["purpose"] in ("survey", "insert", "verify") else "other"
                    scanned[purpose] = scanned.get(purpose, 0) + query["bytes_scanned"]
                total = sum(scanned.values())
                cells = "".join(f"{scanned.get(p, 0) / 1e6:>9.3f}" for p in ("survey", "insert", "verify", "other"))
                print(f"{batch + 1:<10}{raw / 1e6:>9.3f}{cells}{total / raw:>7.2f}x")
        print("(ratio = bytes scanned / raw bytes; JSON is billed whole, so the survey and the INSERT each read "
              "the batch once, and the verification reads the table's key columns)")
    finally:
        for process in (athena, moto):
            if process is not None:
                process.terminate()
                process.wait()


GOAL_BUILD_SECONDS = 360


def bench_build():
    """A newcomer's first `cargo run --release -- up`: the cold release build
    it starts with, in an empty target dir, wall and CPU seconds against the
    6-minute goal, and the longest units (cargo's --timings report)."""
    with tempfile.TemporaryDirectory() as target:
        env = dict(os.environ, CARGO_TARGET_DIR=target)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        subprocess.run(["cargo", "build", "--release", "--locked", "--timings"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report = open(os.path.join(target, "cargo-timings", "cargo-timing.html")).read()
        units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", report, re.S).group(1))
    print("A first build: cold `cargo build --release` (what `cargo run --release -- up` compiles), empty target dir")
    print(f"  {int(wall // 60)} min {wall % 60:.0f} s wall, {cpu:.0f} CPU-seconds; "
          f"{wall / GOAL_BUILD_SECONDS:.2f}x the 6-minute goal")
    longest = sorted(units, key=lambda u: -u["duration"])[:8]
    print("  longest units: " + ", ".join(f"{u['name']} {u['duration']:.0f} s" for u in longest))


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "all"
    if which == "build":
        bench_build()
        raise SystemExit(0)
    if which in ("mqtt", "all"):
        bench_mqtt()
        bench_publish_footprint()
    if which in ("sink", "all"):
        bench_sink()
    if which in ("burst", "all"):
        bench_burst()
    if which in ("compact", "all"):
        bench_compact()
        bench_compact_two_batches()
        bench_day_fill()
    if which in ("footprint", "all"):
        bench_footprint()
    if which in ("athena", "all"):
        bench_athena()
    if which in ("kinesis", "all"):
        bench_kinesis()
    if which == "soak":
        bench_soak()
    if which not in ("mqtt", "sink", "burst", "compact", "footprint", "athena", "kinesis", "soak", "all"):
        raise SystemExit(f"unknown benchmark {which!r}: use mqtt, sink, burst, compact, footprint, athena, kinesis, soak, "
                         "build or all (soak and build are not part of all: an hour, and a cold build)")
