"""History from a git-scraped archive: every committed version of each list, replayed through fetch

An archive committed daily by a workflow (one `<list day>.json` per day, each commit the API's
answer at that moment) holds the re-fetches that make trajectories. `import_git` walks the
commits that touch the files in order and, at each commit time, runs the same planning a live
`digest fetch` runs on that day (fetch.fetch) with a client that answers each list day with the
latest committed version so far: new days are stored as lists, papers added to an earlier
day's list are marked as added then, and the window's later versions become re-observations.
So the store holds the same history a fork fetching at those times would have built.
Importing the same history again rewrites each file with what it already holds: nothing changes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from digest.errors import InputError
from digest.fetch import fetch, fetch_settings
from digest.sources import parse_bytes

_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.json$")


class ReplayClient:
    """Answers /api/daily_papers?date=DAY with the latest version of DAY seen so far, like the API

    A day not seen yet, and an archive's placeholder file (`1`), are answered with `[]`.
    """

    def __init__(self):
        self.served, self.pauses = {}, []

    def get(self, url, params=None):
        params = params or {}
        if int(params.get("p", 0)) > 0:
            return b"[]"
        body = self.served.get(params.get("date"), b"[]")
        return b"[]" if body.strip() == b"1" else body

    def close(self):
        pass


def replay_fetch(store, settings, client, when):
    """Run the live fetch of hf-daily for the moment `when` (aware UTC datetime) against `client`"""
    settings = dataclasses.replace(settings, listings=("hf-daily",))
    report = fetch(store, settings, when.date(), listings=("hf-daily",), client=client, now=when)
    report.raise_for_failures()
    return report


@dataclass(frozen=True)
class GitImport:
    """What an import from git did: commits replayed, versions read, snapshot files written"""

    commits: int
    versions: int
    written: int
    warnings: tuple[str, ...] = ()


def import_git(store, settings, repo, pattern="*.json", progress=None):
    """Replay every committed version of the files matching `pattern` in the git repository `repo`"""
    progress = progress or (lambda line: None)
    commits = _commits(Path(repo), pattern)
    settings = fetch_settings(settings, env={})
    client, warnings, versions, written = ReplayClient(), [], 0, 0
    with _CatFile(Path(repo)) as cat:
        for sha, when, paths in commits:
            changed = False
            for path in paths:
                data = cat.read(f"{sha}:{path}")
                where = f"{repo}@{sha[:12]}:{path}"
                if data.strip() != b"1":
                    try:
                        parse_bytes(
                            data,
                            name=where,
                            fmt="hf-json",
                            listing="hf-daily",
                            day=dt.date.fromisoformat(PurePosixPath(path).stem),
                        )
                    except InputError as e:
                        warnings.append(f"{where}: skipped ({e})")
                        continue
                client.served[PurePosixPath(path).stem] = data
                versions += 1
                changed = True
            if not changed:
                continue
            report = replay_fetch(store, settings, client, when)
            written += sum(1 for r in report.results for s in r.stored if s.changed)
            progress(f"{when:%Y-%m-%dT%H:%M:%SZ} {sha[:12]}: {len(paths)} files")
    return GitImport(commits=len(commits), versions=versions, written=written, warnings=tuple(warnings))


def _git(repo, *args):
    if shutil.which("git") is None:
        raise InputError("git is not on PATH: 'digest import --git' needs it")
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(f"{repo}: git {args[0]} failed: {message[-1] if message else 'exit ' + str(done.returncode)}")
    return done.stdout


def _commits(repo, pattern):
    """[(sha, commit time as aware UTC datetime, [changed day files])] oldest first"""
    if not repo.is_dir():
        raise InputError(f"{repo}: not a folder")
    out = _git(
        repo,
        "log",
        "--reverse",
        "--first-parent",
        "--no-renames",
        "--format=@%H %ct",
        "--name-status",
        "--",
        f":(glob){pattern}" if "/" in pattern or "**" in pattern else pattern,
    )
    commits = []
    for line in out.decode("utf-8", "replace").splitlines():
        if line.startswith("@"):
            sha, stamp = line[1:].split()
            commits.append((sha, dt.datetime.fromtimestamp(int(stamp), dt.UTC), []))
        elif line.strip() and commits:
            status, _, path = line.partition("\t")
            if status[:1] in "AM" and _DAY_FILE.match(PurePosixPath(path).name):
                commits[-1][2].append(path)
    return [c for c in commits if c[2]]


class _CatFile:
    """One `git cat-file --batch` process: the bytes of many blobs without a process each"""

    def __init__(self, repo):
        self.repo = repo

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["git", "-C", str(self.repo), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        return self

    def read(self, spec):
        self.proc.stdin.write(spec.encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.readline().split()
        if len(header) != 3:
            raise InputError(f"{self.repo}: git cannot read {spec}")
        data = self.proc.stdout.read(int(header[2]))
        self.proc.stdout.read(1)  # the newline after each blob
        return data

    def __exit__(self, *exc):
        self.proc.stdin.close()
        self.proc.wait()
