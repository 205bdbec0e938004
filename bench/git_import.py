"""Time `digest import --git` over a 1,100-commit archive built from hf-archive

    python bench/git_import.py ../shared/fixtures/hf-archive [COMMITS]

One commit per archive day at 17:07 UTC and a re-fetch of it at 02:39 the next day
with every paper's upvotes grown by 5: COMMITS commits in all (default 1,100), over COMMITS/2 days.
"""

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def commit(repo, when, message):
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
           "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True, env=env)


def grown(data):
    try:
        items = json.loads(data)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "paper" in i for i in items):
        return None
    for item in items:
        item["paper"]["upvotes"] = item["paper"].get("upvotes", 0) + 5
    return json.dumps(items).encode()


def main(archive, commits=1100):
    files = sorted(Path(archive).glob("*.json"))[: max(commits // 2, 1)]
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        made = 0
        for path in files:
            day = dt.date.fromisoformat(path.stem)
            (repo / path.name).write_bytes(path.read_bytes())
            commit(repo, f"{day}T17:07:00+0000", f"fetch {day}")
            made += 1
            again = grown(path.read_bytes())
            if again and made < commits and (commits - made) > (len(files) - files.index(path) - 1):
                (repo / path.name).write_bytes(again)
                commit(repo, f"{day + dt.timedelta(days=1)}T02:39:00+0000", f"re-fetch {day}")
                made += 1
        print(f"{made} commits")
        (Path(tmp) / "digest.toml").write_text('[fetch]\nlistings = ["hf-daily"]\n')
        start = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "digest", "--config", str(Path(tmp) / "digest.toml"),
                               "--data-dir", str(Path(tmp) / "data"), "import", "--git", str(repo)],
                              capture_output=True, text=True)
        seconds = time.monotonic() - start
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(done.stdout.strip() or done.stderr.strip().splitlines()[-1])
        print(f"digest import --git: {seconds:.1f} s, peak {peak:.0f} MB (target 60 s)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/fixtures/hf-archive",
         int(sys.argv[2]) if len(sys.argv) > 2 else 1100)
