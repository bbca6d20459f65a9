"""What bench/faults_*.py read in /proc (standard library only): nginx's
worker processes, their memory and file descriptors, their connections,
and the slab pool header of the module's shared zone."""

import os
import struct


def master_pid(prefix):
    with open(os.path.join(prefix, "logs", "nginx.pid")) as f:
        return int(f.read().strip())


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            # a zombie is dead for us
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace") \
                .strip()
    except OSError:
        return ""


def children(ppid):
    """[(pid, cmdline)] of ppid's living children."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == ppid:
            out.append((int(name), cmdline(int(name))))
    return sorted(out)


def workers(master, serving_only=False):
    """The master's worker processes; serving_only: not shutting down
    (a process just forked still has the master's title: counted)."""
    out = []
    for pid, cmd in children(master):
        if "worker process" in cmd or "master process" in cmd:
            if serving_only and "shutting down" in cmd:
                continue
            out.append(pid)
    return out


def uss_kb(pid):
    """Private_Clean + Private_Dirty, in kB (smaps_rollup)."""
    total = 0
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def snapshot(pid):
    return {"pid": pid, "cmd": cmdline(pid), "uss_kb": uss_kb(pid),
            "rss_kb": rss_kb(pid), "fds": fd_count(pid)}


def _socket_inodes(pid):
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def established(pid, ports):
    """How many ESTABLISHED TCP connections pid holds on local ports."""
    inodes = _socket_inodes(pid)
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if fields[3] == "01" and local_port in ports \
                            and fields[9] in inodes:
                        n += 1
        except OSError:
            pass
    return n


# ngx_slab_pool_t of nginx 1.22 on x86_64 (src/core/ngx_slab.h):
#   ngx_shmtx_sh_t lock (lock, wait: 16 bytes), size_t min_size,
#   size_t min_shift, pages, last, ngx_slab_page_t free (24 bytes),
#   ngx_slab_stat_t *stats (at 72), ngx_uint_t pfree (80), start (88),
#   end (96); the slab stats are {total, used, reqs, fails} per slot.
SLAB_STATS_OFF = 72
PAGE = 4096


def shm_slab(master, size):
    """The module's zone as its slab pool header says, read from the
    master's memory (the zone is the one MAP_SHARED /dev/zero mapping of
    exactly `size` bytes: faults.sh gives the zone a size no other zone
    has). None when it cannot be read (not root, no such mapping)."""
    try:
        with open("/proc/%d/maps" % master) as f:
            maps = f.readlines()
    except OSError:
        return None
    for line in maps:
        fields = line.split()
        if len(fields) < 6 or fields[1] != "rw-s" or "/dev/zero" not in line:
            continue
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        if hi - lo != size:
            continue
        try:
            with open("/proc/%d/mem" % master, "rb") as mem:
                mem.seek(lo)
                head = mem.read(128)
                min_shift = struct.unpack_from("<Q", head, 24)[0]
                stats, pfree, start, end = struct.unpack_from(
                    "<QQQQ", head, SLAB_STATS_OFF)
                slots = 12 - min_shift        # ngx_pagesize_shift - min
                if not (lo <= stats < hi and 0 < slots < 16
                        and lo <= start < end <= hi):
                    return None
                mem.seek(stats)
                raw = mem.read(32 * slots)
        except OSError:
            return None
        slab = []
        for i in range(slots):
            total, used, reqs, fails = struct.unpack_from("<QQQQ", raw,
                                                          32 * i)
            slab.append({"size": 1 << (min_shift + i), "total": total,
                         "used": used, "reqs": reqs, "fails": fails})
        return {"free_pages": pfree, "pages": (end - start) // PAGE,
                "slots": slab}
    return None
