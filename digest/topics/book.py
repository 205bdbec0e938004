"""The topic book: every topic of the archive as keyed rows, changed paper by paper (pure)

A full build adds every paper at once (`TopicBook.fill`); an update reads the rows of the
keywords its changed papers had and have, and changes those only (`TopicBook.apply`). The
keys, names and acronyms are digest.topics'.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import orjson

from digest.archive import StaleState
from digest.topics import TOPIC_MIN_PAPERS, Topic, _acronym_pair, topic_key


class StaleRows(StaleState):
    """Rows of the last build that do not agree with each other or with the papers: build everything"""


def _by_fold(keywords):
    """fold -> {spelling: uses} of a paper's keywords"""
    folds = {}
    for keyword in keywords:
        spellings = folds.setdefault(keyword.casefold(), {})
        spellings[keyword] = spellings.get(keyword, 0) + 1
    return folds


def _decider(spellings):
    """The spelling that keys a fold: its most used, the smallest of those used most"""
    return min(spellings.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _expansion(counts):
    """The expansion an acronym takes: its most used, the smallest key of those used most"""
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0] if counts else None


def _names(spellings):
    """(name, aliases) of a topic from {spelling: uses} of its keywords: the most used spelling,
    then one spelling of each other fold (its most used), most used first"""
    names = sorted(spellings.items(), key=lambda kv: (-kv[1], kv[0]))
    aliases = {}
    for name, _ in names:
        aliases.setdefault(name.casefold(), name)
    return names[0][0], tuple(aliases.values())[1:]


def _no_rows(table, keys):
    return {}


class TopicBook:
    """Every topic of the archive as keyed rows, changed paper by paper (pure: rows in, rows out)

    The rows, each a JSON-ready value (what the build state keeps, publish/state_db.py):
      groups    topic key -> [{fold: [{spelling: uses}, [paper keys, sorted]]}, [acronyms expanding to it]]
      folds     fold (a keyword casefolded) -> its topic key (the key of its most used spelling)
      acronyms  acronym key -> {expansion key: uses of the spellings that spell it out so}
      topic_list  "all" -> {slug: [name, number of papers]} of every topic kept (min_papers or more)
    A topic's slug is its key's expansion when the key is an acronym the archive spells out
    (one step only), else the key; its papers are those of the folds of every key with that slug.

    `read(table, keys)` gives the rows the last build kept (none: a full build, which adds every
    paper). `apply` takes the papers that came, went or changed keywords and reads and changes
    only the rows of their keywords: the same rows and topics as adding every paper to an empty
    book (tests/test_properties.py checks it on random changes).
    """

    TABLES = ("groups", "folds", "acronyms", "topic_list")

    def __init__(self, read=None, min_papers=TOPIC_MIN_PAPERS):
        self._read = read or _no_rows
        self.min_papers = min_papers
        self.rows = {table: {} for table in self.TABLES[:3]}  # key -> value, or None: no such row
        self.listed = None  # slug -> [name, papers] of every topic kept (topic_list's one row)
        self.dirty = {table: set() for table in self.TABLES}  # keys of the rows this book changed
        self._frozen = False  # its group rows are JSON text (fill): it gives its rows, no more
        self._topics = {}  # slug -> Topic or None, made since the last apply

    # -- reading -------------------------------------------------------------------------

    def _load(self, table, keys):
        rows = self.rows[table]
        wanted = [key for key in dict.fromkeys(keys) if key is not None and key not in rows]
        if wanted:
            found = self._read(table, wanted)
            for key in wanted:
                rows[key] = found.get(key)

    def _listed(self):
        if self.listed is None:
            found = self._read("topic_list", ["all"]).get("all")
            self.listed = dict(found) if found else {}
        return self.listed

    def _group(self, key):
        """The group row of a key, made empty when there is none (loaded before)"""
        groups = self.rows["groups"]
        group = groups.get(key)
        if group is None:
            group = groups[key] = [{}, []]
        return group

    def _expansion_of(self, key):
        counts = self.rows["acronyms"].get(key)
        return _expansion(counts) if counts else None

    def slug_of_key(self, key):
        """The slug of a topic key: its expansion when it is an acronym spelled out, else itself"""
        self._load("acronyms", [key])
        return self._expansion_of(key) or key

    def kept(self, slug):
        """True when the topic of this slug has min_papers papers or more (it has pages)"""
        return slug in self._listed()

    def links(self, folds):
        """fold -> the slug of its topic when that topic is kept, for each known fold of `folds`"""
        folds = list(folds)
        self._load("folds", folds)
        keys = {fold: self.rows["folds"][fold] for fold in folds if self.rows["folds"].get(fold)}
        self._load("acronyms", keys.values())
        listed = self._listed()
        found = {}
        for fold, key in keys.items():
            slug = self._expansion_of(key) or key
            if slug in listed:
                found[fold] = slug
        return found

    def slugs_of(self, folds):
        """The slugs of the topics (kept or not) of the known folds among `folds`"""
        folds = list(folds)
        self._load("folds", folds)
        keys = {self.rows["folds"][fold] for fold in folds if self.rows["folds"].get(fold)}
        self._load("acronyms", keys)
        return {self._expansion_of(key) or key for key in keys}

    def topic_list(self):
        """slug -> (name, number of papers) of every topic kept"""
        return {slug: (name, count) for slug, (name, count) in self._listed().items()}

    def _contributing(self, slug):
        """The group rows whose folds make the topic of `slug`"""
        self._load("acronyms", [slug])
        self._load("groups", [slug])
        own = self.rows["groups"].get(slug)
        others = own[1] if own else []
        self._load("groups", others)
        groups = [] if own is None or self._expansion_of(slug) else [own]
        return groups + [self.rows["groups"][key] for key in others if self.rows["groups"].get(key)]

    def _make(self, slug):
        """(Topic, or None when it has fewer than min_papers papers) of a slug from its rows"""
        spellings, papers = {}, set()
        for folds, _ in self._contributing(slug):
            for uses, keys in folds.values():
                for spelling, count in uses.items():
                    spellings[spelling] = spellings.get(spelling, 0) + count
                papers.update(keys)
        if len(papers) < self.min_papers:
            return None
        name, aliases = _names(spellings)
        return Topic(slug, name, tuple(sorted(papers)), aliases)

    def topic(self, slug):
        """The Topic of a slug, or None when it is not kept"""
        if slug not in self._topics:
            self._topics[slug] = self._make(slug) if slug in self._listed() else None
        return self._topics[slug]

    # -- changing ------------------------------------------------------------------------

    def apply(self, changes):
        """Apply (paper key, its keywords before, its keywords now) of every paper that came
        ((), now), went (before, ()) or changed keywords; (slugs whose topic may have changed,
        papers whose keyword links changed)"""
        if self._frozen:
            raise ValueError("a frozen TopicBook gives its rows, it takes no changes")
        uses, joined, left = defaultdict(dict), defaultdict(set), defaultdict(set)
        for paper, before, now in changes:
            was, has = _by_fold(before), _by_fold(now)
            for fold in was.keys() | has.keys():
                delta = uses[fold]
                for spelling, count in has.get(fold, {}).items():
                    delta[spelling] = delta.get(spelling, 0) + count
                for spelling, count in was.get(fold, {}).items():
                    delta[spelling] = delta.get(spelling, 0) - count
                if fold not in was:
                    joined[fold].add(paper)
                elif fold not in has:
                    left[fold].add(paper)
        folds = sorted(fold for fold, delta in uses.items() if any(delta.values()) or joined[fold] or left[fold])
        if not folds:
            return set(), set()
        rows = self.rows
        self._load("folds", folds)
        before = {fold: rows["folds"].get(fold) for fold in folds}  # each fold's key
        self._load("groups", before.values())
        # Each fold's spellings and papers after the change, and its key.
        made, after = {}, {}
        for fold in folds:
            key = before[fold]
            group = rows["groups"].get(key) if key else None
            if key and (group is None or fold not in group[0]):
                raise StaleRows(f"the keyword {fold!r} has no row in its topic key's group")
            spellings, papers = (dict(group[0][fold][0]), set(group[0][fold][1])) if key else ({}, set())
            for spelling, count in uses[fold].items():
                spellings[spelling] = spellings.get(spelling, 0) + count
                if spellings[spelling] < 0:
                    raise StaleRows(f"the keyword {spelling!r} is used fewer than no times")
                if not spellings[spelling]:
                    del spellings[spelling]
            if papers & joined[fold] or left[fold] - papers:
                raise StaleRows(f"the papers of the keyword {fold!r} do not agree with their rows")
            papers = (papers | joined[fold]) - left[fold]
            if bool(spellings) != bool(papers):
                raise StaleRows(f"the keyword {fold!r} has uses without papers or papers without uses")
            made[fold] = [spellings, sorted(papers)] if spellings else None
            after[fold] = topic_key(_decider(spellings)) if spellings else None
        # The acronyms whose spelled-out uses changed, and the expansion each takes before and after.
        spelled = defaultdict(dict)
        for fold in folds:
            for spelling, count in uses[fold].items():
                pair = _acronym_pair(spelling) if count else None
                if pair:
                    spelled[pair[0]][pair[1]] = spelled[pair[0]].get(pair[1], 0) + count
        keys = set(before.values()) | set(after.values()) | spelled.keys()
        self._load("acronyms", keys)
        listed = self._listed()
        was_kept = dict(listed)  # changed below; links compare with it
        expanded = {}  # acronym -> (its expansion before, after)
        for acronym, delta in spelled.items():
            counts = dict(rows["acronyms"].get(acronym) or {})
            old = _expansion(counts)
            for expansion, count in delta.items():
                counts[expansion] = counts.get(expansion, 0) + count
                if counts[expansion] < 0:
                    raise StaleRows(f"the acronym {acronym!r} is spelled out fewer than no times")
                if not counts[expansion]:
                    del counts[expansion]
            rows["acronyms"][acronym] = counts or None
            self.dirty["acronyms"].add(acronym)
            new = _expansion(counts)
            if new != old:
                expanded[acronym] = (old, new)

        def slug_before(key):
            if key in expanded:
                return expanded[key][0] or key
            return self._expansion_of(key) or key

        def slug_after(key):
            return self._expansion_of(key) or key

        # Move each fold to the group of its key, with its papers and spellings.
        self._load("groups", [key for key in after.values() if key])
        for fold in folds:
            old, new = before[fold], after[fold]
            if old:
                del rows["groups"][old][0][fold]
                self.dirty["groups"].add(old)
            if new:
                self._group(new)[0][fold] = made[fold]
                self.dirty["groups"].add(new)
            rows["folds"][fold] = new
            self.dirty["folds"].add(fold)
        # An acronym whose expansion changed takes its folds to the new slug: listed in the
        # group of its expansion ("x"), so that a topic finds every group it is made of.
        self._load("groups", [end for pair in expanded.values() for end in pair if end] + list(expanded))
        for acronym, (old, new) in expanded.items():
            if old:
                self._group(old)[1].remove(acronym)
                self.dirty["groups"].add(old)
            if new:
                ends = self._group(new)[1]
                ends.append(acronym)
                ends.sort()
                self.dirty["groups"].add(new)
        for key in self.dirty["groups"]:
            group = rows["groups"].get(key)
            if group is not None and not group[0] and not group[1]:
                rows["groups"][key] = None
        # Every slug whose topic may have changed, made again from its rows.
        slugs = {slug_before(key) for key in before.values() if key} | {
            slug_after(key) for key in after.values() if key
        }
        slugs |= {slug for acronym, pair in expanded.items() for slug in (pair[0] or acronym, pair[1] or acronym)}
        self._topics = {}
        for slug in slugs:
            topic = self._make(slug)
            self._topics[slug] = topic
            if topic is None:
                listed.pop(slug, None)
            else:
                listed[slug] = [topic.name, len(topic.keys)]
        self.dirty["topic_list"].add("all")
        # Papers whose keyword links changed: a fold of another slug, or a slug kept or dropped.
        relinked = set()
        for fold in folds:
            old = slug_before(before[fold]) if before[fold] else None
            new = slug_after(after[fold]) if after[fold] else None
            if (old if old in was_kept else None) != (new if new in listed else None):
                relinked.update(made[fold][1] if made[fold] else ())
                relinked.update(left[fold])
        for acronym, (old, new) in expanded.items():
            old, new = old or acronym, new or acronym
            if (old if old in was_kept else None) != (new if new in listed else None):
                group = rows["groups"].get(acronym)
                relinked.update(paper for _, papers in (group[0].values() if group else ()) for paper in papers)
        for slug in slugs:
            if (slug in was_kept) != (slug in listed):
                relinked.update(
                    paper for folds, _ in self._contributing(slug) for _, papers in folds.values() for paper in papers
                )
        return slugs, relinked

    def fill(self, papers, frozen=False):
        """Add every paper of an empty book at once ((paper key, keywords), by key): the rows and
        topics `apply` makes of them one by one, in a fraction of its time (a full build)

        frozen: keep each group row as its JSON text only (orjson.Fragment): the book then gives
        its topics and rows (every_row), not more. A full build holds every keyword's row until it
        saves its state; as lists and dicts, 160,000 of them are several times their text.
        """
        # Most keywords are one spelling of one paper: kept as a str until a second comes.
        uses, members = {}, {}  # fold -> its spelling or {spelling: uses}, fold -> its paper or papers
        for paper, keywords in papers:
            for keyword in keywords:
                fold = keyword.casefold()
                had = uses.get(fold)
                if had is None:
                    uses[fold] = keyword
                    members[fold] = paper
                    continue
                if type(had) is str:
                    had = uses[fold] = {had: 1}
                had[keyword] = had.get(keyword, 0) + 1
                went = members[fold]
                if type(went) is str:
                    if went != paper:
                        members[fold] = [went, paper]
                elif went[-1] != paper:
                    went.append(paper)

        for fold, went in members.items():
            if type(went) is list and any(a >= b for a, b in zip(went, went[1:])):
                members[fold] = sorted(set(went))  # papers given out of key order

        def spellings_of(fold):
            had = uses[fold]
            return {had: 1} if type(had) is str else had

        def papers_of(fold):
            went = members[fold]
            return [went] if type(went) is str else went

        grouped, folds, acronyms = defaultdict(list), self.rows["folds"], defaultdict(dict)
        for fold, had in uses.items():
            key = folds[fold] = topic_key(had if type(had) is str else _decider(had))
            grouped[key].append(fold)
            for spelling, count in ((had, 1),) if type(had) is str else had.items():
                pair = _acronym_pair(spelling)
                if pair:
                    ends = acronyms[pair[0]]
                    ends[pair[1]] = ends.get(pair[1], 0) + count
        expansions = {acronym: _expansion(counts) for acronym, counts in acronyms.items()}
        ends = defaultdict(list)  # expansion -> the acronyms expanding to it
        for acronym, expansion in sorted(expansions.items()):
            ends[expansion].append(acronym)
        listed = self.listed = {}
        self._topics = {}
        for slug in grouped.keys() | ends.keys():
            parts = ([] if slug in expansions else grouped.get(slug, [])) + [
                fold for acronym in ends.get(slug, ()) for fold in grouped.get(acronym, ())
            ]
            if len(parts) == 1:
                found = papers_of(parts[0])
                if len(found) < self.min_papers:
                    continue
                keys, spellings = tuple(found), spellings_of(parts[0])
            else:
                spellings, every = {}, set()
                for fold in parts:
                    for spelling, count in spellings_of(fold).items():
                        spellings[spelling] = spellings.get(spelling, 0) + count
                    every.update(papers_of(fold))
                if len(every) < self.min_papers:
                    continue
                keys = tuple(sorted(every))
            name, aliases = _names(spellings)
            self._topics[slug] = Topic(slug, name, keys, aliases)
            listed[slug] = [name, len(keys)]
        dumps, sort, fragment = orjson.dumps, orjson.OPT_SORT_KEYS, orjson.Fragment
        groups = self.rows["groups"]
        for key in grouped.keys() | ends.keys():
            value = [{fold: [spellings_of(fold), papers_of(fold)] for fold in grouped.get(key, ())}, ends.get(key, [])]
            # Text, not the bytes orjson gives: each of those keeps a buffer of some kilobytes.
            groups[key] = fragment(dumps(value, option=sort).decode()) if frozen else value
        self.rows["acronyms"] = dict(acronyms)
        if frozen:
            self._frozen = True
            # A full build works every spelling's key out once: 460,000 of them at 10 years.
            topic_key.cache_clear()
            _acronym_pair.cache_clear()
        for table in self.TABLES:
            self.dirty[table] = set()

    def release(self):
        """Let every row go (a full build's, once saved): the book gives nothing more"""
        self.rows = {table: {} for table in self.TABLES[:3]}
        self.listed = {}
        self._topics = {}
        self._frozen = True

    def changed_rows(self):
        """table -> key -> value (None: the row is gone) of every row this book changed"""
        found = {table: {key: self.rows[table][key] for key in self.dirty[table]} for table in self.TABLES[:3]}
        # No topic kept, no row: a book reads a missing list as an empty one.
        found["topic_list"] = {"all": self._listed() or None} if self.dirty["topic_list"] else {}
        return found

    def every_row(self):
        """table -> key -> value of every row (a book that started empty: a full build)"""
        found = {
            table: {key: value for key, value in self.rows[table].items() if value is not None}
            for table in self.TABLES[:3]
        }
        found["topic_list"] = {"all": self._listed()} if self._listed() else {}
        return found

    def every_topic(self):
        """(slug -> Topic of every topic kept, in slug order; fold -> slug of every keyword of one)"""
        topics = {slug: self.topic(slug) for slug in sorted(self._listed())}
        index = {}
        for fold, key in self.rows["folds"].items():
            if key:
                slug = self._expansion_of(key) or key
                if slug in topics:
                    index[fold] = slug
        return topics, index


class TopicLinks(Mapping):
    """fold -> the slug of its topic when that topic is kept, read from a TopicBook when first
    asked for (an update's topic_index: the links of the papers it makes pages of)"""

    def __init__(self, book):
        self._book = book
        self._found = {}
        self._asked = set()

    def want(self, folds):
        """Read the links of `folds` now, in one go"""
        new = [fold for fold in folds if fold not in self._asked]
        if new:
            self._found.update(self._book.links(new))
            self._asked.update(new)

    def __getitem__(self, fold):
        if fold not in self._asked:
            self.want((fold,))
        return self._found[fold]

    def __iter__(self):
        return iter(self._found)

    def __len__(self):
        return len(self._found)


def want_links(index, keywords):
    """Read the links of the keywords' folds at once where links are read on demand (TopicLinks)"""
    if isinstance(index, TopicLinks):
        index.want({keyword.casefold() for keyword in keywords})


def make_topics(papers, min_papers=TOPIC_MIN_PAPERS):
    """(slug -> Topic, casefolded keyword -> slug) from (paper key, keywords) pairs: a TopicBook
    that every paper is added to; only topics of `min_papers` papers or more, in slug order"""
    book = TopicBook(min_papers=min_papers)
    book.fill(papers)
    return book.every_topic()
