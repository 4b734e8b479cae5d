#!/usr/bin/env python3
"""vecsearch in front of Qdrant: load the points of `vecsearch export --qdrant`,
answer queries embedded by `vecsearch embed`, and measure the two evaluations
of `vecsearch eval` through Qdrant.

Targets (the same code for all three):
  --url URL        a Qdrant server or cluster (qdrant-client over HTTP/gRPC)
  --path DIR       qdrant-client's local mode, persisted in DIR (":memory:" for none)
  --edge DIR       qdrant-edge-py: Qdrant's shard engine as a library, in DIR

    vecsearch index docs/ --index docs.vsx
    vecsearch export --index docs.vsx --qdrant docs.jsonl
    python3 python/vecsearch_qdrant.py load docs.jsonl --url http://localhost:6333 --shards 6 --replication 2
    python3 python/vecsearch_qdrant.py search "ベクトルデータベース" --url http://localhost:6333 --json

Hits print in the JSON contract of `vecsearch search --json` (rank, score, doc,
line_start, line_end, lang, text, byte_start, byte_end, passage; query_id with
--queries), and the exit status is vecsearch's: 0 hits, 1 none, 2 error.
"""
import argparse
import warnings
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

SPARSE = "terms"
DENSE = "dense"
FORMAT = "vecsearch-qdrant-points/1"


class Refusal(Exception):
    """A one-line error for the user (exit 2)."""


# ---------------------------------------------------------------- the points file


def read_meta(points):
    """The description `export --qdrant` writes next to the points."""
    path = points + ".meta.json"
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise Refusal(f"{path}: missing (write the points with `vecsearch export --qdrant {points}`)")
    except ValueError as e:
        raise Refusal(f"{path}: not JSON ({e})")
    if meta.get("format") != FORMAT:
        raise Refusal(f"{path}: format {meta.get('format')!r}, this loader reads {FORMAT!r}")
    return meta


def iter_points(points):
    with open(points, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                p = json.loads(line)
                p["id"], p["vector"][SPARSE], p["payload"]["doc"]
            except (ValueError, KeyError, TypeError) as e:
                raise Refusal(f"{points}:{n}: not a vecsearch point ({e})")
            yield p


def batches(items, size):
    batch = []
    for x in items:
        batch.append(x)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def with_retries(what, fn, attempts=5, delay=0.5):
    """Runs fn, retrying failures with exponential backoff (a cluster's node
    may restart or a shard move mid-upload)."""
    for i in range(attempts):
        try:
            return fn()
        except Exception as e:  # the client's errors have no common base
            if i == attempts - 1:
                raise Refusal(f"{what}: failed {attempts} times, last: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            time.sleep(delay * 2**i)


# ---------------------------------------------------------------- language tags (as vecsearch's lang_matches)


def canonical(tag):
    t = tag.strip().replace("_", "-").lower()
    if t in ("zh-cn", "zh-sg", "zh-hans-cn"):
        return "zh-hans"
    if t in ("zh-tw", "zh-hk", "zh-mo", "zh-hant-tw"):
        return "zh-hant"
    if t == "ja-jp":
        return "ja"
    if t.startswith("zh-"):
        return t
    kept = []
    for i, part in enumerate(t.split("-")):
        region = (len(part) == 2 and part.isascii() and part.isalpha()) or (
            len(part) == 3 and part.isascii() and part.isdigit())
        if i > 0 and region:
            break
        kept.append(part)
    return "-".join(kept)


def lang_matches(flt, lang):
    f, l = canonical(flt), canonical(lang)
    return l == f or (len(l) > len(f) and l.startswith(f) and l[len(f)] == "-")


# Tags vecsearch gives passages, for a --lang filter when no description is at hand.
KNOWN_LANGS = ["ja", "zh-Hans", "zh-Hant", "ko", "en", "fr", "de", "es", "it", "pt", "nl", "ru", "und"]


# ---------------------------------------------------------------- targets

# A filter is {"must": [...], "should": [...], "must_not": [...]} of
# ("lang", [tags]) or ("ids", [point ids]) or ("doc", path); each target
# turns it into its own classes.


class ClientTarget:
    """qdrant-client: a server or cluster by URL, or local mode."""

    def __init__(self, url=None, path=None, api_key=None, collection="vecsearch"):
        from qdrant_client import QdrantClient, models

        self.m = models
        self.name = collection
        if url:
            # An unreachable server fails on the first request, in one line.
            warnings.filterwarnings("ignore", message="Failed to obtain server version")
            self.client = QdrantClient(url=url, api_key=api_key, timeout=60)
        elif path == ":memory:":
            self.client = QdrantClient(location=":memory:")
        else:
            self.client = QdrantClient(path=path)

    def create(self, meta, shards=None, replication=None, recreate=False):
        m = self.m
        if self.client.collection_exists(self.name):
            if not recreate:
                return False
            self.client.delete_collection(self.name)
        dense = {}
        if meta.get("dense_dim"):
            dense = {DENSE: m.VectorParams(size=meta["dense_dim"], distance=m.Distance.COSINE)}
        modifier = m.Modifier.IDF if meta["idf"] == "engine" else None
        extra = {}
        if shards:
            extra["shard_number"] = shards
        if replication:
            extra["replication_factor"] = replication
        self.client.create_collection(
            self.name,
            vectors_config=dense,
            sparse_vectors_config={SPARSE: m.SparseVectorParams(modifier=modifier)},
            **extra,
        )
        with warnings.catch_warnings():
            # Local mode says its payload indexes do nothing; a server uses them.
            warnings.simplefilter("ignore")
            for field in ("lang", "doc"):
                self.client.create_payload_index(self.name, field, m.PayloadSchemaType.KEYWORD)
        return True

    def upsert(self, points):
        m = self.m
        structs = []
        for p in points:
            v = p["vector"]
            vec = {SPARSE: m.SparseVector(indices=v[SPARSE]["indices"], values=v[SPARSE]["values"])}
            if DENSE in v:
                vec[DENSE] = v[DENSE]
            structs.append(m.PointStruct(id=p["id"], vector=vec, payload=p["payload"]))
        self.client.upsert(self.name, points=structs, wait=True)

    def delete(self, ids):
        self.client.delete(self.name, points_selector=self.m.PointIdsList(points=list(ids)), wait=True)

    def delete_doc(self, doc):
        flt = self._filter({"must": [("doc", doc)]})
        self.client.delete(self.name, points_selector=self.m.FilterSelector(filter=flt), wait=True)

    def _filter(self, f):
        if not f:
            return None
        m = self.m

        def cond(c):
            kind, value = c
            if kind == "lang":
                return m.FieldCondition(key="lang", match=m.MatchAny(any=list(value)))
            if kind == "doc":
                return m.FieldCondition(key="doc", match=m.MatchValue(value=value))
            return m.HasIdCondition(has_id=list(value))

        return m.Filter(**{k: [cond(c) for c in v] for k, v in f.items() if v})

    def query(self, indices, values, limit, flt=None):
        res = self.client.query_points(
            self.name,
            query=self.m.SparseVector(indices=indices, values=values),
            using=SPARSE,
            limit=limit,
            query_filter=self._filter(flt),
            with_payload=True,
        )
        return [(p.id, p.score, p.payload) for p in res.points]

    def vector(self, point_id):
        (rec,) = self.client.retrieve(self.name, ids=[point_id], with_vectors=[SPARSE])
        v = rec.vector[SPARSE]
        return list(v.indices), list(v.values)

    def ids_of_doc(self, doc):
        ids, offset = [], None
        while True:
            recs, offset = self.client.scroll(
                self.name, scroll_filter=self._filter({"must": [("doc", doc)]}),
                limit=1024, offset=offset, with_payload=False, with_vectors=False)
            ids.extend(r.id for r in recs)
            if offset is None:
                return ids

    def count(self):
        return self.client.count(self.name, exact=True).count

    def close(self):
        self.client.close()


class EdgeTarget:
    """qdrant-edge-py: one Qdrant shard in-process, stored in a folder."""

    def __init__(self, path):
        import qdrant_edge as e

        self.e = e
        self.path = path
        self.shard = None
        if os.path.isdir(path) and os.listdir(path):
            self.shard = e.EdgeShard.load(path)

    def create(self, meta, shards=None, replication=None, recreate=False):
        e = self.e
        if self.shard is not None:
            if not recreate:
                return False
            self.shard.close()
            self.shard = None
            shutil.rmtree(self.path)
        dense = {}
        if meta.get("dense_dim"):
            dense = {DENSE: e.EdgeVectorParams(size=meta["dense_dim"], distance=e.Distance.Cosine)}
        modifier = e.Modifier.Idf if meta["idf"] == "engine" else None
        config = e.EdgeConfig(
            vectors=dense or None,
            sparse_vectors={SPARSE: e.EdgeSparseVectorParams(modifier=modifier)},
        )
        self.shard = e.EdgeShard.create(self.path, config)
        for field in ("lang", "doc"):
            self.shard.update(e.UpdateOperation.create_field_index(field, e.PayloadSchemaType.Keyword))
        return True

    def _need(self):
        if self.shard is None:
            raise Refusal(f"{self.path}: no shard there (load points first)")
        return self.shard

    def upsert(self, points):
        e = self.e
        pts = []
        for p in points:
            v = p["vector"]
            vec = {SPARSE: e.SparseVector(v[SPARSE]["indices"], v[SPARSE]["values"])}
            if DENSE in v:
                vec[DENSE] = v[DENSE]
            pts.append(e.Point(p["id"], vec, p["payload"]))
        self._need().update(e.UpdateOperation.upsert_points(pts))

    def delete(self, ids):
        self._need().update(self.e.UpdateOperation.delete_points(list(ids)))

    def delete_doc(self, doc):
        flt = self._filter({"must": [("doc", doc)]})
        self._need().update(self.e.UpdateOperation.delete_points_by_filter(flt))

    def _filter(self, f):
        if not f:
            return None
        e = self.e

        def cond(c):
            kind, value = c
            if kind == "lang":
                return e.FieldCondition("lang", match=e.MatchAny(list(value)))
            if kind == "doc":
                return e.FieldCondition("doc", match=e.MatchValue(value))
            return e.HasIdCondition(set(value))

        return e.Filter(**{k: [cond(c) for c in v] for k, v in f.items() if v})

    def query(self, indices, values, limit, flt=None):
        e = self.e
        req = e.QueryRequest(
            limit=limit,
            query=e.Query.Nearest(e.SparseVector(indices, values), using=SPARSE),
            filter=self._filter(flt),
            with_payload=True,
        )
        return [(p.id, p.score, p.payload) for p in self._need().query(req)]

    def vector(self, point_id):
        (rec,) = self._need().retrieve([point_id], with_payload=False, with_vector=[SPARSE])
        v = rec.vector[SPARSE]
        return list(v.indices), list(v.values)

    def ids_of_doc(self, doc):
        e = self.e
        ids, offset = [], None
        while True:
            recs, offset = self._need().scroll(
                e.ScrollRequest(limit=1024, offset=offset, filter=self._filter({"must": [("doc", doc)]}),
                                with_payload=False, with_vector=False))
            ids.extend(r.id for r in recs)
            if offset is None:
                return ids

    def count(self):
        return self._need().count(self.e.CountRequest(exact=True))

    def close(self):
        if self.shard is not None:
            self.shard.flush()
            self.shard.close()


def open_target(a):
    given = [x for x in (a.url, a.path, a.edge) if x]
    if len(given) != 1:
        raise Refusal("say where Qdrant is: one of --url URL, --path DIR (or :memory:), --edge DIR")
    if a.edge:
        return EdgeTarget(a.edge)
    return ClientTarget(url=a.url, path=a.path, api_key=a.api_key or os.environ.get("QDRANT_API_KEY"),
                        collection=a.collection)


# ---------------------------------------------------------------- load


def load(target, points, batch=256, shards=None, replication=None, recreate=False, replace=False, quiet=False):
    """Creates the collection (if new) and upserts every point, in batches,
    with retries. With replace, the points of each document in the file that
    the file no longer has are deleted (re-indexing changed files)."""
    meta = read_meta(points)
    target.create(meta, shards=shards, replication=replication, recreate=recreate)
    by_doc = {}
    n = 0
    for b in batches(iter_points(points), batch):
        with_retries(f"upserting points {n + 1}-{n + len(b)}", lambda b=b: target.upsert(b))
        n += len(b)
        if replace:
            for p in b:
                by_doc.setdefault(p["payload"]["doc"], set()).add(p["id"])
        if not quiet and n // (batch * 64) != (n - len(b)) // (batch * 64):
            print(f"loaded {n} points", file=sys.stderr)
    gone = 0
    for doc, keep in by_doc.items():
        stale = [i for i in target.ids_of_doc(doc) if i not in keep]
        if stale:
            with_retries(f"deleting {len(stale)} points of {doc}", lambda s=stale: target.delete(s))
            gone += len(stale)
    if not quiet:
        print(f"loaded {n} points" + (f", deleted {gone} stale ones" if replace else ""), file=sys.stderr)
    return n


# ---------------------------------------------------------------- queries


def embed(vecsearch, queries, index=None, extra=()):
    """Each query's sparse vector from `vecsearch embed --json`."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        for q in queries:
            f.write(q.replace("\n", " ") + "\n")
        qfile = f.name
    try:
        cmd = [vecsearch, "embed", "--json", "--sparse-only", "--queries", qfile]
        if index:
            cmd += ["--index", index]
        cmd += list(extra)
        try:
            run = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            raise Refusal(f"cannot run {vecsearch!r} ({e.strerror}): set VECSEARCH or pass --vecsearch BIN")
    finally:
        os.unlink(qfile)
    if run.returncode != 0:
        raise Refusal((run.stderr.strip().splitlines() or ["vecsearch embed failed"])[-1])
    out = [json.loads(l) for l in run.stdout.splitlines() if l.strip()]
    return [(o["sparse"]["indices"], o["sparse"]["values"]) for o in out]


def lang_filter(tag, langs):
    tags = [t for t in (langs or KNOWN_LANGS) if lang_matches(tag, t)]
    return {"must": [("lang", tags or [tag])]}


def search(target, vectors, k=10, lang=None, langs=None):
    """Hits for each query vector, as vecsearch prints them."""
    flt = lang_filter(lang, langs) if lang else None
    out = []
    for indices, values in vectors:
        hits = []
        if indices:
            for pid, score, payload in target.query(indices, values, k, flt):
                if score <= 0:
                    continue
                hits.append(hit(len(hits) + 1, score, payload))
        out.append(hits)
    return out


def hit(rank, score, p):
    return {
        "rank": rank, "score": score, "doc": p["doc"], "line_start": p["line_start"],
        "line_end": p["line_end"], "lang": p["lang"], "text": p["text"],
        "byte_start": p["byte_start"], "byte_end": p["byte_end"], "passage": p["passage"],
    }


# ---------------------------------------------------------------- evaluation (as `vecsearch eval`)


class Passages:
    """The passage table of a points file: documents, line ranges, languages."""

    def __init__(self, points):
        self.by_doc = {}
        self.lang = {}
        self.point = {}
        self.terms = {}
        for p in iter_points(points):
            pl = p["payload"]
            self.by_doc.setdefault(pl["doc"], []).append((pl["passage"], pl["line_start"], pl["line_end"]))
            self.lang[pl["passage"]] = pl["lang"]
            self.point[pl["passage"]] = p["id"]
            self.terms[pl["passage"]] = pl["terms"]
        for rows in self.by_doc.values():
            rows.sort()
        self.langs = sorted(set(self.lang.values()))

    def find_doc(self, path):
        if path in self.by_doc:
            return path
        want = path[2:] if path.startswith("./") else path
        hits = [d for d in self.by_doc if d.replace("\\", "/") == want or d.replace("\\", "/").endswith("/" + want)]
        return hits[0] if len(hits) == 1 else None

    def overlapping(self, doc, start, end):
        return [i for i, s, e in self.by_doc[doc] if s <= end and start <= e]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def eval_search(target, table, queries, rows, vectors):
    answers = {}
    for i, r in enumerate(rows):
        doc = table.find_doc(r["file"])
        if doc is None:
            continue
        ps = table.overlapping(doc, r["line_start"], r.get("line_end") or r["line_start"])
        if ps:
            answers.setdefault(r["id"], []).append((i, r["lang"], ps))
    results = search(target, vectors, k=10)
    acc = {}
    unanswerable = 0
    for q, hits in zip(queries, results):
        relevant = [a for rid in q["relevant"] for a in answers.get(rid, [])]
        if not relevant:
            unanswerable += 1
            continue
        row_of = {p: (row, lang) for row, lang, ps in relevant for p in ps}
        seen, rr, dcg, covered = set(), 0.0, 0.0, set()
        for i, h in enumerate(hits):
            got = row_of.get(h["passage"])
            if got is None:
                continue
            row, lang = got
            if rr == 0.0:
                rr = 1.0 / (i + 1)
            if row not in seen:
                seen.add(row)
                dcg += 1.0 / _log2(i + 2)
            if i < 5:
                covered.add(lang)
        ideal = sum(1.0 / _log2(i + 2) for i in range(min(len(relevant), 10)))
        langs = {r[1] for r in relevant}
        for key in (q.get("lang") or "und", "all"):
            s = acc.setdefault(key, [0, 0.0, 0.0, 0, 0])
            s[0] += 1
            s[1] += rr
            s[2] += dcg / ideal
            s[3] += len(covered)
            s[4] += len(langs)

    def score(lang, s):
        n, rr, nd, cov, ls = s
        return {"lang": lang, "queries": n, "mrr10": rr / n if n else 0.0, "ndcg10": nd / n if n else 0.0,
                "langs_at5": cov / ls if ls else 0.0}

    allv = acc.pop("all", [0, 0.0, 0.0, 0, 0])
    return {"groups": [score(l, v) for l, v in sorted(acc.items())], "all": score("all", allv),
            "unanswerable": unanswerable}


def _log2(x):
    import math
    return math.log2(x)


# The length priors (src/engine/search.rs and similar.rs): the points carry
# search's (terms / 32)^0.2; `similar` compares the two passages' lengths,
# (min/max)^0.25, which no per-point value can hold, so it is applied here
# to a deeper pool, as the local index re-scores its candidates.
SEARCH_PRIOR, PRIOR_TERMS, SIMILAR_PRIOR, SIMILAR_POOL = 0.2, 32.0, 0.25, 50


def similar(target, indices, values, own_terms, flt, k=10):
    """The passages most like one (its own vector as the query), re-ranked
    with `similar`'s length prior: (id, score, payload), best first."""
    pool = [h for h in target.query(indices, values, SIMILAR_POOL, flt) if h[1] > 0]
    def rescored(h):
        n = max(h[2]["terms"], 1)
        prior = (min(n, own_terms) / max(n, own_terms, 1)) ** SIMILAR_PRIOR
        return h[1] / (n / PRIOR_TERMS) ** SEARCH_PRIOR * prior
    pool = [(h[0], rescored(h), h[2]) for h in pool]
    pool.sort(key=lambda h: (-h[1], h[2]["passage"]))
    return pool[:k]


def eval_crosslang(target, table, rows):
    unmatched = 0
    resolved = []  # (row, passage, doc, span)
    for r in rows:
        doc = table.find_doc(r["file"])
        if doc is None:
            unmatched += 1
            continue
        span = table.overlapping(doc, r["line_start"], r.get("line_end") or r["line_start"])
        first = table.overlapping(doc, r["line_start"], r["line_start"])
        if not first:
            unmatched += 1
            continue
        resolved.append((r, first[0], doc, span))
    labeled = {}
    for r, _, _, span in resolved:
        for p in span:
            labeled[p] = r["lang"]
    by_id = {}
    for i, (r, _, _, _) in enumerate(resolved):
        by_id.setdefault(r["id"], []).append(i)
    jobs = []
    for i, (r, p, _, _) in enumerate(resolved):
        for j in by_id[r["id"]]:
            t = resolved[j]
            if t[0]["lang"] != r["lang"] and t[1] != p:
                jobs.append((r["lang"], t[0]["lang"], i, j))
    acc = {}
    for sl, tl, src, want in jobs:
        own = resolved[src][1]
        ok_tags = [t for t in table.langs if lang_matches(tl, t) or lang_matches(t, tl)]
        # A labeled passage counts as its label's language, whatever its tag.
        same = [table.point[p] for p, l in labeled.items() if l == tl]
        other = [table.point[p] for p, l in labeled.items() if l != tl]
        flt = {"should": [("lang", ok_tags or [tl]), ("ids", same)],
               "must_not": [("ids", other + [table.point[own]])]}
        indices, values = target.vector(table.point[own])
        _, wp, wdoc, wspan = resolved[want]
        rank = None
        hits = similar(target, indices, values, table.terms[own], flt)
        for i, (_, _, payload) in enumerate(hits):
            if payload["doc"] == wdoc and payload["passage"] in wspan:
                rank = i + 1
                break
        s = acc.setdefault((sl, tl), [0, 0, 0.0])
        s[0] += 1
        s[1] += rank == 1
        s[2] += 1.0 / rank if rank else 0.0

    def score(s, t, v):
        n, top1, rr = v
        return {"source": s, "target": t, "queries": n, "top1": top1 / n if n else 0.0, "mrr10": rr / n if n else 0.0}

    total = [sum(v[0] for v in acc.values()), sum(v[1] for v in acc.values()), sum(v[2] for v in acc.values())]
    return {"pairs": [score(s, t, v) for (s, t), v in sorted(acc.items())], "all": score("all", "all", total),
            "unmatched_rows": unmatched}


# ---------------------------------------------------------------- command line


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def target_flags(p):
        p.add_argument("--url", help="Qdrant server or cluster, e.g. http://localhost:6333")
        p.add_argument("--path", help="qdrant-client local mode folder, or :memory:")
        p.add_argument("--edge", help="qdrant-edge-py shard folder")
        p.add_argument("--api-key", help="for --url (default: $QDRANT_API_KEY)")
        p.add_argument("--collection", default="vecsearch")

    def load_flags(p, required):
        p.add_argument("--points" if not required else "points", metavar="POINTS.jsonl",
                       help="points from `vecsearch export --qdrant`" + ("" if required else ", loaded first"))
        p.add_argument("--batch", type=int, default=256, help="points per upsert")
        p.add_argument("--shards", type=int, help="shard_number of a new collection (cluster)")
        p.add_argument("--replication", type=int, help="replication_factor of a new collection (cluster)")
        p.add_argument("--recreate", action="store_true", help="drop the collection first if it exists")

    p = sub.add_parser("load", help="create the collection and upsert the points")
    load_flags(p, True)
    p.add_argument("--replace", action="store_true",
                   help="delete the points of each document in the file that the file no longer has")
    p.add_argument("-q", "--quiet", action="store_true")
    target_flags(p)

    p = sub.add_parser("delete", help="delete the points of removed documents")
    p.add_argument("docs", nargs="+", metavar="DOC", help="the document path as the payload's doc has it")
    target_flags(p)

    p = sub.add_parser("search", help="answer queries embedded by `vecsearch embed`")
    p.add_argument("query", nargs="?")
    p.add_argument("--queries", help="one query per line")
    p.add_argument("--index", help="embed with this index's idf (as `vecsearch search`)")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--lang")
    p.add_argument("--json", action="store_true")
    p.add_argument("--vecsearch", default=os.environ.get("VECSEARCH", "vecsearch"), help="the vecsearch binary")
    load_flags(p, False)
    target_flags(p)

    for name in ("eval-search", "eval-crosslang"):
        p = sub.add_parser(name, help=f"`vecsearch {name.replace('-', ' ')}` through Qdrant")
        if name == "eval-search":
            p.add_argument("--queries", required=True)
            p.add_argument("--index", help="embed queries with this index's idf")
            p.add_argument("--vecsearch", default=os.environ.get("VECSEARCH", "vecsearch"))
        p.add_argument("--aligned", required=True)
        p.add_argument("--json", action="store_true")
        load_flags(p, False)
        target_flags(p)
        p.set_defaults(required_points=True)

    a = ap.parse_args(argv)
    try:
        return run(a)
    except Refusal as e:
        print(f"vecsearch_qdrant: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"vecsearch_qdrant: error: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # the client's and the engine's errors: one line, exit 2
        first = (str(e).strip().splitlines() or [""])[0]
        print(f"vecsearch_qdrant: error: {type(e).__name__}: {first}", file=sys.stderr)
        return 2


def run(a):
    if getattr(a, "required_points", False) and not getattr(a, "points", None):
        raise Refusal("--points POINTS.jsonl is needed: the evaluation reads the passage table from it")
    target = open_target(a)
    try:
        if a.cmd == "load":
            load(target, a.points, a.batch, a.shards, a.replication, a.recreate, a.replace, a.quiet)
            return 0
        if a.cmd == "delete":
            for doc in a.docs:
                with_retries(f"deleting the points of {doc}", lambda d=doc: target.delete_doc(d))
            return 0
        if a.points:
            load(target, a.points, a.batch, a.shards, a.replication, a.recreate, quiet=True)
        if a.cmd == "search":
            if (a.query is None) == (a.queries is None):
                raise Refusal("give a QUERY or --queries FILE")
            if a.k < 1:
                raise Refusal("-k must be at least 1")
            queries = [a.query] if a.query is not None else [l.rstrip("\n") for l in open(a.queries, encoding="utf-8")]
            queries = [q for q in queries if q.strip()] if a.queries else queries
            langs = read_meta(a.points)["langs"] if a.points else None
            results = search(target, embed(a.vecsearch, queries, a.index), a.k, a.lang, langs)
            for qi, hits in enumerate(results):
                for h in hits:
                    if a.queries:
                        h["query_id"] = qi
                    if a.json:
                        print(json.dumps(h, ensure_ascii=False))
                    else:
                        print(f"{h['rank']:>3}. {h['score']:.3f}  {h['doc']}:{h['line_start']}-{h['line_end']} [{h['lang']}]  {h['text'][:100]}")
            return 0 if any(results) else 1
        table = Passages(a.points)
        rows = read_jsonl(a.aligned)
        if a.cmd == "eval-search":
            queries = read_jsonl(a.queries)
            report = eval_search(target, table, queries, rows, embed(a.vecsearch, [q["query"] for q in queries], a.index))
            if a.json:
                print(json.dumps(report))
            else:
                for g in report["groups"] + [report["all"]]:
                    print(f"{g['lang']:>8} {g['queries']:>4}  MRR@10 {g['mrr10']:.3f}  nDCG@10 {g['ndcg10']:.3f}  langs@5 {g['langs_at5']:.3f}")
        else:
            report = eval_crosslang(target, table, rows)
            if a.json:
                print(json.dumps(report))
            else:
                for s in report["pairs"] + [report["all"]]:
                    print(f"{s['source']:>8} -> {s['target']:<8} {s['queries']:>4}  top-1 {s['top1']:.3f}  MRR@10 {s['mrr10']:.3f}")
        return 0
    finally:
        target.close()


if __name__ == "__main__":
    sys.exit(main())
