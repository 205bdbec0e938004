"""Generate a synthetic hf-daily history, and one more day as HF API JSON, for the benchmarks

    python bench/generate.py --days 1100 --papers 50 --out bench/out/history
    python bench/generate.py --days 1100 --papers 50 --one-day bench/out/2026-01-05.json
    python bench/generate.py --days 10 --papers 5 --out /tmp/h --one-day /tmp/h-next/next.json

The same seed gives the same files: every random choice comes from one random.Random(seed)
and no value depends on the clock. The extra day is the day after the history, drawn from
the same stream, so it re-lists papers of the history's last week as a real day would.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from dataclasses import dataclass, replace
from pathlib import Path

from digest.models import Snapshot, Source, make_entry
from digest.store import Store, dump_json, write_atomic

START = dt.date(2023, 1, 2)
LISTING = "hf-daily"
NEW_SHARE = 0.7  # of each day's papers; the rest are re-listed from the look-back window
LOOKBACK_DAYS = 7
# Keywords as the real archive spells them (580 days, 9,877 papers: 65,839 uses of 43,633
# spellings, 58 % of uses a spelling no other paper has, 5,613 topics). Each keyword of a
# new paper is a spelling of its own (UNIQUE_SHARE), else a new spelling others may take up
# (REUSABLE_SHARE of the rest), else one drawn in proportion to its uses so far: a few
# keywords become common and most stay rare, and new ones come every day. At the real
# archive's size (275 days here, 9,640 papers) this gives 43,000 spellings among 72,000
# uses, 52 % of uses once-only, 5,587 topics, and about the real fall-off: 14.5 spellings
# used once to one used twice and 2.7 used twice to one used three times (real: 13.4, 3.0).
UNIQUE_SHARE = 0.5
REUSABLE_SHARE = 0.3

WORDS = (
    "a the of and to in for with on by from that which we our this these is are be can "
    "model models language large learning training data dataset benchmark agent agents "
    "reasoning retrieval generation diffusion transformer attention token tokens policy "
    "reward reinforcement video image images vision multimodal audio speech robot robotic "
    "embodied planning inference efficient scalable sparse dense latent representation "
    "alignment preference feedback evaluation task tasks performance accuracy robust "
    "robustness method approach framework pipeline architecture module encoder decoder "
    "context long memory knowledge graph search tool tools code program synthesis math "
    "proof theorem verifier reward-model distillation pretraining fine-tuning instruction "
    "prompt prompting chain thought step steps trajectory trajectories environment world "
    "simulation physical scene 3D 4D geometry motion human interaction dialogue "
    "state-of-the-art baseline baselines improvement improves outperforms achieves "
    "demonstrate show propose introduce present novel simple effective strong across "
    "diverse domains settings experiments results analysis ablation study scaling law "
    "compute budget cost latency throughput hardware kernel quantization pruning mixture "
    "experts routing parallel decoding speculative cache memory-efficient open-source "
    "release public leaderboard human-annotated synthetic curated high-quality noisy "
    "label labels supervision self-supervised contrastive objective loss gradient "
    "optimization stable unstable convergence theoretical empirical evidence while however "
    "moreover furthermore despite although yet remains challenging limited existing prior "
    "work works recent advances significant gains up to points percent relative absolute"
).split()
TITLE_WORDS = (
    "Scaling Learning Reasoning Agents Diffusion Models Language Vision Efficient Robust "
    "Long-Context Multimodal Retrieval Policy Optimization Reward Benchmark Towards "
    "Unified Sparse Adaptive Self-Improving Memory World Video Generation Planning Tool "
    "Use Alignment Preference Understanding Evaluation Data Synthetic Open Fast Latent "
    "Tokens Attention Transformers Embodied Navigation Code Mathematical Proof Search "
    "Verification Distillation Quantization Experts Mixture via with for of and in on"
).split()
FIRST_NAMES = (
    "Wei Jun Yifan Chen Hao Xin Li Ming Yu Zhe Priya Arjun Rahul Ananya Sofia Lucas Emma "
    "Noah Olivia Liam Mateo Camila José Zoë Łukasz Søren Jürgen Hyun-woo Ji-ho Takumi Yuki "
    "Haruto Fatima Omar Amir Leila Elena Ivan Dmitri Anna Marco Giulia Pierre Chloé Kwame"
).split()
LAST_NAMES = (
    "Wang Zhang Li Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Lin He Gao Luo "
    "Kumar Sharma Patel Singh Gupta Smith Johnson Brown Garcia Martinez Müller Schmidt "
    "Kim Park Lee Choi Tanaka Suzuki Sato Nakamura Rossi Bianchi Dubois Martin Novak "
    "Kowalski Ivanova Hassan Okafor Mensah Nielsen Andersen"
).split()
ORGANIZATIONS = (
    "Google", "Google DeepMind", "Meta AI", "Microsoft Research", "NVIDIA", "Alibaba Qwen",
    "Tencent Hunyuan", "ByteDance Seed", "Shanghai AI Laboratory", "Tsinghua University",
    "Peking University", "Zhejiang University", "Stanford University", "MIT CSAIL",
    "Carnegie Mellon University", "UC Berkeley", "KAIST AI", "The University of Tokyo",
    "ETH Zürich", "Hugging Face", "Allen Institute for AI", "Mistral AI", "Apple",
)
KEYWORDS = (
    "large language models", "reinforcement learning", "diffusion models", "vision-language models",
    "chain-of-thought", "retrieval-augmented generation", "mixture of experts", "KV cache",
    "speculative decoding", "reward model", "preference optimization", "DPO", "GRPO",
    "tool use", "LLM agents", "world model", "video generation", "text-to-image", "3D reconstruction",
    "embodied AI", "robot manipulation", "benchmark", "instruction tuning", "distillation",
    "quantization", "long-context", "multimodal reasoning", "code generation", "theorem proving",
    "self-supervised learning", "contrastive learning", "test-time scaling", "synthetic data",
    "evaluation", "hallucination", "alignment", "safety", "speech recognition", "text-to-speech",
)


# What new keywords are made of: the prose vocabulary's words of four letters or more.
KEYWORD_WORDS = tuple(sorted({word for word in WORDS if len(word) >= 4 and word.isalpha()}))


@dataclass(frozen=True)
class Paper:
    """A synthetic paper and what the listing showed of it on its latest day"""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    organization: str | None
    published: dt.date
    ai_summary: str
    keywords: tuple[str, ...]
    code: str | None
    project: str | None
    github_stars: int | None
    upvotes: int
    comments: int


class Keywords:
    """Hand out paper keywords with the real archive's long tail (see UNIQUE_SHARE)"""

    def __init__(self, rng):
        self.rng = rng
        # One entry per use so far: a uniform pick is a pick in proportion to uses.
        self.uses = [keyword for keyword in KEYWORDS for _ in range(8)]

    def draw(self, count):
        chosen = []
        while len(chosen) < count:
            roll = self.rng.random()
            if roll < UNIQUE_SHARE:
                keyword = self.spelling()
            elif roll < UNIQUE_SHARE + (1 - UNIQUE_SHARE) * REUSABLE_SHARE:
                keyword = self.spelling()
                self.uses.append(keyword)
            else:
                keyword = self.rng.choice(self.uses)
                self.uses.append(keyword)
            if keyword not in chosen:
                chosen.append(keyword)
        return tuple(chosen)

    def spelling(self):
        """A new spelling: two to four vocabulary words, some in title case, some with an
        acronym spelled out ('sparse memory routing (SMR)'), some a case variant of a known one"""
        rng = self.rng
        roll = rng.random()
        if roll < 0.1:
            return rng.choice(self.uses).title()
        words = rng.sample(KEYWORD_WORDS, rng.choice((2, 3, 3, 4)))
        text = " ".join(words)
        if roll < 0.12:
            return f"{text} ({''.join(word[0] for word in words).upper()})"
        return text.title() if roll < 0.3 else text


class ArxivIds:
    """Hand out increasing, unique YYMM.NNNNN ids per month of publication"""

    def __init__(self, rng):
        self.rng = rng
        self.last = {}

    def next(self, published):
        month = f"{published:%y%m}"
        # Gaps between numbers, as papers on other topics fill the rest of the month.
        number = self.last.get(month, 0) + self.rng.randint(1, 5)
        if number > 99999:
            raise ValueError(f"more than 99,999 papers in 20{month}: lower --papers")
        self.last[month] = number
        return f"{month}.{number:05d}"


def listing_days(days, papers, seed, start=START):
    """Yield (day, papers ranked by upvotes) for `days` consecutive days from `start`"""
    rng = random.Random(seed)
    ids = ArxivIds(rng)
    keywords = Keywords(rng)
    recent = {}  # id -> (last day listed, Paper as then)
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        recent = {k: v for k, v in recent.items() if (day - v[0]).days <= LOOKBACK_DAYS}
        relisted = rng.sample(list(recent), min(len(recent), papers - round(papers * NEW_SHARE)))
        listed = [grow(rng, recent[k][1]) for k in relisted]
        listed += [new_paper(rng, ids, keywords, day) for _ in range(papers - len(listed))]
        listed.sort(key=lambda p: (-p.upvotes, p.id))
        recent.update((p.id, (day, p)) for p in listed)
        yield day, listed


def new_paper(rng, ids, keywords, day):
    """Make a paper first listed on `day`, published one to three days before"""
    published = day - dt.timedelta(days=rng.randint(1, 3))
    name = acronym(rng)
    has_code = rng.random() < 0.55
    return Paper(
        id=ids.next(published),
        title=title(rng, name),
        abstract=prose(rng, 1200, 1900),
        authors=tuple(f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(rng.randint(3, 20))),
        organization=rng.choice(ORGANIZATIONS) if rng.random() < 0.6 else None,
        published=published,
        ai_summary=prose(rng, 170, 230),
        keywords=keywords.draw(rng.randint(5, 10)),
        code=f"https://github.com/{rng.choice(LAST_NAMES).lower()}-lab/{name}" if has_code else None,
        project=f"https://{name.lower()}.github.io/" if rng.random() < 0.25 else None,
        github_stars=int(rng.paretovariate(1.1) * 10) if has_code else None,
        # Heavy-tailed like the real list: most papers get a handful, a few get hundreds.
        upvotes=min(int(rng.paretovariate(1.2) * 4), 900),
        comments=int(rng.expovariate(0.5)),
    )


def grow(rng, paper):
    """Re-list a paper a later day, with more upvotes and perhaps more comments"""
    return replace(paper, upvotes=paper.upvotes + rng.randint(1, max(2, paper.upvotes // 2)),
                   comments=paper.comments + rng.randint(0, 2))


def acronym(rng):
    """Make a method name such as 'VeriLoRA' from two syllables and a suffix"""
    parts = ("Veri", "Omni", "Flash", "Deep", "Meta", "Hyper", "Agent", "Seed", "Mind", "Open", "Uni", "Spark")
    suffixes = ("LoRA", "Gen", "Bench", "Net", "RL", "Flow", "Mem", "Coder", "VLA", "World", "-R1", "Edit")
    return rng.choice(parts) + rng.choice(suffixes) + (str(rng.randint(2, 9)) if rng.random() < 0.2 else "")


def title(rng, name):
    """Make a title of 60 to 140 characters: 'Name: Capitalised Words'"""
    target = rng.randint(60, 140)
    text = name + ":"
    for word in rng.choices(TITLE_WORDS, k=40):
        if len(text) >= target:
            break
        text += " " + word
    return _fit(text, 140)


def prose(rng, low, high):
    """Make sentences of vocabulary words, from `low` to `high` characters"""
    target = rng.randint(low, high)
    # Words average over five letters, so target // 4 words is always more than enough.
    words = rng.choices(WORDS, k=target // 4)
    sentences, size, start = [], 0, 0
    while size < target and start < len(words):
        end = start + rng.randint(8, 26)
        sentence = " ".join(words[start:end])
        sentences.append(sentence[0].upper() + sentence[1:] + ".")
        size += len(sentences[-1]) + 1
        start = end
    text = " ".join(sentences)
    # Cut the last sentence short rather than run over; it still ends like one.
    return text if len(text) <= high else _fit(text, high - 1) + "."


def _fit(text, limit):
    """Cut text at the last space within `limit` characters"""
    return text if len(text) <= limit else text[: limit + 1].rsplit(" ", 1)[0].rstrip(":,")


def snapshot(day, papers):
    """The stored snapshot of a day, built by the project's own constructors"""
    entries = tuple(
        make_entry(
            rank=rank,
            title=p.title,
            id=p.id,
            abstract=p.abstract,
            authors=p.authors,
            organization=p.organization,
            published=p.published.isoformat(),
            upvotes=p.upvotes,
            comments=p.comments,
            links={"code": p.code, "project": p.project},
            keywords=p.keywords,
            ai_summary=p.ai_summary,
            github_stars=p.github_stars,
        )
        for rank, p in enumerate(papers, start=1)
    )
    return Snapshot(listing=LISTING, date=day, entries=entries, source=Source(kind="hf-json", file=f"{day}.json"))


def hf_items(day, papers):
    """A day as the HF Daily Papers API returns it: an array of items with a 'paper' object"""
    return [hf_item(day, p) for p in papers]


def hf_item(day, paper):
    """One API item, with the fields our importer reads and the duplicates the API also sends"""
    published = f"{paper.published}T00:00:00.000Z"
    fields = {
        "id": paper.id,
        "title": paper.title,
        "summary": paper.abstract,
        "authors": [{"name": name, "hidden": False} for name in paper.authors],
        "publishedAt": published,
        "submittedOnDailyAt": f"{day}T00:00:00.000Z",
        "upvotes": paper.upvotes,
        "ai_summary": paper.ai_summary,
        "ai_keywords": list(paper.keywords),
        "githubRepo": paper.code,
        "projectPage": paper.project,
        "githubStars": paper.github_stars,
    }
    if paper.organization:
        fields["organization"] = {"name": paper.organization.lower().replace(" ", "-"),
                                  "fullname": paper.organization}
    return {"paper": fields, "title": paper.title, "summary": paper.abstract,
            "publishedAt": published, "numComments": paper.comments}


def generate(days, papers, seed, out=None, one_day=None, start=START):
    """Write `days` snapshots under out/ and day `days + 1` as HF JSON to one_day; return counts

    The extra day is written last, so its presence means the history is complete.
    """
    store = Store(out) if out else None
    written = 0
    for day, listed in listing_days(days + 1 if one_day else days, papers, seed, start):
        if (day - start).days == days:
            write_atomic(one_day, dump_json(hf_items(day, listed)))
        elif store:
            store.save(snapshot(day, listed))
            written += 1
    return written


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1100, help="days of history (default: 1100)")
    parser.add_argument("--papers", type=int, default=50, help="papers listed each day (default: 50)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=START,
                        help=f"first day, YYYY-MM-DD (default: {START})")
    parser.add_argument("--out", type=Path, help="data directory to write snapshots/hf-daily/ into")
    parser.add_argument("--one-day", type=Path, help="also write the day after the history here, as HF API JSON")
    args = parser.parse_args(argv)
    if args.days < 1 or args.papers < 1:
        parser.error("--days and --papers must be at least 1")
    if not args.out and not args.one_day:
        parser.error("give --out, --one-day or both")
    return args


def main(argv=None):
    args = parse_args(argv)
    written = generate(args.days, args.papers, args.seed, args.out, args.one_day, args.start)
    if args.out:
        print(f"{args.out}: {written} snapshots of {args.papers} papers, {args.start} to "
              f"{args.start + dt.timedelta(days=args.days - 1)}")
    if args.one_day:
        print(f"{args.one_day}: {args.papers} papers on {args.start + dt.timedelta(days=args.days)} (HF API JSON)")


if __name__ == "__main__":
    main()
