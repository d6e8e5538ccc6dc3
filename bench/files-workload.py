#!/usr/bin/env python3
"""One file-system workload in a folder, timed; prints one JSON line.

  files-workload.py DIR seq-write BYTES     write BYTES to DIR/big (1 MiB writes, fsync before close): MB/s
  files-workload.py DIR seq-read            read DIR/big (after the caller dropped caches): MB/s
  files-workload.py DIR rand-read N         N random 4 KiB preads of DIR/big: ops/s
  files-workload.py DIR meta N              create, stat, unlink N empty files in DIR/meta: ops/s of each
"""
import json, os, random, sys, time

d, what = sys.argv[1], sys.argv[2]
big = os.path.join(d, "big")
out = {"workload": what}
if what == "seq-write":
    n = int(sys.argv[3]); buf = b"\xa5" * (1 << 20); t = time.perf_counter()
    fd = os.open(big, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    left = n
    while left > 0:
        left -= os.write(fd, buf[:min(left, len(buf))])
    os.fsync(fd); os.close(fd)
    out["mb_s"] = n / 1e6 / (time.perf_counter() - t)
elif what == "seq-read":
    t = time.perf_counter(); fd = os.open(big, os.O_RDONLY); n = 0
    while True:
        b = os.read(fd, 1 << 20)
        if not b:
            break
        n += len(b)
    os.close(fd)
    out["mb_s"] = n / 1e6 / (time.perf_counter() - t); out["bytes"] = n
elif what == "rand-read":
    count = int(sys.argv[3]); size = os.path.getsize(big); rnd = random.Random(1)
    fd = os.open(big, os.O_RDONLY); t = time.perf_counter()
    for _ in range(count):
        os.pread(fd, 4096, rnd.randrange(0, size // 4096) * 4096)
    out["ops_s"] = count / (time.perf_counter() - t); os.close(fd)
elif what == "meta":
    count = int(sys.argv[3]); m = os.path.join(d, "meta"); os.makedirs(m, exist_ok=True)
    names = [os.path.join(m, "f%05d" % i) for i in range(count)]
    for phase in ("create", "stat", "unlink"):
        t = time.perf_counter()
        for p in names:
            if phase == "create":
                os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            elif phase == "stat":
                os.stat(p)
            else:
                os.unlink(p)
        out[phase + "_ops_s"] = count / (time.perf_counter() - t)
    os.rmdir(m)
else:
    sys.exit("unknown workload " + what)
print(json.dumps(out))
