"""The newsletter email as files: MIME structure, headers, inlined CSS, size, filters, escaping"""

import dataclasses
import datetime as dt
import json
import re
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import HF_DAILY, assert_golden

from digest.config import Config, EmailSettings
from digest.errors import EmailSetupError
from digest.models import Digest, Entry, Item, Trend, make_entry
from digest.publish.subscribers import parse_subscribers
from digest.render.email import HTML_BUDGET, EmailRenderer
from digest.render.mime import quoted_printable
from digest.render.selection import Subscriber

# The week the demo's sample was once made of (the sample is now a replayed December week).
SAMPLE = [HF_DAILY / f"2026-08-{d}.json" for d in ("13", "14", "17", "18", "19", "20", "21")]
DAY = "2026-08-20"
CONFIG = """title = "Daily Papers"
[email]
from_address = "papers@digest.example.org"
base_url = "https://example.org/papers/"
unsubscribe_mailto = "unsubscribe@digest.example.org"
"""


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements"""

    def __init__(self, html):
        super().__init__()
        self.tags, self.styles, self._in_style = [], [], False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def assert_inlined(html):
    """Nothing Gmail drops carries the look: the CSS is in style attributes, <style> keeps only @media"""
    doc = Elements(html)
    for css in doc.styles:
        outside_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css)
        assert outside_media.strip() == "", f"rules outside @media left in <style>: {outside_media[:200]}"
    styled = [attrs for tag, attrs in doc.tags if "class" in attrs]
    assert styled and all("style" in attrs for attrs in styled), [a for a in styled if "style" not in a][:3]
    lowered = html.lower()
    for banned in ("<script", "<link", "@import", "url(", "@font-face", "<img"):
        assert banned not in lowered, banned
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "prefers-color-scheme: dark" in html
    assert 'class="preheader"' in html and "display: none" in html.split('class="preheader"')[1][:200]


def parse(data):
    return message_from_bytes(data, policy=policy.default)


def content(part):
    """A decoded part with the wire's CRLF line ends back to LF"""
    return part.get_content().replace("\r\n", "\n")


@pytest.fixture
def sample(run, tmp_path):
    run("import", *[p for p in SAMPLE if p.stem <= DAY])
    (tmp_path / "digest.toml").write_text(CONFIG)
    return tmp_path


def blank_ids(eml):
    """The golden form: Message-ID and MIME boundaries blanked, line ends as LF"""
    text = eml.decode("ascii").replace("\r\n", "\n")
    boundary = re.search(r'boundary="([^"]+)"', text).group(1)
    text = text.replace(boundary, "BOUNDARY")
    return re.sub(r"^Message-ID: <[^>]+>$", "Message-ID: <MESSAGE-ID>", text, flags=re.M)


def test_golden_eml_for_the_sample_day(sample, run, monkeypatch):
    monkeypatch.delenv("DIGEST_LEDGER_SALT", raising=False)
    result = run("email", "--date", DAY, "--out", "outbox")
    eml = sample / "outbox" / DAY / "all.eml"
    assert result.stdout == f"{Path('outbox') / DAY / 'all.eml'}  14 new · 1 trending — Daily Papers, 20 Aug 2026\n"
    assert (sample / "outbox" / DAY / "all.html").read_text() == content(parse(eml.read_bytes()).get_payload()[1])
    assert_golden("email-2026-08-20.eml", blank_ids(eml.read_bytes()))


def test_the_message_parses_into_text_then_html_with_the_headers(sample, run):
    run("email", "--date", DAY, "--out", "outbox")
    data = (sample / "outbox" / DAY / "all.eml").read_bytes()
    message = parse(data)
    assert message.defects == []
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_payload()
    assert text.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    for name in ("From", "To", "Subject", "Date", "Message-ID", "List-Id", "List-Unsubscribe"):
        assert message[name], name
    assert message["Date"] == "Thu, 20 Aug 2026 00:00:00 +0000"  # pinned to the digest's day
    assert re.fullmatch(r"<20260820\.[0-9a-f]{32}@digest\.example\.org>", message["Message-ID"])
    assert all(len(line) <= 78 for line in data.split(b"\r\n"))
    body = content(html)
    assert_inlined(body)
    assert len(body.encode()) <= HTML_BUDGET
    assert '<a href="https://example.org/papers/day/2026-08-20.html"' in body and "View in browser</a>" in body
    plain = content(text)
    # A real text part: sections, reasons, links written out; not HTML with the tags stripped.
    assert "NEW PAPERS (14)\n---------------" in plain and "TRENDING (1)" in plain
    assert "Why it's trending: +52 upvotes since Aug 14 (8.7 a day) · 2nd day on" in plain
    assert "  Code         https://github.com/Omni-Scientist/OmniScientist" in plain
    assert "View in your browser: https://example.org/papers/day/2026-08-20.html" in plain
    assert "<" not in plain.replace("<mailto", "")
    assert max(len(line) for line in plain.splitlines()) <= 78


def test_rendering_twice_gives_the_same_bytes(sample, run):
    run("email", "--date", DAY, "--out", "a")
    run("email", "--date", DAY, "--out", "b")
    for name in ("all.eml", "all.html"):
        assert (sample / "a" / DAY / name).read_bytes() == (sample / "b" / DAY / name).read_bytes()


def test_write_emails_takes_a_digest_already_computed(sample, run, monkeypatch):
    from digest.config import load_config
    from digest.pipeline import digest_for
    from digest.publish import outbox

    config = load_config(sample / "digest.toml", sample / "data")
    digest = digest_for(config, dt.date(2026, 8, 20))
    with monkeypatch.context() as patched:
        patched.setattr(outbox, "digest_for", lambda *args, **kwargs: pytest.fail("computed the digest again"))
        day, written = outbox.write_emails(config, out=sample / "given", digest=digest)
    assert day == digest.date and [w.eml.name for w in written] == ["all.eml"]
    run("email", "--date", DAY, "--out", "computed")
    for name in ("all.eml", "all.html"):
        assert (sample / "given" / DAY / name).read_bytes() == (sample / "computed" / DAY / name).read_bytes()


def renderer(digest, **email):
    settings = dict(from_address="papers@digest.example.org", base_url="https://example.org/papers",
                    unsubscribe_mailto="unsubscribe@digest.example.org")
    settings.update(email)
    return EmailRenderer.of(digest, Config(title="Daily Papers", email=EmailSettings(**settings)))


def paper(n, **fields):
    values = dict(rank=n, id=f"2608.{10000 + n}", title=f"Paper number {n}", upvotes=100 - n,
                  abstract="An abstract. " * 40, authors=["Ada Lovelace", "Alan Turing"])
    values.update(fields)
    return Item(values["id"], "hf-daily", make_entry(**values))


def digest_of(new=(), trending=(), top=None):
    trends = tuple(Trend(i, 5.0, ("+10 upvotes since Aug 19", "2nd day on the list"), 10, None, 2) for i in trending)
    return Digest(date=dt.date(2026, 8, 20), listings=("hf-daily",), new=tuple(new), trending=trends, returning=(),
                  dropped=(), top=tuple(new[:10]) if top is None else top, papers_seen=len(new) + len(trending))


def test_past_max_papers_the_rest_is_on_the_site():
    digest = digest_of(new=[paper(n) for n in range(1, 51)], trending=[paper(n) for n in range(51, 56)])
    message = renderer(digest, max_papers=30).render(Subscriber("ada@example.org"))
    cards = message.html.count('class="card"')
    assert cards == 30
    assert message.selection.hidden_new == 25 and len(message.selection.trending) == 5
    assert "And 25 more new papers on the site" in message.html
    assert "And 25 more new papers on the site: https://example.org/papers/day/2026-08-20.html" in message.text
    assert message.subject.startswith("50 new · 5 trending")


def test_parts_encoded_piece_by_piece_equal_the_whole_part_encoded():
    # The renderer joins quoted-printable pieces cached per fragment; that must be exactly
    # the encoding of the whole part, for every reader.
    digest = digest_of(new=[paper(n, title="Ünïcode " * n + "=?x?= trailing space ") for n in range(1, 40)],
                       trending=[paper(n) for n in range(40, 45)])
    r = renderer(digest, max_papers=20)
    for sub in (Subscriber("a@example.org"), Subscriber("b@example.org", keywords=("Ünïcode",), min_upvotes=70)):
        message = r.render(sub)
        assert b"\r\n\r\n" + quoted_printable(message.text) + b"\r\n--" in message.data
        assert b"\r\n\r\n" + quoted_printable(message.html) + b"\r\n--" in message.data
        text, html = parse(message.data).get_payload()
        assert content(text) == message.text and content(html) == message.html
        assert "\n\n\n" not in message.text  # fragments join with one blank line between them


def test_a_huge_day_stays_under_gmails_clipping_size():
    long = "A long abstract sentence that goes on. " * 60
    digest = digest_of(new=[paper(n, ai_summary=long[:390], title="T" * 300) for n in range(1, 301)])
    message = renderer(digest, max_papers=1000).render(Subscriber("ada@example.org"))
    assert len(message.html.encode()) <= HTML_BUDGET
    assert message.selection.hidden_new > 0
    assert f"And {message.selection.hidden_new} more new papers on the site" in message.html
    assert "Unsubscribe</a>" in message.html  # the footer survived


def test_hostile_titles_and_names_are_escaped_and_cannot_inject_headers():
    hostile = 'Robots <script>alert("x")</script> & "quotes"\r\nBcc: victim@evil.example\x00\x1b[31m'
    # Built directly, bypassing make_entry's cleaning: the renderer must be safe on its own.
    entry = Entry(rank=1, title=hostile, id="2608.00001", abstract="Plain.\x07 Text.", upvotes=3,
                  authors=("Eve\r\nBcc: x@evil.example",), links={"hf": "javascript:alert(1)",
                                                                 "arxiv": "https://arxiv.org/abs/2608.00001"})
    item = Item("2608.00001", "hf-daily", entry)
    digest = dataclasses.replace(digest_of(new=[item]), trending=(Trend(item, 2.0, ("up\r\nBcc: y@evil",), 1, None, 2),))
    config = Config(title="Daily\r\nBcc: z@evil.example Papers",
                    email=EmailSettings(from_address="papers@digest.example.org"))
    sub = Subscriber("ada@example.org", name='Ada "Countess"\r\nBcc: w@evil.example, Lovelace')
    message = EmailRenderer.of(digest, config).render(sub)
    parsed = parse(message.data)
    assert parsed["Bcc"] is None and parsed.defects == []
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ada@example.org"]
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]
    assert parsed["Subject"] == "1 new · 1 trending — Daily Bcc: z@evil.example Papers, 20 Aug 2026"
    html, text = message.html, message.text
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in html
    assert "javascript:" not in html and "javascript:" not in text
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", html + text)
    assert 'Robots <script>alert("x")</script> & "quotes" Bcc: victim@evil.example [31m' in " ".join(text.split())
    # The only header lines are ours: nothing from the content starts a line of the header block.
    headers = message.data.split(b"\r\n\r\n", 1)[0].decode()
    names = [line.split(":", 1)[0] for line in headers.split("\r\n") if not line.startswith((" ", "\t"))]
    assert names == ["From", "To", "Subject", "Date", "Message-ID", "List-Id", "MIME-Version", "Content-Type"]


def test_one_click_unsubscribe_only_with_an_https_endpoint():
    digest = digest_of(new=[paper(1)])
    plain = parse(renderer(digest).render(Subscriber("ada@example.org")).data)
    assert plain["List-Unsubscribe"] == "<mailto:unsubscribe@digest.example.org?subject=unsubscribe>"
    assert plain["List-Unsubscribe-Post"] is None
    both = renderer(digest, unsubscribe_url="https://example.org/unsubscribe?who={email}", unsubscribe_one_click=True)
    message = both.render(Subscriber("ada+news@example.org"))
    parsed = parse(message.data)
    assert parsed["List-Unsubscribe"] == ("<mailto:unsubscribe@digest.example.org?subject=unsubscribe>,"
                                          " <https://example.org/unsubscribe?who=ada%2Bnews%40example.org>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert '<a href="https://example.org/unsubscribe?who=ada%2Bnews%40example.org"' in message.html
    with pytest.raises(EmailSetupError, match="needs unsubscribe_url: an https endpoint"):
        renderer(digest, unsubscribe_one_click=True)
    with pytest.raises(EmailSetupError, match="is not an https URL"):
        renderer(digest, unsubscribe_url="http://example.org/u")


def test_each_subscriber_gets_only_their_matching_papers(sample, run, tmp_path):
    (tmp_path / "subscribers.toml").write_text("""
[[subscribers]]
email = "all@example.org"

[[subscribers]]
email = "robots@example.org"
keywords = ["robot"]

[[subscribers]]
email = "nus@example.org"
organizations = ["National University of Singapore"]
authors = ["Igor Itkin"]

[[subscribers]]
email = "popular@example.org"
min_upvotes = 55

[[subscribers]]
email = "nobody@example.org"
authors = ["Nobody Atall"]

[[subscribers]]
email = "nobody-but-tell-me@example.org"
authors = ["Nobody Atall"]
send_when_empty = true
""")
    with open(tmp_path / "digest.toml", "a") as f:
        f.write('subscribers_file = "subscribers.toml"\n')
    result = run("email", "--date", DAY, "--out", "outbox")
    assert "skipped #5: nothing matches the subscriber's filters" in result.stdout
    folder = tmp_path / "outbox" / DAY
    assert sorted(p.name for p in folder.glob("*.eml")) == ["001.eml", "002.eml", "003.eml", "004.eml", "006.eml"]

    def titles(n):
        text = content(parse((folder / f"{n:03d}.eml").read_bytes()).get_payload()[0])
        return [line[2:] for line in text.splitlines() if line.startswith("* ")]

    assert len(titles(1)) == 15
    # "robot" starts a word in these papers' titles, abstracts or AI keywords.
    assert titles(2) and all(t in titles(1) for t in titles(2)) and len(titles(2)) < 15
    assert titles(3) == ["Temporal Multi-Signal Fusion for Token-Level Hallucination Detection",
                         "OmniScientist: An Omni-Modal Omni-Discipline AI Scientist"]
    assert titles(4) == ["Zetta ζ: An Efficient Closed-Loop Embodied Harness for Self-Evolving",
                         "Co-RL: Unsupervised Reasoning Emerges from Diverse Cohort in",
                         "SemaPLC: A Project-Grounded, Verification-Gated Agent Harness for PLC",
                         "SemComp-Bench: Benchmarking Semantic Task Completion in Video"]
    empty = parse((folder / "006.eml").read_bytes())
    assert empty["Subject"].startswith("0 new · 0 trending")
    assert "Nothing in today's digest matches your filters.\nSee all 15 papers: https://example.org/papers/day/2026-08-20.html" \
        in content(empty.get_payload()[0])
    assert max(len(line) for line in content(empty.get_payload()[0]).splitlines()) <= 78
    assert "for papers by Nobody Atall" in " ".join(content(empty.get_payload()[0]).split())


def test_keyword_matching_is_word_aligned():
    digest = digest_of(new=[paper(1, title="Robotic arms"), paper(2, title="Microbots are small"),
                            paper(3, title="LLMs at scale"), paper(4, title="Plain", keywords=["reward model"])])
    r = renderer(digest)

    def keys(**filters):
        return sorted(int(k[-2:]) for k in r.selector.matching(Subscriber("a@example.org", **filters)))

    assert keys(keywords=("robot",)) == [1]  # starts a word; "Microbots" does not count
    assert keys(keywords=("LLM",)) == [3]
    assert keys(keywords=("reward model",)) == [4]
    assert keys(authors=("Turing",)) == [1, 2, 3, 4] and keys(authors=("Tur",)) == []
    assert keys(min_upvotes=98) == [1, 2]


def test_subscriber_lists_in_toml_and_json_and_their_mistakes():
    toml = '[[subscribers]]\nemail = "a@example.org"\nkeywords = ["x"]\n'
    json_text = '{"subscribers": [{"email": "a@example.org", "keywords": ["x"]}]}'
    assert parse_subscribers(toml, "t") == parse_subscribers(json_text, "j")
    for text, message in [
        ('[[subscribers]]\nname = "A"\n', "t: subscriber 1: 'email' is missing"),
        ('[[subscribers]]\nemail = "not an address"\n', "t: subscriber 1: 'not an address' is not an email address"),
        ('[[subscribers]]\nemail = "a@example.org"\nkeyword = ["x"]\n', "t: subscriber 1: unknown key 'keyword'"),
        ('[[subscribers]]\nemail = "a@example.org"\n[[subscribers]]\nemail = "A@example.org"\n',
         "t: subscriber 2 has the same address as subscriber 1"),
        ('[[subscribers]]\nemail = "a@example.org"\nmin_upvotes = -1\n', "min_upvotes should be a whole number"),
        ('{"subscribers": [', "t: invalid JSON"),
        ("[[subscribers]\n", "t: invalid TOML"),
        ('[[subscribers]]\nemail = "a@example.org\\r\\nBcc: b@evil.example"\n', "is not an email address"),
    ]:
        with pytest.raises(EmailSetupError) as error:
            parse_subscribers(text, "t")
        assert message in str(error.value) and "\n" not in str(error.value)


def test_subscribers_from_an_environment_variable(sample, run, monkeypatch):
    with open(sample / "digest.toml", "a") as f:
        f.write('subscribers_env = "DIGEST_SUBSCRIBERS"\n')
    monkeypatch.delenv("DIGEST_SUBSCRIBERS", raising=False)
    result = run("email", "--date", DAY, "--out", "outbox", expect=20)
    assert "DIGEST_SUBSCRIBERS (named by [email] subscribers_env) is not set" in result.stderr
    monkeypatch.setenv("DIGEST_SUBSCRIBERS", '{"subscribers": [{"email": "a@example.org"}, {"email": "b@example.org"}]}')
    run("email", "--date", DAY, "--out", "outbox")
    assert sorted(p.name for p in (sample / "outbox" / DAY).glob("*.eml")) == ["001.eml", "002.eml"]


def test_demo_writes_an_email(tmp_path):
    from digest.demo import run_demo

    result = run_demo(tmp_path / "demo")
    outputs = dict(result.outputs)
    eml = outputs["email"]
    assert eml == tmp_path / "demo" / "email" / "2024-12-12.eml"
    message = parse(eml.read_bytes())
    edition = json.loads((tmp_path / "demo" / "json" / "2024-12-12.json").read_text())
    assert len(edition["trending"]) >= 3  # the demo shows the headline feature
    assert message["Subject"] == (f"{len(edition['new'])} new · {len(edition['trending'])} trending"
                                  " — Daily Papers digest (demo), 12 Dec 2024")
    assert (tmp_path / "demo" / "email" / "2024-12-12.html").read_text() == content(message.get_payload()[1])


def test_the_list_id_is_ascii_for_any_title():
    """RFC 2919: a List-Id label is a dot-atom; a title with accents or symbols is folded"""
    config = Config(title="Résumé des articles: IA & NLP", email=EmailSettings(
        from_address="papers@digest.example.org", base_url="https://example.org/papers",
        unsubscribe_mailto="unsubscribe@digest.example.org"))
    message = parse(EmailRenderer.of(digest_of([paper(1)]), config).render(Subscriber("ada@example.org")).data)
    assert message["List-Id"].endswith(" <resume-des-articles-ia-nlp.digest.example.org>")
