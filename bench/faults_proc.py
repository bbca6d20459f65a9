"""What bench/faults_*.py read in /proc (standard library only): nginx's
worker processes, their memory and file descriptors, their connections,
and the module's shared zone as its metrics say."""

import os
import re
import urllib.request


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


def private_kb(pid):
    """(Private_Clean, Private_Dirty) in kB (smaps_rollup), or None."""
    kb = {"Private_Clean:": 0, "Private_Dirty:": 0}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                key = line.split(" ", 1)[0]
                if key in kb:
                    kb[key] += int(line.split()[1])
    except OSError:
        return None
    return kb["Private_Clean:"], kb["Private_Dirty:"]


def uss_kb(pid):
    """Private_Clean + Private_Dirty, in kB (smaps_rollup)."""
    private = private_kb(pid)
    return None if private is None else sum(private)


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


def shm_pages(metrics_port):
    """The module's zone as /metrics says it (ts_shm_pages,
    ts_shm_free_pages); None when the metrics do not answer."""
    url = "http://127.0.0.1:%d/metrics?name[]=ts_shm_pages" \
          "&name[]=ts_shm_free_pages" % metrics_port
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
    except (OSError, ValueError):
        return None
    got = dict(re.findall(r"^(ts_shm_pages|ts_shm_free_pages)\{[^}]*\} "
                          r"(\d+)\.0$", text, re.M))
    if len(got) != 2:
        return None
    return {"pages": int(got["ts_shm_pages"]),
            "free_pages": int(got["ts_shm_free_pages"])}
