#!/usr/bin/env python3
"""Helper of bench/many-mailboxes-benchmark.sh (not a test).

  fill HOME A M ROUND UID GID   put M messages of 4 KiB into each of the A Maildirs HOME/uNNNN/Maildir/new
  raw PORT A PARALLEL           the raw reference: a pipelined POP3 client that writes nothing. PARALLEL
                                sessions at once, each logs in to one account, sends RETR and DELE for every
                                message in one write, reads the replies, QUIT; prints msgs/s
  check HOME MAILBOXES A M      everything delivered exactly once: M files in each local mailbox, every
                                Message-ID once, and nothing left on the server
"""
import asyncio
import os
import sys
import time


def user(i):
    return "u%04d" % i


def message(u, i, rnd):
    head = ("From: bench@example.org\r\nTo: %s@example.net\r\nSubject: many %s %d\r\n"
            "Message-ID: <many-%s-%d-%s@example.org>\r\n\r\n" % (u, u, i, u, i, rnd))
    line = "The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    body = line * ((4096 - len(head)) // len(line) + 1)
    return (head + body)[:4096 - 2].encode("ascii") + b"\r\n"


def fill(home, a, m, rnd, uid, gid):
    t = int(time.time())
    for n in range(1, a + 1):
        u = user(n)
        new = os.path.join(home, u, "Maildir", "new")
        for i in range(m):
            p = os.path.join(new, "%d.M%dP%s.%s" % (t, i, rnd, u))
            with open(p, "wb") as f:
                f.write(message(u, i, rnd))
            os.chown(p, uid, gid)


class PopError(Exception):
    pass


async def line(r):
    s = await r.readline()
    if not s.startswith(b"+OK"):
        raise PopError(s.decode("ascii", "replace").strip() or "connection closed")
    return s


async def account(port, u):
    r, w = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    try:
        await line(r)
        w.write(b"USER %s\r\n" % u.encode())
        await line(r)
        w.write(b"PASS bench\r\n")
        await line(r)
        w.write(b"STAT\r\n")
        count = int((await line(r)).split()[1])
        w.write(b"".join(b"RETR %d\r\nDELE %d\r\n" % (i, i) for i in range(1, count + 1)) + b"QUIT\r\n")
        size = 0
        for _ in range(count):
            await line(r)
            size += len(await r.readuntil(b"\r\n.\r\n"))
            await line(r)
        await line(r)
        return count, size
    finally:
        w.close()


async def raw(port, a, parallel):
    queue = list(range(a, 0, -1))
    done = [0, 0]

    async def worker():
        while queue:
            c, s = await account(port, user(queue.pop()))
            done[0] += c
            done[1] += s

    t0 = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    secs = time.monotonic() - t0
    print("raw pipelined POP3 client: %d messages (%.1f MiB) from %d accounts, %d sessions at once, in %.2f s: %.0f msgs/s"
          % (done[0], done[1] / 1048576, a, parallel, secs, done[0] / secs))


def check(home, boxes, a, m):
    bad = []
    ids = {}
    left = 0
    for n in range(1, a + 1):
        u = user(n)
        files = []
        for sub in ("new", "cur"):
            d = os.path.join(boxes, u, sub)
            if os.path.isdir(d):
                files += [os.path.join(d, f) for f in os.listdir(d)]
        if len(files) != m:
            bad.append("%s: %d files" % (u, len(files)))
        for p in files:
            with open(p, "rb") as f:
                for h in f.read(1024).split(b"\r\n"):
                    if h.lower().startswith(b"message-id:"):
                        ids[h] = ids.get(h, 0) + 1
                        break
        for sub in ("new", "cur"):
            left += len(os.listdir(os.path.join(home, u, "Maildir", sub)))
    twice = sum(1 for c in ids.values() if c > 1)
    ok = not bad and twice == 0 and len(ids) == a * m and left == 0
    print("delivered: %d distinct messages in %d mailboxes (expected %d x %d); %d mailboxes with a wrong count%s; "
          "%d Message-IDs more than once; %d messages left on the server: %s"
          % (len(ids), a, a, m, len(bad), (" (" + ", ".join(bad[:5]) + ")") if bad else "", twice, left,
             "exactly once" if ok else "NOT exactly once"))
    return ok


def main(argv):
    cmd = argv[1]
    if cmd == "fill":
        fill(argv[2], int(argv[3]), int(argv[4]), argv[5], int(argv[6]), int(argv[7]))
    elif cmd == "raw":
        asyncio.run(raw(int(argv[2]), int(argv[3]), int(argv[4])))
    elif cmd == "check":
        return 0 if check(argv[2], argv[3], int(argv[4]), int(argv[5])) else 1
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
