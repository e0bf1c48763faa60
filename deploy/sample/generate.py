#!/usr/bin/env python3
"""Synthetic sample data for the local data space (deploy/localnet.sh, deploy/quickstart.sh).

Writes, into --out:
  bureau_credit_scores.csv   the credit bureau's table   (--rows rows)
  utility_payments.csv       the utility's table         (--rows rows)
  bank_customers.csv         the bank's customer list    (--bank-rows rows): its own features
                             and a 0/1 label `defaulted`
  manifest.json              the parameters, the files' SHA-256, and what the scenario must find:
                             the intersection sizes, the statistics over the bank's customers
                             found at the bureau (count, sums, means, histogram), the WOE/IV of
                             credit_score against the bank's label, and the AUCs of plaintext
                             logistic regressions (bank features alone, bank + bureau)

Every person is identified by `person_id` ("P" + 9 digits). A fraction --overlap of the bank's
customers is drawn from the bureau's people and, independently, the same fraction from the
utility's; the rest are people neither provider knows. The bank's label depends on its own
features a little and on the person's credit quality (the bureau's score, for the people the
bureau knows) a lot, so a model on bank + bureau features beats one on bank features alone.
Output is a pure function of the arguments: the same arguments give byte-identical files on any
machine (Python's own random.Random with an explicit seed, no hash-ordered iteration, fixed
formatting, LF endings).

  generate.py --rows 1000 --seed 42 --out deploy/sample     # the committed sample (defaults)
  generate.py --rows 1000000 --seed 7 --out /tmp/big        # a larger data space
  generate.py --check deploy/sample                          # regenerate from its manifest, compare
  generate.py --sqlite utility_payments.csv utility.db       # a SQLite copy of a generated CSV

Python 3 standard library only.
"""

import argparse
import csv
import hashlib
import io
import json
import math
import operator
import os
import random
import sqlite3
import sys
import tempfile
from decimal import ROUND_HALF_EVEN, Decimal

ID_SPACE = 10**9
REGIONS = ["hangzhou", "ningbo", "wenzhou", "shaoxing", "jiaxing", "huzhou", "jinhua", "taizhou"]
SEGMENTS = [("retail", 70), ("sme_owner", 20), ("premier", 10)]
# Histogram of credit_score over the matched rows: (-inf, 580], (580, 670], (670, 740], (740, inf).
SCORE_BOUNDS = [580, 670, 740]
# WOE/IV of credit_score against the bank's label: the provider's quantile buckets.
WOE_QUANTILES = 5
# Median annual income per segment, thousand CNY.
SEGMENT_INCOME_K = {"retail": 120, "sme_owner": 260, "premier": 650}
# Confidential SQL (tds run enclave-sql, deploy/sample/enclave_join.sql): the bank's customers
# known to both providers, by the bureau's score band: (-inf, 670] "le670", (670, inf) "gt670".
ENCLAVE_SQL_FILE = "enclave_join.sql"
ENCLAVE_SCORE_BAND = 670
ENCLAVE_COLUMNS = ["score_band", "customers", "bank_defaults", "bureau_defaults", "in_arrears",
                   "arrears_fen"]
# The joint model (tds run lr-train): the bank's features and the bureau's columns.
LR_BANK_FEATURES = ["income_k", "tenure_months"]
LR_PROVIDER_COLUMNS = ["credit_score", "default_flag_12m"]

BUREAU_FILE = "bureau_credit_scores.csv"
UTILITY_FILE = "utility_payments.csv"
BANK_FILE = "bank_customers.csv"
MANIFEST_FILE = "manifest.json"

BUREAU_COLUMNS = ["person_id", "credit_score", "default_flag_12m", "inquiries_6m",
                  "open_accounts", "utilization_pct"]
UTILITY_COLUMNS = ["person_id", "region", "months_on_time", "late_payments_12m",
                   "arrears_amount", "account_age_months"]
BANK_COLUMNS = ["person_id", "segment", "income_k", "tenure_months", "defaulted"]


def person_id(n):
    return "P%09d" % n


def clamp(v, lo, hi):
    return max(lo, min(hi, v))


def bureau_row(rng, pid):
    score = clamp(int(rng.gauss(680, 75)), 300, 850)
    # Lower scores default more often: about 25% at 450, 1% at 800.
    p_default = clamp(0.25 - (score - 450) * 0.24 / 350, 0.01, 0.4)
    default = 1 if rng.random() < p_default else 0
    inquiries = clamp(int(rng.expovariate(0.6) + (2 if score < 600 else 0)), 0, 20)
    accounts = clamp(int(rng.gauss(4, 2)), 0, 25)
    utilization = clamp(int(rng.gauss(95 - score / 10, 15)), 0, 100)
    return [pid, score, default, inquiries, accounts, utilization]


def utility_row(rng, pid):
    age = rng.randint(1, 180)
    late = clamp(int(rng.expovariate(1.2)), 0, 12)
    on_time = clamp(min(24, age) - late - rng.randint(0, 1), 0, 24)
    arrears = 0 if late == 0 else rng.randint(1, 60) * 1000 * late  # fen
    return [pid, rng.choice(REGIONS), on_time, late, arrears, age]


def bank_row(rng, pid):
    r = rng.randrange(100)
    for segment, weight in SEGMENTS:
        if r < weight:
            return [pid, segment]
        r -= weight
    raise AssertionError("segment weights must sum to 100")


def csv_bytes(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode("utf-8")


def mean_text(total, count):
    """Exact decimal mean rounded half-even to 6 places, as the gateway reports it."""
    q = Decimal(total) / Decimal(count)
    return str(q.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def add_bank_label(rng, row, bureau):
    """Appends the bank's income_k, tenure_months and label `defaulted` to ROW ([pid, segment]).

    `bureau` is the person's bureau row, or None. The log-odds of a default fall with income and
    tenure (weakly: what the bank sees) and with credit quality (strongly): the bureau's score
    and its 12-month default flag where the bureau knows the person, an unobserved draw from the
    same distribution otherwise.
    """
    income = clamp(int(rng.lognormvariate(math.log(SEGMENT_INCOME_K[row[1]]), 0.6)), 12, 5000)
    tenure = rng.randint(1, 240)
    if bureau is not None:
        quality, flag = (bureau[1] - 680) / 75, bureau[2]
    else:
        quality, flag = rng.gauss(0, 1), 0
    z = (-2.3 - 0.7 * math.log(income / 150) - 0.005 * (tenure - 120) - 0.9 * quality +
         1.0 * flag)
    defaulted = 1 if rng.random() < 1 / (1 + math.exp(-z)) else 0
    return row + [income, tenure, defaulted]


def quantile_bounds(values, q):
    """The provider's q-quantile bounds (compute/mpc: the values at ranks ceil(i n / q))."""
    s = sorted(values)
    return [s[max((i * len(s) + q - 1) // q, 1) - 1] for i in range(1, q)]


def bucket_of(value, bounds):
    """Bucket i holds bounds[i-1] < value <= bounds[i], as the gateway's histograms."""
    i = 0
    while i < len(bounds) and value > bounds[i]:
        i += 1
    return i


def woe_iv(rows, events):
    """IV over buckets with `rows` rows and `events` label-1 rows each (compute/mpc: 0.5 added
    to an empty side of a bucket); None without events or without non-events."""
    total_e, total_n = sum(events), sum(rows) - sum(events)
    if total_e == 0 or total_n == 0:
        return None
    iv = 0.0
    for n, e in zip(rows, events):
        if n == 0:
            continue
        ne = n - e
        if e == 0 or ne == 0:
            e, ne = e + 0.5, ne + 0.5
        de, dn = e / total_e, ne / total_n
        iv += (de - dn) * math.log(de / dn)
    return iv


def auc(scores, labels):
    """Area under the ROC curve, ties counted half (Mann-Whitney U over average ranks)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    pos = sum(labels)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        return 0.5
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        rank_sum += (i + 1 + j) / 2 * sum(labels[order[k]] for k in range(i, j))
        i = j
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def solve(a, b):
    """x with a x = b (Gaussian elimination with partial pivoting; a small and regular)."""
    n = len(b)
    m = [row[:] + [v] for row, v in zip(a, b)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    x = [0.0] * n
    for c in reversed(range(n)):
        x[c] = (m[c][n] - sum(m[c][k] * x[k] for k in range(c + 1, n))) / m[c][c]
    return x


def plain_lr_auc(columns, labels, ridge=1.0, max_iterations=25):
    """In-sample AUC of a plaintext logistic regression: what a model on these columns can reach
    on these rows. Standardized columns, a small L2 penalty `ridge` on the weights (so that the
    fit is finite on few or separable rows: `localnet.sh up --rows 40`), Newton's method, column
    by column so that 10^5 rows take seconds."""
    n = len(labels)
    if sum(labels) in (0, n):
        return 0.5
    x = [[1.0] * n]
    for c in columns:
        mean = math.fsum(c) / n
        sd = math.sqrt(math.fsum((v - mean) ** 2 for v in c) / n) or 1.0
        x.append([(v - mean) / sd for v in c])
    k = len(x)
    w = [0.0] * k
    for _ in range(max_iterations):
        z = [0.0] * n
        for wj, xj in zip(w, x):
            z = list(map(lambda zi, xi, wj=wj: zi + wj * xi, z, xj))
        p = [1 / (1 + math.exp(-max(-40.0, min(40.0, zi)))) for zi in z]
        d = list(map(operator.sub, p, labels))
        v = [pi * (1 - pi) for pi in p]
        g = [math.fsum(map(operator.mul, d, xa)) + (ridge * w[a] if a else 0.0)
             for a, xa in enumerate(x)]
        h = [[0.0] * k for _ in range(k)]
        for a in range(k):
            va = list(map(operator.mul, v, x[a]))
            for b in range(a + 1):
                h[a][b] = h[b][a] = math.fsum(map(operator.mul, va, x[b]))
            if a:
                h[a][a] += ridge
        step = solve(h, g)
        w = [wi - si for wi, si in zip(w, step)]
        if max(abs(si) for si in step) < 1e-9:
            break
    return auc([math.fsum(wi * xi for wi, xi in zip(w, r)) for r in zip(*x)], labels)


def joint_stats_expected(at_bureau, bank):
    """count, credit_score's mean and WOE/IV (quantile buckets) against the bank's label over
    the bank's customers found at the bureau."""
    label = {r[0]: r[-1] for r in bank}
    scores = [r[1] for r in at_bureau]
    bounds = quantile_bounds(scores, WOE_QUANTILES) if scores else []
    rows = [0] * WOE_QUANTILES
    events = [0] * WOE_QUANTILES
    for r in at_bureau:
        i = bucket_of(r[1], bounds)
        rows[i] += 1
        events[i] += label[r[0]]
    iv = woe_iv(rows, events)
    return {
        "label": BANK_COLUMNS[-1],
        "count": len(at_bureau),
        "events": sum(events),
        "credit_score_mean": mean_text(sum(scores), len(scores)) if scores else None,
        "credit_score_woe_quantiles": WOE_QUANTILES,
        "credit_score_woe_bounds": [str(b) for b in bounds],
        "credit_score_woe_rows": rows,
        "credit_score_woe_events": events,
        "credit_score_iv": None if iv is None else "%.4f" % iv,
    }


def lr_expected(at_bureau, bank):
    """The joint model's columns, and the in-sample AUCs over the bank's customers found at the
    bureau of plaintext logistic regressions on the bank's features alone and on bank + bureau
    features. `auc_min`, halfway between them (rounded down to 0.01), is what the federated
    model must reach: a model that did not use the bureau's columns would fall short of it."""
    bank_by_id = {r[0]: r for r in bank}
    rows = [(bank_by_id[r[0]], r) for r in at_bureau]
    labels = [b[-1] for b, _ in rows]
    bank_cols = [[b[BANK_COLUMNS.index(c)] for b, _ in rows] for c in LR_BANK_FEATURES]
    bureau_cols = [[p[BUREAU_COLUMNS.index(c)] for _, p in rows] for c in LR_PROVIDER_COLUMNS]
    bank_only = plain_lr_auc(bank_cols, labels) if rows else 0.5
    joint = plain_lr_auc(bank_cols + bureau_cols, labels) if rows else 0.5
    return {
        "features": LR_BANK_FEATURES,
        "provider_columns": LR_PROVIDER_COLUMNS,
        "auc_bank_only": "%.3f" % bank_only,
        "auc_joint": "%.3f" % joint,
        "auc_min": "%.2f" % (math.floor((bank_only + joint) / 2 * 100) / 100),
    }


def enclave_sql_expected(bank, bureau, utility):
    """What ENCLAVE_SQL_FILE returns, computed here without SQL: over the bank's customers found
    at both providers, per score band (in band order, as its ORDER BY), the customers, the
    bank's defaults, the bureau's 12-month default flags, the customers with utility arrears
    and the arrears in fen. Bands without customers are absent, as in a GROUP BY."""
    at_bureau = {r[0]: r for r in bureau}
    at_utility = {r[0]: r for r in utility}
    bands = {}
    for b in bank:
        c, u = at_bureau.get(b[0]), at_utility.get(b[0])
        if c is None or u is None:
            continue
        band = ("le%d" if c[1] <= ENCLAVE_SCORE_BAND else "gt%d") % ENCLAVE_SCORE_BAND
        t = bands.setdefault(band, [0, 0, 0, 0, 0])
        for i, v in enumerate([1, b[-1], c[2], 1 if u[4] > 0 else 0, u[4]]):
            t[i] += v
    return {
        "sql": ENCLAVE_SQL_FILE,
        "columns": ENCLAVE_COLUMNS,
        "rows": [[band] + bands[band] for band in sorted(bands)],
    }


def generate(rows, bank_rows, overlap, seed):
    """Returns {file name: bytes} for the three tables and the manifest."""
    if rows < 1 or bank_rows < 1:
        raise ValueError("--rows and --bank-rows must be at least 1")
    if not 0.0 <= overlap <= 1.0:
        raise ValueError("--overlap must be within [0, 1]")
    matched = round(overlap * bank_rows)
    if matched > rows:
        raise ValueError("--overlap x --bank-rows (%d) exceeds --rows (%d)" % (matched, rows))
    rng = random.Random(seed)
    # People: `shared` are known to both providers (one province's population), the rest to one
    # provider only; strangers to neither. The bank's customers: k_both known to both providers,
    # matched - k_both to each provider alone, the rest strangers — so each intersection with
    # the bank has exactly `matched` people.
    shared = rows // 2
    k_both = max(matched // 2, 2 * matched - bank_rows)
    if k_both > shared or matched - k_both > rows - shared:
        raise ValueError("--overlap %s of %d bank rows needs more than %d provider rows"
                         % (overlap, bank_rows, rows))
    strangers = bank_rows - 2 * matched + k_both
    ids = [person_id(n) for n in rng.sample(range(ID_SPACE), 2 * rows - shared + strangers)]
    both_ids = ids[:shared]
    bureau_only = ids[shared:rows]
    utility_only = ids[rows:2 * rows - shared]
    stranger_ids = ids[2 * rows - shared:]
    bureau_ids = both_ids + bureau_only
    utility_ids = both_ids + utility_only
    bank_ids = sorted(rng.sample(both_ids, k_both) + rng.sample(bureau_only, matched - k_both) +
                      rng.sample(utility_only, matched - k_both) + stranger_ids)
    assert len(bank_ids) == bank_rows and len(set(bank_ids)) == bank_rows

    bureau = [bureau_row(rng, pid) for pid in sorted(bureau_ids)]
    utility = [utility_row(rng, pid) for pid in sorted(utility_ids)]
    bank = [bank_row(rng, pid) for pid in bank_ids]
    # The bank's features and label from a stream of their own: the stream above, and so every
    # provider table and figure derived from it, is what it was before the bank had them.
    bank_rng = random.Random("bank-label:%d" % seed)
    by_id = {r[0]: r for r in bureau}
    bank = [add_bank_label(bank_rng, r, by_id.get(r[0])) for r in bank]

    bank_lookup = set(bank_ids)
    at_bureau = [r for r in bureau if r[0] in bank_lookup]
    at_utility = [r for r in utility if r[0] in bank_lookup]
    scores = [r[1] for r in at_bureau]
    buckets = [0] * (len(SCORE_BOUNDS) + 1)
    for s in scores:
        i = 0
        while i < len(SCORE_BOUNDS) and s > SCORE_BOUNDS[i]:
            i += 1
        buckets[i] += 1
    n = len(at_bureau)
    expected = {
        "bank_x_bureau": n,
        "bank_x_utility": len(at_utility),
        # Statistics over the bank's customers found at the bureau.
        "bureau_stats": {
            "count": n,
            "credit_score_sum": str(sum(scores)),
            "credit_score_mean": mean_text(sum(scores), n) if n else None,
            "default_flag_12m_sum": str(sum(r[2] for r in at_bureau)),
            "credit_score_histogram_bounds": [str(b) for b in SCORE_BOUNDS],
            "credit_score_histogram": buckets,
        },
        # tds run joint-stats --label defaulted over the same customers, and the joint model.
        "joint_stats": joint_stats_expected(at_bureau, bank),
        "lr": lr_expected(at_bureau, bank),
        # tds run enclave-sql with ENCLAVE_SQL_FILE over the bank's table and both providers'.
        "enclave_sql": enclave_sql_expected(bank, bureau, utility),
        "utility_stats": {
            "count": len(at_utility),
            "arrears_amount_sum": str(sum(r[4] for r in at_utility)),
        },
    }
    files = {
        BUREAU_FILE: csv_bytes(BUREAU_COLUMNS, bureau),
        UTILITY_FILE: csv_bytes(UTILITY_COLUMNS, utility),
        BANK_FILE: csv_bytes(BANK_COLUMNS, bank),
    }
    manifest = {
        "generator": "deploy/sample/generate.py",
        "parameters": {"rows": rows, "bank_rows": bank_rows, "overlap": overlap, "seed": seed},
        "files": {name: {"rows": len(data.splitlines()) - 1,
                         "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in sorted(files.items())},
        "expected": expected,
    }
    files[MANIFEST_FILE] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


def write_files(out, files):
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(files.items()):
        path = os.path.join(out, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)


def check(directory):
    """Regenerates from DIR/manifest.json's parameters; 0 when every file is byte-identical."""
    with open(os.path.join(directory, MANIFEST_FILE), encoding="utf-8") as f:
        params = json.load(f)["parameters"]
    files = generate(params["rows"], params["bank_rows"], params["overlap"], params["seed"])
    bad = []
    for name, data in sorted(files.items()):
        try:
            with open(os.path.join(directory, name), "rb") as f:
                if f.read() != data:
                    bad.append(name + " differs")
        except FileNotFoundError:
            bad.append(name + " is missing")
    for b in bad:
        print("generate.py --check: %s/%s from %s" % (directory, b, params), file=sys.stderr)
    if not bad:
        print("generate.py --check: %d files in %s match %s" % (len(files), directory, params))
    return 1 if bad else 0


def sql_type(values):
    """INTEGER when every non-empty value is a decimal integer, REAL for numbers, else TEXT."""
    kind = "INTEGER"
    for v in values:
        if v == "":
            continue
        try:
            int(v)
            continue
        except ValueError:
            pass
        try:
            float(v)
            kind = "REAL"
        except ValueError:
            return "TEXT"
    return kind


def to_sqlite(csv_path, db_path, table):
    """Copies CSV_PATH into table TABLE of a new SQLite file DB_PATH (replaced atomically)."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    types = [sql_type([r[i] for r in rows]) for i in range(len(header))]
    conv = {"INTEGER": int, "REAL": float, "TEXT": str}
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(db_path)), suffix=".db")
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        cols = ", ".join('"%s" %s' % (h, t) for h, t in zip(header, types))
        db.execute('CREATE TABLE "%s" (%s)' % (table, cols))
        db.executemany(
            'INSERT INTO "%s" VALUES (%s)' % (table, ", ".join("?" * len(header))),
            ([None if v == "" else conv[t](v) for v, t in zip(r, types)] for r in rows))
        db.commit()
        db.close()
        os.replace(tmp, db_path)
    except BaseException:
        os.unlink(tmp)
        raise
    print("%s: table %s, %d rows (%s)" % (db_path, table, len(rows),
                                          ", ".join("%s %s" % c for c in zip(header, types))))


def main(argv):
    p = argparse.ArgumentParser(
        description="Deterministic synthetic tables for a TDS data space: a credit bureau, a "
                    "utility and a bank, whose customers overlap the providers' people.")
    p.add_argument("--rows", type=int, default=1000,
                   help="rows of the bureau's and the utility's tables (default 1000)")
    p.add_argument("--bank-rows", type=int, default=None,
                   help="rows of the bank's customer list (default: 2/5 of --rows)")
    p.add_argument("--overlap", type=float, default=0.5,
                   help="fraction of the bank's customers found at each provider (default 0.5)")
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--out", help="output directory (created if missing)")
    p.add_argument("--check", metavar="DIR",
                   help="regenerate DIR from DIR/manifest.json and compare byte for byte")
    p.add_argument("--sqlite", nargs=2, metavar=("CSV", "DB"),
                   help="copy CSV into a new SQLite database DB (one table, see --table)")
    p.add_argument("--table", help="--sqlite: table name (default: the CSV's base name)")
    args = p.parse_args(argv)
    try:
        if args.check:
            return check(args.check)
        if args.sqlite:
            csv_path, db_path = args.sqlite
            table = args.table or os.path.splitext(os.path.basename(csv_path))[0]
            to_sqlite(csv_path, db_path, table)
            return 0
        if not args.out:
            p.error("--out DIR is required (or --check DIR, or --sqlite CSV DB)")
        bank_rows = args.bank_rows if args.bank_rows is not None else max(1, args.rows * 2 // 5)
        files = generate(args.rows, bank_rows, args.overlap, args.seed)
        write_files(args.out, files)
        exp = json.loads(files[MANIFEST_FILE])["expected"]
        print("%s: bureau %d rows, utility %d rows, bank %d rows; bank x bureau %d, "
              "bank x utility %d" % (args.out, args.rows, args.rows, bank_rows,
                                     exp["bank_x_bureau"], exp["bank_x_utility"]))
        return 0
    except (ValueError, OSError, sqlite3.Error, KeyError, json.JSONDecodeError) as e:
        print("generate.py: error: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
